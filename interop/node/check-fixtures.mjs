#!/usr/bin/env node
// check-fixtures.mjs <fixtures-dir>
//
// Proves: every platform envelope that `alipay-sim fixtures` writes is accepted by the official Alipay
// Node SDK (npm `alipay-sdk`, exact version in package-lock.json), used the way its README tells a
// merchant to handle my.getPhoneNumber:
//   - signature: `alipaySdk.rsaCheck(signContent, sign, signType)` with the merchant's Alipay public
//     key, where signContent is the ciphertext wrapped in double quotes (README: "加密内容必须前后加上
//     双引号"), or the raw object text for a plaintext-object payload;
//   - decryption: `alipaySdk.aesDecrypt(ciphertext)` with the merchant's AES key;
//   - the recovered text equals the fixture's `plaintext` byte for byte, and agrees with `expected`.
// Bonus: a `tamper.signature*` fixture counts as passed when the SDK's rsaCheck returns false for it.
// No crypto is done here; all of it is the SDK's.
import { AlipaySdk } from 'alipay-sdk';
import { listFixtureFiles, readJson, rawMember, outcomeMismatch } from './fixtures.mjs';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: check-fixtures.mjs <fixtures-dir>');
  process.exit(2);
}

// A merchant's SDK instance configured with the fixture's keys. The constructor insists on an app
// private key, which verifying and decrypting never use, so a placeholder is passed.
function merchantSdk(keys) {
  return new AlipaySdk({
    appId: 'interop-check',
    privateKey: 'unused-placeholder',
    alipayPublicKey: keys.alipay_public_key,
    encryptKey: keys.aes_key ?? undefined,
  });
}

// The envelope as text, parsed, and the raw text of its `response` member (null if it has none).
function openEnvelope(f) {
  const text = typeof f.res_response === 'string' ? f.res_response : JSON.stringify(f.res_response);
  return { text, env: JSON.parse(text), rawResponse: rawMember(text, 'response') };
}

// README rule: quoted ciphertext for a string payload, raw object text for an object payload.
function signContentOf(env, rawResponse) {
  return typeof env.response === 'string' ? `"${env.response}"` : rawResponse;
}

/** Reason the platform fixture `f` is not accepted by the SDK, or null. */
function checkPlatform(f) {
  if (f.success_callback && f.success_callback.response !== f.res_response) {
    return 'success_callback.response differs from res_response';
  }
  const { text, env, rawResponse } = openEnvelope(f);
  const hasSign = typeof env.sign === 'string';
  if (Boolean(f.signed) !== hasSign) return `fixture signed=${f.signed} but envelope ${hasSign ? 'has' : 'has no'} sign`;
  const sdk = merchantSdk(f.keys);

  if (f.signed) {
    if (rawResponse === null) return 'signed envelope without a response member';
    const signType = f.sign_type ?? env.sign_type ?? 'RSA2';
    if (env.sign_type !== undefined && env.sign_type !== signType) {
      return `envelope sign_type ${env.sign_type} differs from fixture sign_type ${signType}`;
    }
    if (!sdk.rsaCheck(signContentOf(env, rawResponse), env.sign, signType)) {
      return `SDK rsaCheck(${signType}) returned false`;
    }
  }

  let payload;
  if (f.encrypted) {
    if (typeof env.response !== 'string') return 'encrypted fixture but response is not a string';
    if (!f.keys.aes_key) return 'encrypted fixture without keys.aes_key';
    payload = sdk.aesDecrypt(env.response);
  } else if (rawResponse === null) {
    payload = text; // the bare error object form: res.response is the payload itself
  } else {
    payload = typeof env.response === 'string' ? env.response : rawResponse;
  }
  if (payload !== f.plaintext) {
    return `payload text differs from plaintext: got ${JSON.stringify(payload.slice(0, 160))}`;
  }
  return outcomeMismatch(JSON.parse(payload), f.expected);
}

/** true: the SDK rejected the tampered signature; false: it did not; null: nothing to verify. */
function sdkRejectsSignature(f) {
  const { env, rawResponse } = openEnvelope(f);
  if (typeof env.sign !== 'string' || rawResponse === null) return null;
  const signType = f.sign_type ?? env.sign_type ?? 'RSA2';
  try {
    return !merchantSdk(f.keys).rsaCheck(signContentOf(env, rawResponse), env.sign, signType);
  } catch {
    return true; // rsaCheck threw (e.g. unusable key or sign type): the SDK did not accept it
  }
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of listFixtureFiles(dir)) {
  let f;
  try {
    f = readJson(file);
  } catch (err) {
    failed++;
    console.log(`FAIL ${file}: unreadable fixture: ${err.message}`);
    continue;
  }
  const outcome = f.expected?.outcome;
  try {
    if (f.kind === 'tamper' || outcome === 'reject') {
      let rejects = null;
      if (outcome === 'reject' && String(f.id).startsWith('tamper.signature')) {
        try { rejects = sdkRejectsSignature(f); } catch { /* unparseable envelope: not counted */ }
      }
      if (rejects === true) {
        passed++;
        console.log(`ok ${f.id} (tamper: SDK rsaCheck returned false)`);
      } else {
        skipped++;
        if (rejects === false) console.log(`note ${f.id}: SDK rsaCheck returned true for this tamper (not counted)`);
      }
      continue;
    }
    const reason = checkPlatform(f);
    if (reason === null) {
      passed++;
      console.log(`ok ${f.id}`);
    } else {
      failed++;
      console.log(`FAIL ${f.id}: ${reason}`);
    }
  } catch (err) {
    failed++;
    console.log(`FAIL ${f.id}: ${err.message}`);
  }
}
if (passed + failed === 0) {
  failed++;
  console.log(`FAIL ${dir}: no platform fixture found`);
}
console.log(`# alipay-sdk (node): ${skipped} tamper fixture(s) not checked`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
