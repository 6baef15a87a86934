#!/usr/bin/env node
// server-flow.mjs <server-url>
//
// Proves: the envelopes `alipay-sim serve` hands a mini-program page over HTTP are accepted by the
// official Alipay Node SDK (npm `alipay-sdk`, exact version in package-lock.json) for every platform
// outcome, driven only through the simulator's HTTP API (it starts nothing itself):
//   - the button flow: getSetting -> authorize (consent / refusal) -> getPhoneNumber;
//   - the default apps and users (one per platform outcome), the busy fault (20000), and every
//     `platform.*` catalogue scenario forced with `?scenario=` on an app created with that
//     scenario's console;
//   - for each answer: the merchant bundle from GET /__admin/apps/{id}/bundle configures the SDK,
//     `rsaCheck` verifies the signature over the quoted ciphertext (or the raw object text),
//     `aesDecrypt` decrypts, and the plaintext must match the expected outcome.
// Prints `ok ...` / `FAIL ...` lines and ends with "N passed, M failed". No crypto here but the SDK's.
import { AlipaySdk } from 'alipay-sdk';
import { rawMember, outcomeMismatch } from './fixtures.mjs';

const base = (process.argv[2] || '').replace(/\/+$/, '');
if (!/^https?:\/\//.test(base)) {
  console.error('usage: server-flow.mjs <server-url, e.g. http://127.0.0.1:8780>');
  process.exit(2);
}

let passed = 0;
let failed = 0;
function pass(id) { passed++; console.log(`ok ${id}`); }
function fail(id, why) { failed++; console.log(`FAIL ${id}: ${why}`); }

async function http(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, text, json };
}

async function must(method, path, body, want) {
  const r = await http(method, path, body);
  const ok = Array.isArray(want) ? want.includes(r.status) : r.status === want;
  if (!ok) throw new Error(`${method} ${path} answered ${r.status}: ${r.text.slice(0, 200)}`);
  return r;
}

const bundles = new Map();
async function bundle(appId) {
  if (!bundles.has(appId)) bundles.set(appId, (await must('GET', `/__admin/apps/${appId}/bundle`, undefined, 200)).json);
  return bundles.get(appId);
}

// A merchant's SDK configured from the app's bundle. The constructor insists on an app private key,
// which verifying and decrypting never use, so a placeholder is passed.
function merchantSdk(b) {
  return new AlipaySdk({
    appId: `server-flow-${b.app_id}`,
    privateKey: 'unused-placeholder',
    alipayPublicKey: b.alipay_public_key,
    encryptKey: b.aes_key ?? undefined,
  });
}

/**
 * What a merchant configured with bundle `b` reads from the HTTP body of a getPhoneNumber success
 * answer: {payload, signed}. Throws with the reason when the SDK refuses it.
 */
function merchantOpens(b, httpText) {
  const cb = JSON.parse(httpText);
  const keys = Object.keys(cb);
  if (keys.length !== 1 || keys[0] !== 'response') throw new Error(`not the success-callback object: ${httpText.slice(0, 120)}`);
  // res.response: the envelope string, or (object shape) the envelope object's raw text.
  const envText = typeof cb.response === 'string' ? cb.response : rawMember(httpText, 'response');
  const env = JSON.parse(envText);
  const rawResponse = rawMember(envText, 'response');
  const sdk = merchantSdk(b);
  const signed = typeof env.sign === 'string';
  if (signed && b.sign_type) {
    const signContent = typeof env.response === 'string' ? `"${env.response}"` : rawResponse;
    if (!sdk.rsaCheck(signContent, env.sign, b.sign_type)) throw new Error(`SDK rsaCheck(${b.sign_type}) returned false`);
  }
  let payloadText;
  if (rawResponse === null) {
    payloadText = envText; // the bare error form: res.response is the payload itself
  } else if (typeof env.response === 'string' && !env.response.startsWith('{')) {
    if (!b.aes_key) throw new Error('encrypted answer but the bundle has no AES key');
    payloadText = sdk.aesDecrypt(env.response);
  } else {
    payloadText = typeof env.response === 'string' ? env.response : rawResponse;
  }
  const payload = JSON.parse(payloadText);
  // A correct merchant never accepts an unsigned success when it has signing configured.
  if (payload.code === '10000' && b.sign_type && !signed) throw new Error('unsigned success answer');
  return { payload, signed };
}

const PHONE = /^(1[3-9]\d{9}|\d{1,4}-\d{4,14})$/;

/** Calls getPhoneNumber and checks the SDK's reading against `expected`; returns the payload. */
async function check(id, appId, userId, expected, { scenario, wantSigned } = {}) {
  try {
    const q = scenario ? `?scenario=${encodeURIComponent(scenario)}` : '';
    const r = await must('POST', `/jsapi/apps/${appId}/users/${userId}/getPhoneNumber${q}`, undefined, 200);
    if (r.headers.get('x-alipay-sim-callback') !== 'success') throw new Error(`callback header ${r.headers.get('x-alipay-sim-callback')}`);
    if (!r.headers.get('x-alipay-sim-version')) throw new Error('no X-Alipay-Sim-Version header');
    const { payload, signed } = merchantOpens(await bundle(appId), r.text);
    if (wantSigned !== undefined && signed !== wantSigned) throw new Error(`signed=${signed}, expected ${wantSigned}`);
    const want = { ...expected };
    if (want.outcome === 'accept' && want.mobile === undefined) {
      if (!PHONE.test(String(payload.mobile))) throw new Error(`mobile ${payload.mobile} is not a phone number`);
      want.mobile = payload.mobile;
    }
    const why = outcomeMismatch(payload, want);
    if (why) throw new Error(why);
    pass(id);
    return payload;
  } catch (err) {
    fail(id, err.message);
    return null;
  }
}

async function step(id, fn) {
  try {
    await fn();
    pass(id);
  } catch (err) {
    fail(id, err.message);
  }
}

const platformError = (code, sub_code) => ({ outcome: 'platform_error', code, sub_code });

try {
  const h = await must('GET', '/healthz', undefined, 200);
  console.log(`# alipay-sim ${h.json.version} at ${base}`);
} catch (err) {
  fail('healthz', err.message);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(1);
}

// 1. The button flow on a user created for it.
const flowUser = `/jsapi/apps/demo/users/node-flow`;
await step('flow.setup', async () => {
  await must('PUT', '/__admin/apps/demo/users/node-flow', { authorised: false, mobile: '13700001234' }, [200, 201]);
});
await step('flow.getSetting.before', async () => {
  const r = await must('GET', `${flowUser}/getSetting`, undefined, 200);
  if (r.json?.authSetting?.phoneNumber !== false) throw new Error(r.text);
});
await check('flow.getPhoneNumber.before-consent', 'demo', 'node-flow', platformError('40003', 'isv.invalid-auth-relations'));
await step('flow.authorize.consent', async () => {
  const r = await must('POST', `${flowUser}/authorize`, { scope: 'phoneNumber', consent: true }, 200);
  if (r.json?.callback !== 'onGetAuthorize') throw new Error(r.text);
});
await step('flow.getSetting.after', async () => {
  const r = await must('GET', `${flowUser}/getSetting`, undefined, 200);
  if (r.json?.authSetting?.phoneNumber !== true) throw new Error(r.text);
});
await check('flow.getPhoneNumber.after-consent', 'demo', 'node-flow', { outcome: 'accept', mobile: '13700001234' }, { wantSigned: true });
await step('flow.authorize.refusal', async () => {
  const r = await must('POST', `${flowUser}/authorize`, { scope: 'phoneNumber', consent: false }, 200);
  if (r.json?.callback !== 'onError' || r.json?.detail?.type !== 'getAuthorize') throw new Error(r.text);
});
await check('flow.getPhoneNumber.after-refusal', 'demo', 'node-flow', platformError('40003', 'isv.invalid-auth-relations'));
await step('flow.teardown', async () => { await must('DELETE', '/__admin/apps/demo/users/node-flow', undefined, 204); });

// 2. The default apps and users: one platform outcome each.
await check('default.demo.alice', 'demo', 'alice', { outcome: 'accept', mobile: '13812345678' }, { wantSigned: true });
await check('default.demo.bob', 'demo', 'bob', { outcome: 'accept', mobile: '1-2025550123' }, { wantSigned: true });
await check('default.demo.carol', 'demo', 'carol', { outcome: 'no_mobile' }, { wantSigned: true });
await check('default.demo.dave', 'demo', 'dave', platformError('40003', 'isv.invalid-auth-relations'));
const e1 = await check('default.demo.erin', 'demo', 'erin', { outcome: 'accept' }, { wantSigned: true });
const e2 = await check('default.demo.erin.again', 'demo', 'erin', { outcome: 'accept' }, { wantSigned: true });
if (e1 && e2) {
  if (e1.mobile !== e2.mobile) pass('default.demo.erin.fresh-per-call');
  else fail('default.demo.erin.fresh-per-call', `the same mobile twice: ${e1.mobile}`);
}
await check('default.no-encryption.alice', 'no-encryption', 'alice', platformError('40001', 'isv.missing-encrypt-key'), { wantSigned: false });
await check('default.no-product.alice', 'no-product', 'alice', platformError('40006', 'isv.insufficient-isv-permissions'));
await check('default.unsigned.alice', 'unsigned', 'alice', { outcome: 'accept', mobile: '13812345678' }, { wantSigned: false });

// 3. The busy fault, both deliveries.
for (const delivery of ['encrypted', 'plaintext']) {
  try {
    await must('PUT', '/__admin/faults', { busy_rate: 1, busy_delivery: delivery }, 200);
    await check(`fault.busy.${delivery}`, 'demo', 'alice', { outcome: 'retry_later', code: '20000' });
  } catch (err) {
    fail(`fault.busy.${delivery}`, err.message);
  } finally {
    await http('DELETE', '/__admin/faults');
  }
}

// 4. Every platform scenario of the catalogue, forced on an app created with its console.
let scenarios = [];
try {
  scenarios = (await must('GET', '/__admin/scenarios', undefined, 200)).json.filter(s => s.kind === 'platform');
  if (scenarios.length === 0) throw new Error('no platform scenario');
} catch (err) {
  fail('scenarios', err.message);
}
for (const [i, s] of scenarios.entries()) {
  const appId = `node-sc-${i}`;
  try {
    await must('PUT', `/__admin/apps/${appId}`, { name: s.id, console: s.console }, [200, 201]);
    await must('PUT', `/__admin/apps/${appId}/users/u`, { authorised: true }, [200, 201]);
    await check(`scenario.${s.id}`, appId, 'u', { ...s.expect }, { scenario: s.id });
  } catch (err) {
    fail(`scenario.${s.id}`, err.message);
  } finally {
    bundles.delete(appId);
    await http('DELETE', `/__admin/apps/${appId}`);
  }
}

// 5. The journal saw the calls.
await step('journal.records-calls', async () => {
  const j = (await must('GET', '/__admin/journal', undefined, 200)).json;
  if (!Array.isArray(j) || !j.some(e => e.api === 'authorize') || !j.some(e => e.api === 'getPhoneNumber' && e.outcome === 'accept')) {
    throw new Error(`unexpected journal (${Array.isArray(j) ? j.length : typeof j} entries)`);
  }
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
