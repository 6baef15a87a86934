// The runtime around the page: reading the .axml, loading page code, lifecycle, getSetting,
// promise-style calls, and one clear error for every mistake (in the page, the template or the
// test's own configuration).

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startSimulator, createRuntime, findAuthorizeButtons, AxmlError, RuntimeError, PageError, ProcessError } from '../src/index.js';

let sim;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alipay-sim-miniprogram-'));

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

const BUTTON = '<button open-type="getAuthorize" scope="phoneNumber" onGetAuthorize="onAuth" onError="onRefuse">授权</button>';
let n = 0;
/** Writes a page (js + axml) to a temp dir and returns its path without extension. */
function page(js, axml = BUTTON) {
  const base = path.join(dir, `page${++n}`);
  fs.writeFileSync(`${base}.js`, js);
  if (axml !== null) fs.writeFileSync(`${base}.axml`, axml);
  return base;
}

test('axml: handler names, dataset and line of each getAuthorize button; other buttons ignored', () => {
  const text = [
    '<view class="page">',
    '  <button onTap="other">plain</button>',
    '  <button open-type="getAuthorize" scope="userInfo" onGetAuthorize="notThis">user info</button>',
    '  <button id="phone" data-from-page="home" open-type="getAuthorize" scope="phoneNumber"',
    '          onGetAuthorize="getPhone" onError="refused">授权手机号</button>',
    '  <button open-type="getAuthorize" scope="phoneNumber" onGetAuthorize="second" />',
    '</view>',
  ].join('\n');
  const buttons = findAuthorizeButtons(text, 'index.axml');
  assert.equal(buttons.length, 2);
  assert.deepEqual(buttons[0].handlers, { onGetAuthorize: 'getPhone', onError: 'refused' });
  assert.equal(buttons[0].line, 4);
  assert.equal(buttons[0].id, 'phone');
  assert.deepEqual(buttons[0].dataset, { fromPage: 'home' });
  assert.deepEqual(buttons[1].handlers, { onGetAuthorize: 'second' });
  assert.equal(buttons[1].line, 6);
});

test('axml: a data-bound or empty handler is one error naming file, line and attribute', () => {
  assert.throws(
    () => findAuthorizeButtons('\n<button open-type="getAuthorize" scope="phoneNumber" onError="{{h}}"/>', 'p.axml'),
    (e) => e instanceof AxmlError && e.message.startsWith('p.axml:2: onError="{{h}}" on the getAuthorize button'),
  );
  assert.throws(() => findAuthorizeButtons('<button open-type="getAuthorize" scope="phoneNumber" onGetAuthorize=""/>', 'q.axml'), /q\.axml:1: onGetAuthorize=""/);
});

test('loading: lifecycle runs in order, setData and getApp work, console is recorded', async () => {
  const rt = createRuntime({ simulator: sim, globalData: { server: 'https://api.example.com' } });
  const p = await rt.loadPage({
    js: page(`Page({
      data: { steps: [], user: { name: '' } },
      onLoad(query) { this.setData({ steps: ['load:' + query.from], 'user.name': 'x' }); },
      onShow() { this.setData({ steps: this.data.steps.concat('show') }); },
      onReady() { console.log('ready', getApp().globalData.server, getCurrentPages().length); },
      onAuth() {}, onRefuse() {},
    });`) + '.js',
    axml: path.join(dir, `page${n}.axml`),
    query: { from: 'test' },
  });
  assert.deepEqual(p.data, { steps: ['load:test', 'show'], user: { name: 'x' } });
  assert.deepEqual(rt.logs, [{ level: 'log', text: 'ready https://api.example.com 1' }]);
});

test('loading: one clear error for each broken page', async () => {
  const rt = createRuntime({ simulator: sim });
  await assert.rejects(rt.loadPage(path.join(dir, 'missing')), (e) => e instanceof RuntimeError && /cannot read the page script .*missing\.js: no such file/.test(e.message));
  const syntax = page('Page({\n  onAuth() {\n});');
  await assert.rejects(rt.loadPage(syntax), (e) => e instanceof RuntimeError && e.message.includes(`${syntax}.js: the page script failed to run`) && /SyntaxError/.test(e.message));
  await assert.rejects(rt.loadPage(page('const x = 1;')), /must call Page\(\{\.\.\.\}\) exactly once; it called it 0 times/);
  await assert.rejects(rt.loadPage(page('Page({}); Page({});')), /it called it 2 times/);
  const wrong = page('Page({ onAuth() {}, handleError() {} });');
  await assert.rejects(rt.loadPage(wrong), (e) => e.message === `${wrong}.axml:1: onError="onRefuse" names no method of the Page object in ${wrong}.js (its methods: onAuth, handleError)`);
  const thrower = page('Page({ onLoad() { null.x; }, onAuth() {}, onRefuse() {} });');
  await assert.rejects(rt.loadPage(thrower), (e) => e instanceof PageError && /page code threw in onLoad: TypeError/.test(e.message) && e.message.includes(`${thrower}.js:1`));
});

test('pressing: no button, or several without an index, is an error', async () => {
  const rt = createRuntime({ simulator: sim });
  const none = await rt.loadPage(page('Page({});', '<view/>'));
  await assert.rejects(none.pressAuthorizeButton(), /no <button open-type="getAuthorize" scope="phoneNumber"> to press/);
  const two = await rt.loadPage(page('Page({ onAuth() {}, onRefuse() {} });', `${BUTTON}\n${BUTTON}`));
  await assert.rejects(two.pressAuthorizeButton(), /2 getAuthorize buttons \(lines 1, 2\): pass \{index\}/);
  assert.deepEqual(await two.pressAuthorizeButton({ index: 1, consent: false }), { event: 'onError', handler: 'onRefuse' });
});

test('the event object: detail, type and the button as target', async () => {
  const rt = createRuntime({ simulator: sim });
  const p = await rt.loadPage(
    page(
      'Page({ onAuth(e) { this.setData({ got: JSON.stringify([e.type, e.detail, e.target.dataset, e.currentTarget.id]) }); }, onRefuse(e) { this.setData({ got: JSON.stringify([e.type, e.detail]) }); } });',
      '<button id="b" data-k="v" open-type="getAuthorize" scope="phoneNumber" onGetAuthorize="onAuth" onError="onRefuse">x</button>',
    ),
  );
  await p.pressAuthorizeButton({ consent: true });
  assert.equal(p.data.got, '["getAuthorize",{},{"k":"v"},"b"]');
  await p.pressAuthorizeButton({ consent: false });
  assert.equal(p.data.got, '["error",{"errorMessage":"用户拒绝授权","type":"getAuthorize"}]');
  assert.deepEqual(rt.events.map((e) => [e.event, e.handler]), [['onGetAuthorize', 'onAuth'], ['onError', 'onRefuse']]);
});

test('my.getSetting follows the answer on the sheet; promise-style getPhoneNumber works', async () => {
  const rt = createRuntime({ simulator: sim, user: 'dave' });
  const p = await rt.loadPage(
    page(`Page({
      async onAuth() {
        const before = this.data.before;
        const res = await my.getPhoneNumber();
        my.getSetting({ success: (s) => this.setData({ after: s.authSetting.phoneNumber, response: typeof res.response }) });
      },
      onRefuse() { my.getSetting({ success: (s) => this.setData({ after: s.authSetting.phoneNumber }) }); },
      onShow() { my.getSetting({ success: (s) => this.setData({ before: s.authSetting.phoneNumber }) }); },
    });`),
  );
  assert.equal(p.data.before, false);
  await p.pressAuthorizeButton({ consent: true });
  assert.equal(p.data.after, true);
  assert.equal(p.data.response, 'string');
  await p.pressAuthorizeButton({ consent: false });
  assert.equal(p.data.after, false);
});

test('the simulator object: patchUser changes what getPhoneNumber answers, the journal shows the calls', async () => {
  await sim.patchUser('demo', 'alice', { mobile: '' });
  const rt = createRuntime({ simulator: sim });
  const p = await rt.loadPage(page('Page({ onAuth() { my.getPhoneNumber({}); }, onRefuse() {} });'));
  await p.pressAuthorizeButton();
  const journal = await sim.journal();
  const gpn = journal.filter((e) => e.api === 'getPhoneNumber');
  assert.deepEqual(journal.map((e) => [e.api, e.callback]), [['authorize', 'onGetAuthorize'], ['getPhoneNumber', 'success']]);
  assert.equal(gpn[0].outcome, 'no_mobile');
  assert.equal(gpn[0].answer.response, rt.calls[0].res.response, 'the page got exactly what the simulator answered');
});

test('a page whose callback throws: settled() rejects with the page\'s error', async () => {
  const rt = createRuntime({ simulator: sim });
  const p = await rt.loadPage(page('Page({ onAuth() { my.getPhoneNumber({ success: (res) => { res.nope.deeper; } }); }, onRefuse() {} });'));
  await assert.rejects(p.pressAuthorizeButton(), (e) => e instanceof PageError && /page code threw in my\.getPhoneNumber success callback: TypeError/.test(e.message));
  assert.equal(rt.calls[0].callback, 'success', 'the callback that threw is still recorded');
});

test('an async handler: the page is busy until it resolves, and its rejection is the error', async () => {
  const rt = createRuntime({ simulator: sim });
  const p = await rt.loadPage(
    page(`Page({
      async onAuth() {
        await new Promise((r) => setTimeout(r, 30));
        const res = await my.getPhoneNumber();
        my.alert({ title: 'got', content: typeof res.response });
      },
      onRefuse() {},
    });`),
  );
  await p.pressAuthorizeButton();
  assert.deepEqual(rt.alerts, [{ title: 'got', content: 'string', buttonText: '确定' }]);
  await sim.setFaults({ fail_rate: 1 });
  await assert.rejects(p.pressAuthorizeButton(), (e) => e instanceof PageError && e.message.startsWith('page code rejected in onAuth (onGetAuthorize): {"error":1,"errorMessage":"该接口暂不支持"}'));
});

test('setInterval runs without holding the page busy; clearInterval stops it', async () => {
  const rt = createRuntime({ simulator: sim });
  const p = await rt.loadPage(page('Page({ onAuth() { let n = 0; const h = setInterval(() => { n += 1; if (n === 3) { clearInterval(h); my.alert({ content: String(n) }); } }, 10); }, onRefuse() {} });'));
  await p.pressAuthorizeButton();
  assert.deepEqual(rt.alerts, []);
  await new Promise((r) => setTimeout(r, 150));
  await rt.settled();
  assert.deepEqual(rt.alerts.map((a) => a.content), ['3']);
});

test('a user or app the simulator does not know: the simulator\'s own message', async () => {
  const rt = createRuntime({ simulator: sim, user: 'zed' });
  const p = await rt.loadPage(page('Page({ onAuth() {}, onRefuse() {} });'));
  await assert.rejects(p.pressAuthorizeButton(), (e) => e instanceof RuntimeError && /alipay-sim answered 404 to POST \/jsapi\/apps\/demo\/users\/zed\/authorize: unknown_user: app "demo" has no user "zed"/.test(e.message));
  const rt2 = createRuntime({ simulator: sim, scenario: 'platform.no.such' });
  const p2 = await rt2.loadPage(page('Page({ onAuth() { my.getPhoneNumber({}); }, onRefuse() {} });'));
  await assert.rejects(p2.pressAuthorizeButton(), /alipay-sim answered 404 to POST .*getPhoneNumber\?scenario=platform\.no\.such: unknown_scenario/);
});

test('a promise-style call the simulator refuses: the press rejects at once with the simulator\'s error', async () => {
  const rt = createRuntime({ simulator: sim, scenario: 'platform.no.such', settleTimeoutMs: 5000 });
  const p = await rt.loadPage(page('Page({ async onAuth() { await my.getPhoneNumber(); my.alert({ content: "unreachable" }); }, onRefuse() {} });'));
  const started = Date.now();
  await assert.rejects(p.pressAuthorizeButton(), (e) => e instanceof RuntimeError && /unknown_scenario/.test(e.message));
  assert.ok(Date.now() - started < 4000, 'did not wait for the settle timeout');
  assert.deepEqual(rt.alerts, []);
});

test('a simulator that is not running: one error naming it', async () => {
  const spare = http.createServer();
  await new Promise((r) => spare.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${spare.address().port}`;
  await new Promise((r) => spare.close(r));
  const rt = createRuntime({ simulator: url });
  const p = await rt.loadPage(page('Page({ onAuth() {}, onRefuse() {} });'));
  await assert.rejects(p.pressAuthorizeButton(), (e) => e.message.startsWith(`no answer from alipay-sim at ${url} to POST /jsapi/apps/demo/users/alice/authorize: ECONNREFUSED (is it running?`));
});

test('a drop fault: the error says the simulator closed the connection on purpose', async () => {
  await sim.setFaults({ drop_rate: 1 });
  const rt = createRuntime({ simulator: sim });
  const p = await rt.loadPage(page('Page({ onAuth() {}, onRefuse() {} });'));
  await assert.rejects(p.pressAuthorizeButton(), /no answer from alipay-sim at .* to POST .*authorize: .*a drop_rate fault also closes connections/);
});

test('a page that never settles: the error names what it waits for', async () => {
  const rt = createRuntime({ simulator: sim, settleTimeoutMs: 200 });
  const p = await rt.loadPage(page('Page({ onAuth() { setTimeout(() => {}, 60000); }, onRefuse() {} });'));
  await assert.rejects(p.pressAuthorizeButton(), /did not settle within 200 ms; still waiting for: setTimeout\(60000\)/);
});

test('timers: the page settles after its setTimeout callbacks, not before; clearTimeout cancels', async () => {
  const rt = createRuntime({ simulator: sim });
  const p = await rt.loadPage(page('Page({ onAuth() { const t = setTimeout(() => my.alert({ content: "never" }), 50); clearTimeout(t); setTimeout(() => my.alert({ title: "later" }), 30); }, onRefuse() {} });'));
  await p.pressAuthorizeButton();
  assert.deepEqual(rt.alerts, [{ title: 'later', content: '', buttonText: '确定' }]);
});

test('createRuntime: unknown or mistyped options are refused', () => {
  assert.throws(() => createRuntime({}), /`simulator` is required/);
  assert.throws(() => createRuntime({ simulator: sim, usr: 'x' }), /unknown option "usr"/);
  assert.throws(() => createRuntime({ simulator: sim, consent: 'yes' }), /`consent` must be true/);
  assert.throws(() => createRuntime({ simulator: sim, scenario: '' }), /`scenario` must be a catalogue id/);
});

test('startSimulator: a missing binary is one error saying how to get it', async () => {
  await assert.rejects(
    import('../src/index.js').then((m) => m.startSimulator({ bin: path.join(dir, 'no-such-alipay-sim') })),
    (e) => e instanceof ProcessError && /no-such-alipay-sim not found\. Build it with `cargo build -p alipay-sim`/.test(e.message),
  );
});
