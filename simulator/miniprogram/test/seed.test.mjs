// The API document's own front-end sample (test/fixtures/seed/index.js and index.axml, copied byte
// for byte from the document) runs unmodified against alipay-sim serve and the reference
// merchant, and each flow ends in the alert a user would see on a phone.
//
// Needs the binaries: env ALIPAY_SIM (or SIM_BIN) and ALIPAY_HARNESS, or both on the PATH
// (test.sh sets them).

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSimulator, startMerchant, createRuntime } from '../src/index.js';
import { spawnListening, stopChild } from '../src/processes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PAGE = path.join(here, 'fixtures/seed/index');
const SAMPLE_URL = 'https://your-server-address';

// The seed document: env ALIPAY_SIM_SEED_DOC, or shared/seeds/ beside the repository (or beside
// the folder that holds it, as with git worktrees).
const SEED_NAME = 'shared/seeds/000_ec5b4d06c6e44a5a.txt';
const SEED_DOC =
  process.env.ALIPAY_SIM_SEED_DOC ||
  [1, 2, 3].map((up) => path.resolve(here, '../../..', '../'.repeat(up), SEED_NAME)).find((p) => fs.existsSync(p)) ||
  path.resolve(here, '../../..', '..', SEED_NAME);
// SHA-256 of the two copies as committed: a change to either fails even where the document is absent.
const COMMITTED = {
  'index.js': 'e094996cab97ff4782c77b251979ed8f207a4ecf5c272bd0139bb0c60d36cb3d',
  'index.axml': '9361f8acb8a02f6aae5d2608a1fe8a350a8ded5be642eaeac8f9ccc3807abb23',
};

// A merchant we did not write the decryption of: interop/node/merchant.mjs, on the official
// Alipay Node SDK (test.sh installs it with npm ci in interop/node).
const REPO = path.resolve(here, '../../..');
const SDK_MERCHANT = path.join(REPO, 'interop/node/merchant.mjs');
const SDK_INSTALLED = fs.existsSync(path.join(REPO, 'interop/node/node_modules/alipay-sdk/package.json'));
// test.sh sets this: there the SDK must be installed, so its absence fails instead of skipping.
const SDK_SKIP = SDK_INSTALLED ? false : 'alipay-sdk is not installed in interop/node (npm ci there)';
if (!SDK_INSTALLED && process.env.MINIPROGRAM_REQUIRE_SDK === '1') throw new Error(`${SDK_SKIP}, and MINIPROGRAM_REQUIRE_SDK=1`);

let sim;
let merchant;
let rejecting;
let sdkMerchant;

before(async () => {
  sim = await startSimulator();
  merchant = await startMerchant();
  // A merchant that refuses every genuine envelope: it verifies `sign` over the ciphertext
  // without its surrounding quotes (the classic mistake), so it answers 400 to everything.
  rejecting = await startMerchant({ broken: 'unquoted-sign' });
  if (SDK_INSTALLED) {
    const { url, child } = await spawnListening(process.execPath, [SDK_MERCHANT, '--port', '0', '--keys', path.join(REPO, 'keys')], {
      what: 'interop/node/merchant.mjs',
      hint: '',
    });
    sdkMerchant = { url, stop: () => stopChild(child) };
  }
});

after(async () => {
  await Promise.all([sim?.stop(), merchant?.stop(), rejecting?.stop(), sdkMerchant?.stop()]);
});

beforeEach(async () => {
  await sim.reset();
});

// A runtime for the sample: its fixed URL goes to the given merchant (the reference one by default).
function runtime({ merchant: m = merchant, ...opts } = {}) {
  return createRuntime({ simulator: sim, urls: { [SAMPLE_URL]: `${m.url}/api/phone` }, ...opts });
}

function codeBlock(doc, heading, lang) {
  const start = doc.indexOf(`\`\`\`${lang}\n`, doc.indexOf(heading));
  assert.ok(start >= 0, `the seed document has no ${lang} block after ${heading}`);
  const body = start + lang.length + 4;
  return doc.slice(body, doc.indexOf('\n```', body) + 1);
}

test('the committed copies are the seed document\'s samples, byte for byte', (t) => {
  for (const [file, sha] of Object.entries(COMMITTED)) {
    const bytes = fs.readFileSync(path.join(here, 'fixtures/seed', file));
    assert.equal(crypto.createHash('sha256').update(bytes).digest('hex'), sha, `${file} changed since it was copied`);
  }
  if (!fs.existsSync(SEED_DOC)) {
    t.skip(`seed document not found at ${SEED_DOC} (set ALIPAY_SIM_SEED_DOC); checked the committed hashes only`);
    return;
  }
  const doc = fs.readFileSync(SEED_DOC, 'utf8');
  assert.equal(fs.readFileSync(`${PAGE}.js`, 'utf8'), codeBlock(doc, '### .js 示例代码', 'javascript'));
  assert.equal(fs.readFileSync(`${PAGE}.axml`, 'utf8'), codeBlock(doc, '### .axml 示例代码', 'html'));
});

test('the handler names come from the .axml', async () => {
  const rt = runtime();
  const page = await rt.loadPage(PAGE);
  assert.equal(page.buttons.length, 1);
  assert.deepEqual(page.buttons[0].handlers, { onGetAuthorize: 'getPhoneNumber', onError: 'handleAuthError' });
});

test('consent + success: the decrypted mobile is alerted', async () => {
  // dave has not authorised yet; tapping 允许 on the sheet authorises him.
  const rt = runtime({ user: 'dave' });
  const page = await rt.loadPage(PAGE);
  const pressed = await page.pressAuthorizeButton({ consent: true });
  assert.deepEqual(pressed, { event: 'onGetAuthorize', handler: 'getPhoneNumber' });

  assert.deepEqual(rt.calls.map((c) => [c.api, c.callback]), [['getPhoneNumber', 'success'], ['request', 'success'], ['alert', 'success']]);
  // What the page sent: the envelope string, as-is, with my.request's default content type.
  const [req] = rt.requests;
  const envelope = rt.calls[0].res.response;
  assert.equal(typeof envelope, 'string');
  assert.match(envelope, /^\{"response":"[A-Za-z0-9+/=]+","sign":"[A-Za-z0-9+/=]+"\}$/);
  assert.equal(req.method, 'POST');
  assert.equal(req.url, `${SAMPLE_URL}/`);
  assert.equal(req.target, `${merchant.url}/api/phone`);
  assert.deepEqual(req.headers, { 'content-type': 'application/json' });
  assert.equal(req.body, envelope);
  assert.equal(req.status, 200);

  assert.deepEqual(rt.alerts, [{ title: 'getPhoneNumber 解密结果', content: '{"mobile":"13900001111","status":"ok"}', buttonText: '确定' }]);
});

test('refusal: onError runs handleAuthError, nothing is requested', async () => {
  const rt = runtime({ user: 'dave' });
  const page = await rt.loadPage(PAGE);
  assert.deepEqual(await page.pressAuthorizeButton({ consent: false }), { event: 'onError', handler: 'handleAuthError' });
  assert.deepEqual(rt.calls.map((c) => c.api), ['alert']);
  assert.deepEqual(rt.requests, []);
  assert.equal(rt.alerts.length, 1);
  assert.equal(rt.alerts[0].title, '用户拒绝授权');
  assert.deepEqual(JSON.parse(rt.alerts[0].content), { type: 'getAuthorize', errorMessage: '用户拒绝授权' });
});

// The reference merchant answers platform errors with 422 and "retry later" with 503; my.request
// reports any status outside 2xx to `fail` as error 19, so the sample alerts 解密失败 with the
// merchant's answer inside.
function failedAlert(rt) {
  assert.equal(rt.alerts.length, 1, `alerts: ${JSON.stringify(rt.alerts)}`);
  const [alert] = rt.alerts;
  assert.equal(alert.title, 'getPhoneNumber 解密失败');
  const res = JSON.parse(alert.content);
  assert.equal(res.error, 19, alert.content);
  assert.equal(res.errorMessage, 'http status error');
  return res;
}

test('40003 (scenario forced): the merchant\'s platform error reaches the alert', async () => {
  const rt = runtime({ scenario: 'platform.error.40003-invalid-auth-relations' });
  const page = await rt.loadPage(PAGE);
  await page.pressAuthorizeButton({ consent: true });
  const res = failedAlert(rt);
  assert.equal(res.status, 422);
  assert.deepEqual(res.data, { status: 'platform_error', code: '40003', sub_code: 'isv.invalid-auth-relations', sub_msg: '无效的授权关系' });
});

test('40003 (no consent recorded): calling getPhoneNumber without the button', async () => {
  // What the document warns about: the page calls my.getPhoneNumber for a user who never
  // authorised. The call still succeeds; the error is inside the envelope.
  const rt = runtime({ user: 'dave' });
  const page = await rt.loadPage(PAGE);
  await page.call('getPhoneNumber');
  assert.equal(rt.calls[0].callback, 'success');
  assert.equal(failedAlert(rt).data.code, '40003');
});

test('20000: the platform is busy, the merchant says retry later', async () => {
  await sim.setFaults({ busy_rate: 1 });
  const rt = runtime();
  const page = await rt.loadPage(PAGE);
  await page.pressAuthorizeButton({ consent: true });
  const res = failedAlert(rt);
  assert.equal(res.status, 503);
  assert.equal(res.data.status, 'retry_later');
  assert.equal(res.data.code, '20000');
});

test('empty mobile: an account without a bound phone', async () => {
  const rt = runtime({ user: 'carol' });
  const page = await rt.loadPage(PAGE);
  await page.pressAuthorizeButton({ consent: true });
  const res = failedAlert(rt);
  assert.equal(res.status, 422);
  assert.deepEqual(res.data, { status: 'no_mobile' });
});

test('a merchant that rejects the envelope', async () => {
  const rt = runtime({ merchant: rejecting });
  const page = await rt.loadPage(PAGE);
  await page.pressAuthorizeButton({ consent: true });
  const res = failedAlert(rt);
  assert.equal(res.status, 400);
  assert.equal(res.data.status, 'rejected');
  assert.equal(rt.requests[0].target, `${rejecting.url}/api/phone`);
});

test('my.getPhoneNumber itself fails: the sample alerts getPhoneNumber 失败', async () => {
  await sim.setFaults({ fail_rate: 1 });
  const rt = runtime();
  const page = await rt.loadPage(PAGE);
  await page.pressAuthorizeButton({ consent: true });
  assert.deepEqual(rt.requests, []);
  assert.deepEqual(rt.alerts, [{ title: 'getPhoneNumber 失败', content: '{"error":1,"errorMessage":"该接口暂不支持"}', buttonText: '确定' }]);
});

test('no mapping for the sample\'s URL: my.request fails with error 11 and says how to map it', async () => {
  const rt = createRuntime({ simulator: sim });
  const page = await rt.loadPage(PAGE);
  await page.pressAuthorizeButton({ consent: true });
  const res = JSON.parse(rt.alerts[0].content);
  assert.equal(res.error, 11);
  assert.match(res.errorMessage, /https:\/\/your-server-address\/ is not mapped to a local server: pass createRuntime\(\{urls: \{"https:\/\/your-server-address"/);
  assert.equal(rt.requests[0].target, undefined);
});

// The same flows against the official-SDK merchant: what the runtime's my.request sends is what a
// back end on Alipay's own SDK accepts, not only what our reference merchant accepts.
const SDK_FLOWS = [
  ['success', { user: 'dave' }, null, 'getPhoneNumber 解密结果', null, { status: 'ok', mobile: '13900001111' }],
  ['40003', { scenario: 'platform.error.40003-invalid-auth-relations' }, null, 'getPhoneNumber 解密失败', 422, { status: 'platform_error', code: '40003' }],
  ['20000', {}, { busy_rate: 1 }, 'getPhoneNumber 解密失败', 503, { status: 'retry_later', code: '20000' }],
  ['empty mobile', { user: 'carol' }, null, 'getPhoneNumber 解密失败', 422, { status: 'no_mobile' }],
];
for (const [name, opts, faults, title, status, expected] of SDK_FLOWS) {
  test(`official-SDK merchant (interop/node): ${name}`, { skip: SDK_SKIP }, async () => {
    if (faults) await sim.setFaults(faults);
    const rt = runtime({ merchant: sdkMerchant, ...opts });
    const page = await rt.loadPage(PAGE);
    await page.pressAuthorizeButton({ consent: true });
    assert.equal(rt.alerts.length, 1);
    assert.equal(rt.alerts[0].title, title);
    const shown = JSON.parse(rt.alerts[0].content);
    const answer = status === null ? shown : (assert.equal(shown.error, 19), assert.equal(shown.status, status), shown.data);
    for (const [k, v] of Object.entries(expected)) assert.equal(answer[k], v, `${k} in ${rt.alerts[0].content}`);
  });
}
