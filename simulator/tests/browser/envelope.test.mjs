// Unit tests of the page's envelope code (simulator/src/server/ui/envelope.js) under Node's
// test runner: the same module the browser loads, with Node's WebCrypto. Keys are made here.
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import {
  base64ToBytes, rawMember, readEnvelope, decrypt, verify,
  expectationFromPlaintext, expectationFromScenario, judge, maskMobile,
} from '../../src/server/ui/envelope.js';

const aesKey = crypto.randomBytes(16);
const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const spkiB64 = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

/** Seals `plaintext` the way Alipay does: AES-CBC zero IV, RSA2 over the quoted ciphertext. */
function seal(plaintext, key = aesKey) {
  const c = crypto.createCipheriv(`aes-${key.length * 8}-cbc`, key, Buffer.alloc(16));
  const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]).toString('base64');
  const sign = crypto.sign('RSA-SHA256', Buffer.from(`"${ct}"`), privateKey).toString('base64');
  return { ct, sign, envelope: `{"response":"${ct}","sign":"${sign}"}` };
}

test('rawMember returns the exact bytes of a member, quotes and nesting included', () => {
  const text = '{"a":1, "response" : "ab\\"c+/=" ,"sign":"x","o":{"k":"}"}}';
  assert.equal(rawMember(text, 'response'), '"ab\\"c+/="');
  assert.equal(rawMember(text, 'o'), '{"k":"}"}');
  assert.equal(rawMember(text, 'a'), '1');
  assert.equal(rawMember(text, 'missing'), null);
  assert.equal(rawMember('[1]', 'a'), null);
  assert.equal(rawMember('{"a":', 'a'), null);
});

test('base64ToBytes is strict', () => {
  assert.deepEqual([...base64ToBytes('AAE=', 'x')], [0, 1]);
  assert.throws(() => base64ToBytes('AAE', 'the key'), /the key is not standard padded base64/);
  assert.throws(() => base64ToBytes('A A=', 'x'), /base64/);
});

test('an encrypted envelope is read, verified and decrypted', async () => {
  const plain = '{"code":"10000","msg":"Success","mobile":"13800000000"}';
  const { envelope, sign } = seal(plain);
  const env = readEnvelope(envelope);
  assert.equal(env.shape, 'encrypted');
  assert.equal(env.payload.kind, 'ciphertext');
  assert.equal(env.sign, sign);
  assert.equal(env.problems.length, 0);
  assert.ok(await verify(env.payload.raw, env.sign, spkiB64, 'RSA2'));
  // The signature covers the quoted token: the bare ciphertext does not verify.
  assert.equal(await verify(env.payload.text, env.sign, spkiB64, 'RSA2'), false);
  assert.equal(await decrypt(env.payload.text, aesKey.toString('base64')), plain);
});

test('decrypting with the wrong key names the problem', async () => {
  const { ct } = seal('{"code":"10000","msg":"Success","mobile":"13800000000"}');
  const wrong = crypto.randomBytes(16).toString('base64');
  // A wrong key almost always breaks the padding; when it does not, the bytes are not UTF-8 JSON.
  await assert.rejects(decrypt(ct, wrong), /padding|UTF-8/);
  await assert.rejects(decrypt('AAAA', aesKey.toString('base64')), /16-byte blocks/);
  await assert.rejects(decrypt(ct, 'AAAA'), /3 bytes/);
});

test('plaintext, bare-error, object and broken shapes', () => {
  const plainObj = readEnvelope('{"response":{"code":"40001","msg":"Missing Required Arguments","subCode":"isv.missing-encrypt-key","subMsg":"缺少加密配置"}}');
  assert.equal(plainObj.shape, 'plain-object');
  assert.equal(plainObj.payload.value.code, '40001');
  assert.match(plainObj.fields.find(([k]) => k === 'sign')[1], /absent/);

  const bare = readEnvelope('{"code":"40001","msg":"Missing Required Arguments"}');
  assert.equal(bare.shape, 'bare-error');

  const obj = readEnvelope({ code: '20000', msg: 'Service Currently Unavailable' });
  assert.equal(obj.shape, 'object');

  assert.equal(readEnvelope('not json').shape, 'not-json');
  assert.match(readEnvelope(undefined).problems[0], /missing/);
  assert.match(readEnvelope('{"sign":"x"}').problems[0], /no "response"/);

  const extra = readEnvelope('{"response":"AAAA","sign":"x","sign_type":"RSA","alipay_cert_sn":"abc"}');
  assert.equal(extra.signType, 'RSA');
  assert.deepEqual(extra.extra, ['alipay_cert_sn']);
});

test('expectations from plaintext and from the catalogue', () => {
  assert.deepEqual(expectationFromPlaintext({ code: '10000', msg: 'Success', mobile: '1-2025550123' }),
    { kind: 'mobile', mobile: '1-2025550123', code: '10000' });
  assert.equal(expectationFromPlaintext({ code: '10000', msg: 'Success', mobile: '' }).kind, 'no_mobile');
  assert.equal(expectationFromPlaintext({ code: '10000', msg: 'Success' }).kind, 'no_mobile');
  const e = expectationFromPlaintext({ code: '40003', msg: 'Insufficient Conditions', subCode: 'isv.invalid-auth-relations' });
  assert.equal(e.kind, 'platform_error');
  assert.equal(e.subCode, 'isv.invalid-auth-relations');
  assert.equal(expectationFromPlaintext(null).kind, 'unknown');
  assert.equal(expectationFromScenario({ outcome: 'reject' }, '13900000000').canary, '13900000000');
  assert.equal(expectationFromScenario({ outcome: 'retry_later', code: '20000' }).code, '20000');
});

test('judge: every verdict the page shows', () => {
  const mobile = { kind: 'mobile', mobile: '13800000000' };
  assert.equal(judge(mobile, { status: 200, body: '{"mobile":"13800000000"}' }).verdict, 'expected-mobile');
  assert.equal(judge(mobile, { status: 200, body: '{"ok":true}' }).verdict, 'missing-mobile');
  const rej = judge(mobile, { status: 400, body: '{"status":"rejected"}' });
  assert.equal(rej.verdict, 'rejected');
  assert.equal(rej.tone, 'bad');

  const err = { kind: 'platform_error', code: '40003', subCode: 'isv.invalid-auth-relations' };
  assert.equal(judge(err, { status: 422, body: '{"code":"40003"}' }).verdict, 'platform-error');
  assert.equal(judge(err, { status: 200, body: '{"ok":true}' }).verdict, 'error-as-success');
  assert.equal(judge(err, { status: 400, body: 'no' }).tone, 'warn');
  assert.match(judge({ kind: 'platform_error', code: '20000' }, { status: 503, body: '{"code":"20000"}' }).text, /retry later/);

  const tamper = { kind: 'reject', canary: '13999999999' };
  assert.equal(judge(tamper, { status: 400, body: 'bad sign' }).tone, 'good');
  assert.equal(judge(tamper, { status: 200, body: '{"mobile":"13999999999"}' }).verdict, 'canary-leaked');
  assert.equal(judge(tamper, { status: 200, body: '{}' }).verdict, 'accepted-tampered');

  assert.equal(judge({ kind: 'no_mobile' }, { status: 200, body: '{}' }).verdict, 'no-mobile');
  assert.equal(judge({ kind: 'unknown' }, { status: 200, body: '' }).verdict, 'unjudged');
});

test('maskMobile hides the middle digits', () => {
  assert.equal(maskMobile('13800000000'), '138****0000');
  assert.equal(maskMobile('1-2025550123'), '+1 ******0123');
  assert.equal(maskMobile(''), '');
});
