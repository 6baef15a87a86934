// my.getAuthCode in the runtime: the success object and each fail callback as the JSAPI documents
// them, answered by alipay-sim serve, with `complete` after either and the call in the journal.

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSimulator, createRuntime } from '../src/index.js';

let sim;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alipay-sim-authcode-'));

before(async () => {
  sim = await startSimulator();
});
after(async () => {
  await sim?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await sim.reset();
});

let n = 0;
/** A page whose onLoad calls my.getAuthCode with `args` (a JS expression) and keeps every callback's argument. */
function authPage(args) {
  const base = path.join(dir, `auth${++n}`);
  fs.writeFileSync(
    `${base}.js`,
    `Page({
      data: { seen: [] },
      onLoad() {
        my.getAuthCode(Object.assign(${args}, {
          success: (res) => this.setData({ seen: this.data.seen.concat([['success', res]]) }),
          fail: (res) => this.setData({ seen: this.data.seen.concat([['fail', res]]) }),
          complete: (res) => this.setData({ seen: this.data.seen.concat([['complete', res]]) }),
        }));
      },
    });`,
  );
  return { js: `${base}.js` };
}

test('auth_base: success with a fresh authCode, the granted scope, no error scopes; then complete', async () => {
  const rt = createRuntime({ simulator: sim });
  const page = await rt.loadPage(authPage("{ scopes: 'auth_base' }"));
  const [[cb, res], [done, again]] = page.data.seen;
  assert.equal(cb, 'success');
  assert.deepEqual(Object.keys(res).sort(), ['authCode', 'authErrorScopes', 'authSuccessScopes']);
  assert.match(res.authCode, /^[0-9a-f]{32}$/);
  assert.deepEqual(res.authErrorScopes, {});
  assert.deepEqual(res.authSuccessScopes, ['auth_base']);
  assert.equal(done, 'complete');
  assert.deepEqual(again, res);
  assert.deepEqual(rt.calls.map((c) => [c.api, c.callback, c.args]), [['getAuthCode', 'success', { scopes: 'auth_base' }]]);

  // Each call gives another code.
  const second = await createRuntime({ simulator: sim }).loadPage(authPage('{}'));
  assert.notEqual(second.data.seen[0][1].authCode, res.authCode);
  assert.deepEqual(second.data.seen[0][1].authSuccessScopes, ['auth_base'], 'no scopes means auth_base');

  const journal = (await sim.journal()).filter((e) => e.api === 'getAuthCode');
  assert.equal(journal.length, 2);
  assert.equal(journal[0].callback, 'success');
});

test('auth_user refused on the sheet: fail {error: 11}; allowed: success with auth_user', async () => {
  const rt = createRuntime({ simulator: sim, consent: false });
  const refused = await rt.loadPage(authPage("{ scopes: 'auth_user' }"));
  assert.deepEqual(refused.data.seen, [
    ['fail', { error: 11, errorMessage: '用户取消授权' }],
    ['complete', { error: 11, errorMessage: '用户取消授权' }],
  ]);
  assert.equal(rt.calls[0].callback, 'fail');

  rt.consent = true;
  const allowed = await rt.loadPage(authPage("{ scopes: ['auth_user'] }"));
  assert.equal(allowed.data.seen[0][0], 'success');
  assert.deepEqual(allowed.data.seen[0][1].authSuccessScopes, ['auth_user']);
});

test('auth_base shows no sheet: a refusing user still gets a code', async () => {
  const rt = createRuntime({ simulator: sim, consent: false });
  const page = await rt.loadPage(authPage("{ scopes: 'auth_base' }"));
  assert.equal(page.data.seen[0][0], 'success');
});

test('a scope that does not exist: fail {error: 3}', async () => {
  const rt = createRuntime({ simulator: sim });
  const page = await rt.loadPage(authPage("{ scopes: 'auth_phone' }"));
  assert.equal(page.data.seen[0][0], 'fail');
  assert.equal(page.data.seen[0][1].error, 3);
  assert.equal(typeof page.data.seen[0][1].errorMessage, 'string');
});

test('a scope the app may not ask for: fail {error: 4} alone, authErrorScopes beside a permitted one', async () => {
  await sim.patchApp('demo', { login: { scopes: ['auth_base'] } });
  const rt = createRuntime({ simulator: sim });
  const alone = await rt.loadPage(authPage("{ scopes: 'auth_user' }"));
  assert.equal(alone.data.seen[0][0], 'fail');
  assert.equal(alone.data.seen[0][1].error, 4);

  const mixed = await rt.loadPage(authPage("{ scopes: ['auth_base', 'auth_user'] }"));
  const [cb, res] = mixed.data.seen[0];
  assert.equal(cb, 'success');
  assert.deepEqual(res.authSuccessScopes, ['auth_base']);
  assert.deepEqual(res.authErrorScopes, { auth_user: '40006' });
});

test('promise style: resolves with the success object, rejects with the fail object', async () => {
  const rt = createRuntime({ simulator: sim, consent: false });
  const base = path.join(dir, `promise${++n}`);
  fs.writeFileSync(
    `${base}.js`,
    `Page({
      async onLoad() {
        const ok = await my.getAuthCode({ scopes: 'auth_base' });
        let refused = null;
        try { await my.getAuthCode({ scopes: 'auth_user' }); } catch (e) { refused = e; }
        this.setData({ code: ok.authCode, refused });
      },
    });`,
  );
  const page = await rt.loadPage({ js: `${base}.js` });
  assert.match(page.data.code, /^[0-9a-f]{32}$/);
  assert.deepEqual(page.data.refused, { error: 11, errorMessage: '用户取消授权' });
});
