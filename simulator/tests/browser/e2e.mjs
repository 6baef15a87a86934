// End-to-end tests of the emulator page in headless Chromium (Debian's /usr/bin/chromium, driven
// by playwright-core; no browser is downloaded). run.sh starts the simulator and two merchants
// and passes their URLs:
//   SIM_URL              the simulator (alipay-sim serve), e.g. http://127.0.0.1:41234
//   MERCHANT_URL         a correct merchant (merchant.mjs)
//   REJECT_MERCHANT_URL  a merchant that rejects everything (merchant.mjs --reject-all)
//   OUT_DIR              where screenshots go
//   UPDATE_SCREENSHOT=1  also rewrite the README screenshot (README_SCREENSHOT)
// Prints one line per test and a final `N passed, M failed`; exits 1 on any failure.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const SIM = mustEnv('SIM_URL');
const MERCHANT = mustEnv('MERCHANT_URL');
const REJECT = mustEnv('REJECT_MERCHANT_URL');
const OUT = process.env.OUT_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'alipay-sim-e2e-'));
const README_SHOT = process.env.README_SCREENSHOT || '';
const UPDATE = process.env.UPDATE_SCREENSHOT === '1';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ONLY = process.env.ONLY || '';

function mustEnv(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`e2e.mjs: ${name} is not set (run.sh sets it)`);
    process.exit(2);
  }
  return v.replace(/\/$/, '');
}

fs.mkdirSync(OUT, { recursive: true });

// ---------------------------------------------------------------------------------------------
// A minimal runner

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

class AssertionError extends Error {}
function assert(cond, message) {
  if (!cond) throw new AssertionError(message);
}
function assertIncludes(haystack, needle, what) {
  assert(String(haystack).includes(needle), `${what}: expected to contain ${JSON.stringify(needle)}, got ${JSON.stringify(String(haystack).slice(0, 400))}`);
}

// ---------------------------------------------------------------------------------------------
// Simulator helpers (Node's fetch, loopback only)

async function sim(method, p, body) {
  const resp = await fetch(`${SIM}${p}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: resp.status, headers: resp.headers, json, text };
}

async function resetSim() {
  const r = await sim('POST', '/__admin/reset');
  assert(r.status === 200, `reset answered ${r.status}: ${r.text}`);
  await sim('PUT', '/__admin/faults', { busy_rate: 0, latency_ms: 0, drop_rate: 0, fail_rate: 0 });
  await sim('DELETE', '/__admin/journal');
}

// ---------------------------------------------------------------------------------------------
// Browser helpers

const offsite = [];
const pageErrors = [];

async function newPage(browser, { width = 1280, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: 1, locale: 'zh-CN' });
  context.on('request', (req) => {
    const u = req.url();
    if (!u.startsWith(`${SIM}/`) && !u.startsWith('data:')) offsite.push(u);
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // Chromium logs every non-2xx fetch as "Failed to load resource"; the page shows those.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(`console: ${m.text()}`);
  });
  return { context, page };
}

async function open(page, { merchant = MERCHANT, user = 'alice', app = 'demo', scenario = '' } = {}) {
  const q = new URLSearchParams({ merchant, user, app });
  if (scenario) q.set('scenario', scenario);
  await page.goto(`${SIM}/?${q}`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 15000 });
  const chosen = await page.$eval('#user', (s) => s.value);
  assert(chosen === user, `user select shows ${chosen}, not ${user}`);
}

async function verdict(page) {
  await page.waitForFunction(() => {
    const v = document.getElementById('verdict').dataset.verdict;
    return v !== 'idle' && v !== 'running';
  }, null, { timeout: 20000 });
  return page.$eval('#verdict', (v) => ({ verdict: v.dataset.verdict, text: v.textContent, cls: v.className }));
}

async function consentFlow(page) {
  await page.click('#authorize');
  await page.waitForSelector('#sheet:not([hidden])');
  await page.click('#allow');
  return verdict(page);
}

async function shot(page, name, fullPage = true) {
  const file = path.join(OUT, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  return file;
}

const stepsText = (page) => page.$eval('#steps', (s) => s.innerText);

// ---------------------------------------------------------------------------------------------
// The tests

test('consent then success: the merchant gets the expected mobile', async (browser) => {
  const { context, page } = await newPage(browser);
  await open(page);
  await page.click('#authorize');
  await page.waitForSelector('#sheet:not([hidden])');
  const dialog = await page.$eval('#sheet [role="dialog"]', (d) => ({
    modal: d.getAttribute('aria-modal'), title: document.getElementById(d.getAttribute('aria-labelledby')).textContent,
  }));
  assert(dialog.modal === 'true', 'the sheet is aria-modal');
  assertIncludes(dialog.title, '手机号', 'sheet title');
  assert(await page.evaluate(() => document.activeElement.id) === 'deny', 'focus moves into the sheet');
  assert(await page.evaluate(() => document.querySelector('.setup').inert), 'the page behind the sheet is inert');
  await (await page.$('#device')).screenshot({ path: path.join(OUT, 'sheet.png') });
  await page.click('#allow');
  const v = await verdict(page);
  assert(v.verdict === 'expected-mobile', `verdict ${v.verdict}: ${v.text}`);
  assertIncludes(v.cls, 'good', 'verdict tone');
  const steps = await stepsText(page);
  assertIncludes(steps, 'onGetAuthorize', 'steps');
  assertIncludes(steps, 'Signature valid', 'steps');
  assertIncludes(steps, 'decrypted here because this is a test tool', 'steps');
  const plaintext = await page.$eval('pre.plaintext', (p) => p.textContent);
  const mobile = JSON.parse(plaintext).mobile;
  assert(/^1\d{10}$/.test(mobile), `alice's mobile is mainland: ${mobile}`);
  assertIncludes(v.text, mobile, 'verdict names the mobile');
  assertIncludes(steps, '"status": "ok"', 'merchant answer shown');
  await page.waitForFunction(() => document.querySelector('#journal tbody').innerText.includes('getPhoneNumber'));
  const journal = await page.$eval('#journal tbody', (t) => t.innerText);
  assertIncludes(journal, 'authorize', 'journal');
  await shot(page, 'success');
  if (UPDATE && README_SHOT) {
    await page.$eval('.bundle', (d) => { d.open = false; });
    await page.screenshot({ path: README_SHOT, fullPage: true });
    console.log(`# wrote ${README_SHOT}`);
  }
  await context.close();
});

test('refusal: onError detail is shown and nothing is sent', async (browser) => {
  const { context, page } = await newPage(browser);
  await open(page);
  await page.click('#authorize');
  await page.waitForSelector('#sheet:not([hidden])');
  await page.click('#deny');
  const v = await verdict(page);
  assert(v.verdict === 'refused', `verdict ${v.verdict}: ${v.text}`);
  assertIncludes(v.text, '用户拒绝授权', 'verdict');
  assertIncludes(v.text, 'getAuthorize', 'verdict');
  const steps = await stepsText(page);
  assertIncludes(steps, 'onError', 'steps');
  assert(!steps.includes('my.request'), 'nothing was sent to the merchant');
  assert(await page.evaluate(() => document.activeElement.id) === 'authorize', 'focus returns to the button');
  await shot(page, 'refusal');
  await context.close();
});

test('login: my.getAuthCode auth_base asks nothing and shows the success object, then the phone number', async (browser) => {
  const { context, page } = await newPage(browser);
  await open(page);
  await page.selectOption('#scopes', 'auth_base');
  await page.click('#auth-code');
  const v = await verdict(page);
  assert(v.verdict === 'authcode', `verdict ${v.verdict}: ${v.text}`);
  assert(await page.$eval('#sheet', (s) => s.hidden), 'auth_base shows no sheet');
  const journal = (await sim('GET', '/__admin/journal')).json.filter((e) => e.api === 'getAuthCode');
  assert(journal.length === 1 && journal[0].callback === 'success', `journal: ${JSON.stringify(journal)}`);
  const shown = JSON.parse(await page.$eval('#steps pre', (p) => p.textContent));
  assert(/^[0-9a-f]{32}$/.test(shown.authCode), `authCode ${shown.authCode}`);
  assert(JSON.stringify(shown.authSuccessScopes) === '["auth_base"]' && JSON.stringify(shown.authErrorScopes) === '{}', JSON.stringify(shown));
  assertIncludes(v.text, shown.authCode, 'verdict');
  assertIncludes(await stepsText(page), '/gateway.do', 'steps');
  // The journal table of the page lists the call.
  await page.waitForFunction(() => document.querySelector('#journal tbody').innerText.includes('getAuthCode'));
  await shot(page, 'login-authcode');

  // Then the phone number, as the login page does: the code stays on the page as the first step.
  const phone = await consentFlow(page);
  assert(phone.verdict === 'expected-mobile', `verdict ${phone.verdict}: ${phone.text}`);
  const steps = await stepsText(page);
  assertIncludes(steps, 'Logged in before: my.getAuthCode', 'steps');
  assertIncludes(steps, shown.authCode, 'steps');
  await shot(page, 'login-phone');
  await context.close();
});

test('login: auth_user refused on the sheet is the fail callback {error: 11}', async (browser) => {
  const { context, page } = await newPage(browser);
  await open(page);
  await page.selectOption('#scopes', 'auth_user');
  await page.click('#auth-code');
  await page.waitForSelector('#sheet:not([hidden])');
  assertIncludes(await page.$eval('#sheet-title', (t) => t.textContent), '公开信息', 'sheet title');
  assert(await page.evaluate(() => document.querySelector('#auth-code').inert), 'the page behind the sheet is inert');
  await page.click('#deny');
  const v = await verdict(page);
  assert(v.verdict === 'authcode-fail', `verdict ${v.verdict}: ${v.text}`);
  const shown = JSON.parse(await page.$eval('#steps li:last-child pre', (p) => p.textContent));
  assert(shown.error === 11 && shown.errorMessage === '用户取消授权', JSON.stringify(shown));
  assertIncludes(await stepsText(page), 'refused', 'steps');
  assert(await page.evaluate(() => document.activeElement.id) === 'auth-code', 'focus returns to 登录');
  await shot(page, 'login-refused');
  await context.close();
});

test('login: auth_user allowed is granted; a scope the app may not ask for goes to authErrorScopes, alone it is error 4', async (browser) => {
  const { context, page } = await newPage(browser);
  await open(page);
  await page.selectOption('#scopes', 'auth_user');
  await page.click('#auth-code');
  await page.waitForSelector('#sheet:not([hidden])');
  await page.click('#allow');
  let v = await verdict(page);
  assert(v.verdict === 'authcode', `verdict ${v.verdict}: ${v.text}`);
  let shown = JSON.parse(await page.$eval('#steps li:last-child pre', (p) => p.textContent));
  assert(JSON.stringify(shown.authSuccessScopes) === '["auth_user"]', JSON.stringify(shown));
  assertIncludes(await stepsText(page), 'alipay.user.info.share', 'steps');

  const patched = await sim('PATCH', '/__admin/apps/demo', { login: { scopes: ['auth_base'] } });
  assert(patched.status === 200, `PATCH ${patched.status}: ${patched.text}`);
  await page.selectOption('#scopes', 'auth_base,auth_user');
  await page.click('#auth-code');
  await page.waitForSelector('#sheet:not([hidden])');
  await page.click('#allow');
  v = await verdict(page);
  assert(v.verdict === 'authcode', `verdict ${v.verdict}: ${v.text}`);
  shown = JSON.parse(await page.$eval('#steps li:last-child pre', (p) => p.textContent));
  assert(JSON.stringify(shown.authSuccessScopes) === '["auth_base"]' && shown.authErrorScopes.auth_user === '40006', JSON.stringify(shown));
  assertIncludes(v.text, 'not granted auth_user', 'verdict');

  await page.selectOption('#scopes', 'auth_user');
  await page.click('#auth-code');
  await page.waitForSelector('#sheet:not([hidden])');
  await page.click('#allow');
  v = await verdict(page);
  assert(v.verdict === 'authcode-fail', `verdict ${v.verdict}: ${v.text}`);
  assertIncludes(v.text, '"error":4', 'verdict');
  await context.close();
});

test('my.getRunData: the envelope opened in the page shows the day\'s step count', async (browser) => {
  const patched = await sim('PATCH', '/__admin/apps/demo/users/alice', { steps: 12345 });
  assert(patched.status === 200, `PATCH ${patched.status}: ${patched.text}`);
  const { context, page } = await newPage(browser);
  await open(page);
  assertIncludes(await page.$eval('#user-hint', (h) => h.textContent), 'steps: 12345', 'user hint');
  await page.fill('#count-date', '2024-05-01');
  await page.click('#run-data');
  const v = await verdict(page);
  assert(v.verdict === 'rundata', `verdict ${v.verdict}: ${v.text}`);
  assertIncludes(v.text, '12345 steps on 2024-05-01', 'verdict');
  const plain = JSON.parse(await page.$eval('pre.plaintext', (p) => p.textContent));
  assert(plain.count === 12345 && plain.countDate === '2024-05-01' && plain.code === '10000', JSON.stringify(plain));
  const steps = await stepsText(page);
  assertIncludes(steps, 'Signature valid', 'steps');
  assert(!steps.includes('my.request'), 'run data is not sent to the phone merchant');
  const journal = (await sim('GET', '/__admin/journal')).json.filter((e) => e.api === 'getRunData');
  assert(journal.length === 1 && journal[0].callback === 'success', `journal: ${JSON.stringify(journal)}`);
  await shot(page, 'rundata');
  await context.close();
});

test('my.getRunData: a countDate that is not a day is the fail callback {error: 2}; busy is 20000 inside', async (browser) => {
  const { context, page } = await newPage(browser);
  await open(page);
  await page.fill('#count-date', '2024-02-30');
  await page.click('#run-data');
  let v = await verdict(page);
  assert(v.verdict === 'rundata-fail', `verdict ${v.verdict}: ${v.text}`);
  const shown = JSON.parse(await page.$eval('#steps pre', (p) => p.textContent));
  assert(shown.error === 2, JSON.stringify(shown));

  await page.fill('#count-date', '');
  await page.click('#busy');
  await page.waitForFunction(() => document.getElementById('busy').getAttribute('aria-pressed') === 'true');
  await page.click('#run-data');
  v = await verdict(page);
  assert(v.verdict === 'rundata-error', `verdict ${v.verdict}: ${v.text}`);
  assertIncludes(v.text, '20000', 'verdict');
  await context.close();
});

test('40003: a user who never authorised, called without the button', async (browser) => {
  const { context, page } = await newPage(browser);
  await open(page, { user: 'dave' });
  await page.click('#direct');
  const v = await verdict(page);
  assert(v.verdict === 'platform-error', `verdict ${v.verdict}: ${v.text}`);
  assertIncludes(v.text, '40003', 'verdict');
  assertIncludes(await page.$eval('pre.plaintext', (p) => p.textContent), 'isv.invalid-auth-relations', 'plaintext');
  await shot(page, 'error-40003');
  await context.close();
});

test('20000: busy toggled on the page, the merchant reports retry later', async (browser) => {
  const { context, page } = await newPage(browser);
  await open(page);
  await page.click('#busy');
  await page.waitForFunction(() => document.getElementById('busy').getAttribute('aria-pressed') === 'true');
  const faults = (await sim('GET', '/__admin/faults')).json;
  assert(faults.busy_rate === 1, `busy_rate is ${faults.busy_rate}`);
  const v = await consentFlow(page);
  assert(v.verdict === 'platform-error', `verdict ${v.verdict}: ${v.text}`);
  assertIncludes(v.text, '20000', 'verdict');
  assertIncludes(v.text, 'retry later', 'verdict');
  await shot(page, 'busy-20000');
  await page.click('#busy');
  await page.waitForFunction(() => document.getElementById('busy').getAttribute('aria-pressed') === 'false');
  assert((await sim('GET', '/__admin/faults')).json.busy_rate === 0, 'busy switched off again');
  await context.close();
});

test('40001: an app without content encryption answers a plaintext error', async (browser) => {
  const { context, page } = await newPage(browser);
  await open(page, { app: 'no-encryption' });
  const v = await consentFlow(page);
  assert(v.verdict === 'platform-error', `verdict ${v.verdict}: ${v.text}`);
  assertIncludes(v.text, '40001', 'verdict');
  const steps = await stepsText(page);
  assertIncludes(steps, 'Plaintext (not encrypted on the wire)', 'steps');
  assertIncludes(steps, 'isv.missing-encrypt-key', 'steps');
  await context.close();
});

test('a merchant that rejects a genuine envelope gets a "rejected" verdict', async (browser) => {
  const { context, page } = await newPage(browser);
  await open(page, { merchant: REJECT });
  const v = await consentFlow(page);
  assert(v.verdict === 'rejected', `verdict ${v.verdict}: ${v.text}`);
  assertIncludes(v.cls, 'bad', 'verdict tone');
  assertIncludes(v.text, 'status 400', 'verdict');
  await shot(page, 'merchant-rejects');
  await context.close();
});

test('a forbidden forwarding target is refused with a clear message', async (browser) => {
  const { context, page } = await newPage(browser);
  // 10.0.0.1 is a literal private address: the fence refuses it before any connection.
  await open(page, { merchant: 'http://10.0.0.1/phone' });
  const v = await consentFlow(page);
  assert(v.verdict === 'forward-refused', `verdict ${v.verdict}: ${v.text}`);
  assertIncludes(v.text, 'not loopback', 'verdict');
  assertIncludes(v.text, '--allow-forward 10.0.0.1:80', 'verdict');
  const alert = await page.$eval('#steps [role="alert"]', (a) => a.textContent);
  assertIncludes(alert, 'forwarding fence', 'alert');
  await shot(page, 'forward-refused');
  await context.close();
});

test('keyboard only: Tab, Enter, Space and Escape drive the whole flow', async (browser) => {
  const { context, page } = await newPage(browser);
  await open(page);
  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement.id === 'authorize');
  }
  assert(reached, 'Tab reaches the 授权手机号 button');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#sheet:not([hidden])');
  assert(await page.evaluate(() => document.activeElement.id) === 'deny', 'focus on 拒绝');
  await page.keyboard.press('Tab');
  assert(await page.evaluate(() => document.activeElement.id) === 'allow', 'Tab moves to 允许');
  await page.keyboard.press('Tab');
  assert(await page.evaluate(() => document.activeElement.id) === 'deny', 'Tab stays inside the sheet');
  await page.keyboard.press('Shift+Tab');
  assert(await page.evaluate(() => document.activeElement.id) === 'allow', 'Shift+Tab stays inside the sheet');
  await page.keyboard.press('Space');
  const v = await verdict(page);
  assert(v.verdict === 'expected-mobile', `verdict ${v.verdict}: ${v.text}`);
  assert(await page.evaluate(() => document.activeElement.id) === 'authorize', 'focus back on the button');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#sheet:not([hidden])');
  await page.keyboard.press('Escape');
  const r = await verdict(page);
  assert(r.verdict === 'refused', `Escape refuses: ${r.verdict}`);
  await shot(page, 'keyboard');
  await context.close();
});

test('tester controls: set a mobile, change consent, reset', async (browser) => {
  const { context, page } = await newPage(browser);
  await open(page);
  await page.fill('#mobile', '13912345678');
  await page.click('#set-mobile');
  await page.waitForFunction(() => document.getElementById('admin-status').textContent.includes('13912345678'));
  const v = await consentFlow(page);
  assert(v.verdict === 'expected-mobile', `verdict ${v.verdict}: ${v.text}`);
  assertIncludes(v.text, '13912345678', 'verdict');

  await page.selectOption('#user', 'dave');
  assert(await page.$eval('#consent', (b) => b.getAttribute('aria-pressed')) === 'false', 'dave starts unauthorised');
  await page.click('#consent');
  await page.waitForFunction(() => document.getElementById('consent').getAttribute('aria-pressed') === 'true');
  await page.click('#direct');
  const d = await verdict(page);
  assert(d.verdict === 'expected-mobile', `dave, now authorised: ${d.verdict}: ${d.text}`);

  await page.click('#reset');
  await page.waitForFunction(() => document.getElementById('admin-status').textContent.includes('reset'));
  await page.waitForFunction(() => document.getElementById('consent').getAttribute('aria-pressed') === 'false');
  const users = (await sim('GET', '/__admin/apps/demo/users/alice')).json;
  assert(users.mobile !== '13912345678', 'reset restored alice');
  await context.close();
});

test('catalogue scenario: an envelope signed with the wrong key is rejected', async (browser) => {
  const { context, page } = await newPage(browser);
  await open(page, { scenario: 'tamper.signature.attacker-key' });
  assert(await page.$eval('#scenario', (s) => s.value) === 'tamper.signature.attacker-key', 'scenario selected');
  await page.click('#direct');
  const v = await verdict(page);
  assert(v.verdict === 'rejected', `verdict ${v.verdict}: ${v.text}`);
  assertIncludes(v.cls, 'good', 'rejecting a tampered envelope is right');
  assertIncludes(await stepsText(page), 'Signature INVALID', 'steps');
  await shot(page, 'tamper');
  await context.close();
});

test('narrow window (390 px): one column, no sideways scrolling', async (browser) => {
  const { context, page } = await newPage(browser, { width: 390, height: 844 });
  await open(page);
  const v = await consentFlow(page);
  assert(v.verdict === 'expected-mobile', `verdict ${v.verdict}: ${v.text}`);
  const widths = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, view: window.innerWidth }));
  assert(widths.doc <= widths.view, `page is ${widths.doc}px wide in a ${widths.view}px window`);
  const device = await page.$eval('#device', (d) => d.getBoundingClientRect().width);
  assert(device <= 390, `the phone fits (${device}px)`);
  await shot(page, 'narrow');
  await shot(page, 'narrow-top', false);
  await (await page.$('#result')).screenshot({ path: path.join(OUT, 'narrow-result.png') });
  await context.close();
});

test('accessibility basics and a strict CSP', async (browser) => {
  const { context, page } = await newPage(browser);
  await open(page);
  const report = await page.evaluate(() => ({
    unlabelled: [...document.querySelectorAll('input, select')].filter((e) => e.labels.length === 0).map((e) => e.id),
    clickableNonButtons: [...document.querySelectorAll('[onclick], div[tabindex="0"]:not([role="region"])')].length,
    live: [...document.querySelectorAll('[aria-live]')].map((e) => e.id),
    lang: document.documentElement.lang,
    h1: document.querySelectorAll('h1').length,
    buttonsWithoutType: [...document.querySelectorAll('button:not([type])')].length,
  }));
  assert(report.unlabelled.length === 0, `inputs without a label: ${report.unlabelled}`);
  assert(report.clickableNonButtons === 0, 'no clickable non-buttons');
  assert(report.live.includes('verdict') && report.live.includes('admin-status'), `live regions: ${report.live}`);
  assert(report.lang === 'en' && report.h1 === 1 && report.buttonsWithoutType === 0, JSON.stringify(report));
  const resp = await sim('GET', '/');
  const csp = resp.headers.get('content-security-policy') || '';
  assertIncludes(csp, "script-src 'self'", 'CSP');
  assertIncludes(csp, "default-src 'none'", 'CSP');
  await context.close();
});

test('POST /__forward refuses a private target over plain HTTP too', async () => {
  const r = await sim('POST', '/__forward', { url: 'http://10.0.0.1/', body: '{}', content_type: 'application/json', headers: {} });
  assert(r.status === 403, `status ${r.status}`);
  assert(r.json && r.json.error === 'forward_refused' && r.json.field === 'url', r.text);
  const ok = await sim('POST', '/__forward', { url: `${REJECT}/phone`, body: '{}', content_type: 'application/json', headers: {} });
  assert(ok.status === 200 && ok.json.status === 400, `loopback forward: ${ok.text}`);
});

// ---------------------------------------------------------------------------------------------

// playwright-core gives every launch a fresh temporary profile (user-data-dir) and removes it.
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-default-apps', '--disable-extensions', '--metrics-recording-only',
    // Belt and braces: no name but localhost resolves inside the browser.
    '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost',
  ],
});

let passed = 0;
let failed = 0;
try {
  for (const t of tests) {
    if (ONLY && !t.name.includes(ONLY)) continue;
    await resetSim();
    const before = pageErrors.length;
    try {
      await t.fn(browser);
      const errs = pageErrors.slice(before);
      if (errs.length) throw new AssertionError(`the page logged errors: ${errs.join(' | ')}`);
      passed++;
      console.log(`ok - ${t.name}`);
    } catch (e) {
      failed++;
      console.log(`not ok - ${t.name}\n  ${String(e.stack || e).split('\n').slice(0, 4).join('\n  ')}`);
    }
  }
  if (offsite.length) {
    failed++;
    console.log(`not ok - the page requested something outside the simulator: ${[...new Set(offsite)].join(', ')}`);
  } else {
    passed++;
    console.log('ok - every request the page made went to the simulator');
  }
} finally {
  await browser.close();
}
console.log(`# screenshots in ${OUT}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
