// Example: a typical login page (pages/login/index.js and .axml beside this file) run through the
// runtime against alipay-sim serve and a real back end: interop/node/merchant.mjs, written on the
// official Alipay Node SDK, whose POST /login exchanges the code at the simulator's OpenAPI
// gateway and opens the phone number envelope (contract: interop/README.md, "The login").
//
// The page: tap 手机号快捷登录 → my.getAuthCode({scopes: 'auth_base'}) → my.getPhoneNumber →
// my.request POST https://your-server-address/login with {authCode, response}.
//
// Needs env ALIPAY_SIM (or the binary on the PATH) and alipay-sdk installed in interop/node
// (`npm ci` there; test.sh does it).
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSimulator, createRuntime } from 'alipay-sim-miniprogram';
import { spawnListening, stopChild } from '../../src/processes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PAGE = path.join(here, 'pages/login/index');
const BACKEND = path.resolve(here, '../../../../interop/node/merchant.mjs');

let sim;
let backend;
before(async () => {
  sim = await startSimulator();
  // Your back end, configured the way the console configures it: the app's bundle (TEST keys)
  // and the simulator's gateway in place of https://openapi.alipay.com/gateway.do.
  const bundle = await sim.admin('GET', '/__admin/apps/demo/bundle');
  const env = {
    ...process.env,
    ALIPAY_GATEWAY: `${sim.url}/gateway.do`,
    ALIPAY_APP_ID: bundle.app_id,
    ALIPAY_APP_PRIVATE_KEY: bundle.app_private_key,
    ALIPAY_PUBLIC_KEY: bundle.alipay_public_key,
    ALIPAY_AES_KEY: bundle.aes_key,
  };
  const { url, child } = await spawnListening(process.execPath, [BACKEND, '--port', '0'], {
    what: 'interop/node/merchant.mjs',
    hint: 'run npm ci in interop/node',
    env,
  });
  backend = { url, stop: () => stopChild(child) };
});
after(async () => {
  await sim?.stop();
  await backend?.stop();
});
beforeEach(async () => {
  await sim.reset();
});

const runtime = (opts = {}) =>
  createRuntime({ simulator: sim, app: 'demo', user: 'alice', urls: { 'https://your-server-address': backend.url }, ...opts });

test('one tap logs the user in: code, envelope, POST /login, her open_id and mobile', async () => {
  const rt = runtime();
  const page = await rt.loadPage(PAGE);
  await page.pressAuthorizeButton({ consent: true });

  assert.deepEqual(rt.calls.map((c) => `${c.api}:${c.callback}`), ['getAuthCode:success', 'getPhoneNumber:success', 'request:success', 'alert:success']);
  const [auth, phone] = rt.calls;
  assert.deepEqual(auth.args, { scopes: 'auth_base' });
  const [req] = rt.requests;
  assert.equal(req.target, `${backend.url}/login`);
  assert.deepEqual(JSON.parse(req.body), { authCode: auth.res.authCode, response: phone.res.response });
  assert.equal(req.status, 200);

  const alice = await sim.admin('GET', '/__admin/apps/demo/users/alice');
  assert.deepEqual(page.data, { user: { openId: alice.open_id, userId: null, mobile: '13812345678' }, error: '' });
  assert.deepEqual(rt.alerts, [{ title: '登录成功', content: '13812345678', buttonText: '确定' }]);
  // The gateway saw the code being redeemed.
  const apis = (await sim.journal()).map((e) => e.api);
  assert.ok(apis.includes('gateway'), `the journal has no gateway call: ${apis.join(', ')}`);
});

test('the user refuses the phone number sheet: no code is asked for, nothing is sent', async () => {
  const rt = runtime();
  const page = await rt.loadPage(PAGE);
  await page.pressAuthorizeButton({ consent: false });
  assert.deepEqual(rt.calls.map((c) => c.api), ['alert']);
  assert.equal(rt.requests.length, 0);
  assert.equal(page.data.error, '用户拒绝授权');
});

test('the app may not ask for auth_base: getAuthCode fails with error 4, nothing is sent', async () => {
  await sim.patchApp('demo', { login: { scopes: ['auth_user'] } });
  const rt = runtime();
  const page = await rt.loadPage(PAGE);
  await page.pressAuthorizeButton({ consent: true });
  assert.deepEqual(rt.calls.map((c) => `${c.api}:${c.callback}`), ['getAuthCode:fail', 'alert:success']);
  assert.equal(rt.calls[0].res.error, 4);
  assert.equal(rt.requests.length, 0);
  assert.equal(page.data.error, '获取授权码失败');
});

test('a forged gateway answer: the back end refuses the login, the page says so', async () => {
  await sim.admin('PUT', '/__admin/faults', { gateway_bad_sign_rate: 1 });
  const rt = runtime();
  const page = await rt.loadPage(PAGE);
  await page.pressAuthorizeButton({ consent: true });
  assert.equal(rt.requests[0].status, 401);
  assert.deepEqual(rt.requests[0].response, { status: 'rejected', error: 'gateway_signature' });
  assert.equal(page.data.user, null);
  assert.deepEqual(rt.alerts, [{ title: '登录失败', content: '{"error":19,"status":401,"reason":"gateway_signature"}', buttonText: '确定' }]);
});

test('the login code is valid once: the same code sent again is refused by the gateway', async () => {
  const rt = runtime();
  const page = await rt.loadPage(PAGE);
  await page.pressAuthorizeButton({ consent: true });
  const { authCode } = rt.calls[0].res;
  // Replay the page's own request with the spent code.
  await page.call('sendLogin', authCode, rt.calls[1].res.response);
  assert.equal(rt.requests[1].status, 401);
  assert.deepEqual(rt.requests[1].response, { status: 'rejected', error: 'auth_code', code: '40002', sub_code: 'isv.code-invalid' });
  assert.equal(page.data.error, '登录失败');
});
