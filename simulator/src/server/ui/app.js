// The emulator page: plays the mini-program side of a login (my.getAuthCode) and of
// my.getPhoneNumber against the simulator that served it, and forwards the envelope to the
// merchant URL through POST /__forward.
// Every piece of text from the network is written with textContent, never as HTML.

import {
  readEnvelope, decrypt, verify, expectationFromPlaintext, judge, maskMobile,
} from './envelope.js';

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

const ui = {
  app: $('app'), user: $('user'), userHint: $('user-hint'), scenario: $('scenario'),
  merchant: $('merchant-url'), title: $('mini-title'), authorize: $('authorize'), direct: $('direct'),
  scopes: $('scopes'), authCode: $('auth-code'), countDate: $('count-date'), runData: $('run-data'),
  sheet: $('sheet'), sheetTitle: $('sheet-title'), sheetDesc: $('sheet-desc'), sheetSetting: $('sheet-setting'),
  allow: $('allow'), deny: $('deny'), verdict: $('verdict'), steps: $('steps'),
  busy: $('busy'), consent: $('consent'), reset: $('reset'), mobile: $('mobile'), setMobile: $('set-mobile'),
  adminStatus: $('admin-status'), journal: document.querySelector('#journal tbody'),
  refreshJournal: $('refresh-journal'), clearJournal: $('clear-journal'), bundle: $('bundle'), version: $('version'),
};

const state = {
  apps: [], users: [], scenarios: [], faults: null, bundles: new Map(),
  last: null, // { body, expectation } of the last success callback, for "send again"
  busyFlow: false, opener: null,
  sheetFor: null, // { kind: 'phone' } or { kind: 'authcode', scopes } while the sheet is open
  login: null, // { authCode, scopes } from the last my.getAuthCode success, shown in the next flow
};

// ---------------------------------------------------------------------------------------------
// Small DOM helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const pre = (text, cls = '') => el('pre', { class: `code ${cls}`.trim(), tabindex: '0' }, text);
const pretty = (value) => {
  try { return JSON.stringify(value, null, 2); } catch { return String(value); }
};
const prettyText = (text) => {
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return text; }
};

function step(title, tone = 'info') {
  const body = el('div', { class: 'step-body' });
  const item = el('li', { class: `step ${tone}` }, el('h3', { class: 'step-title', text: title }), body);
  ui.steps.append(item);
  return { item, body, tone(t) { item.className = `step ${t}`; } };
}

function dl(pairs) {
  return el('dl', { class: 'pairs' }, pairs.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

function setVerdict(tone, verdict, text) {
  ui.verdict.className = `verdict ${tone}`;
  ui.verdict.dataset.verdict = verdict;
  ui.verdict.textContent = text;
}

function adminSay(text, tone = 'info') {
  ui.adminStatus.className = `admin-status ${tone}`;
  ui.adminStatus.textContent = text;
}

// ---------------------------------------------------------------------------------------------
// The simulator's HTTP API

class ApiError extends Error {
  constructor(message, status, json) { super(message); this.status = status; this.json = json; }
}

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    throw new ApiError(`the simulator did not answer ${method} ${path} (${e.message}): it closed the connection or is not running`, 0, null);
  }
  const text = await resp.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!resp.ok) {
    const msg = json && json.message ? json.message : `${resp.status} ${text.slice(0, 200)}`;
    throw new ApiError(msg, resp.status, json);
  }
  return { status: resp.status, headers: resp.headers, json, text };
}

const appId = () => ui.app.value;
const userId = () => ui.user.value;
const currentUser = () => state.users.find((u) => u.user_id === userId());

// ---------------------------------------------------------------------------------------------
// Set-up panel

async function loadApps(keep) {
  state.apps = (await api('GET', '/__admin/apps')).json || [];
  ui.app.replaceChildren(...state.apps.map((a) => el('option', { value: a.app_id }, a.name && a.name !== a.app_id ? `${a.app_id} · ${a.name}` : a.app_id)));
  if (keep && state.apps.some((a) => a.app_id === keep)) ui.app.value = keep;
  await onAppChange(null);
}

async function onAppChange(keepUser) {
  const app = state.apps.find((a) => a.app_id === appId());
  ui.title.textContent = app ? (app.name || app.app_id) : 'Mini-program';
  localStorage.setItem('alipay-sim.app', appId());
  await loadUsers(keepUser ?? localStorage.getItem('alipay-sim.user'));
  await loadBundle();
}

async function loadUsers(keep) {
  if (!appId()) { state.users = []; ui.user.replaceChildren(); return; }
  state.users = (await api('GET', `/__admin/apps/${enc(appId())}/users`)).json || [];
  ui.user.replaceChildren(...state.users.map((u) => el('option', { value: u.user_id }, u.user_id)));
  if (keep && state.users.some((u) => u.user_id === keep)) ui.user.value = keep;
  onUserChange();
}

function describeMobile(m) {
  if (m === null || m === undefined) return 'no mobile (the key is absent from the answer)';
  if (m === '') return 'no phone number bound (empty mobile)';
  if (m === 'fresh') return 'a new generated number on every call';
  return m;
}

function onUserChange() {
  const u = currentUser();
  localStorage.setItem('alipay-sim.user', userId());
  if (!u) { ui.userHint.textContent = 'This app has no users.'; return; }
  const steps = u.steps === undefined ? '' : ` · steps: ${u.steps === 'generated' ? 'generated per day' : u.steps}`;
  ui.userHint.textContent = `${u.authorised ? 'Has authorised the app' : 'Has not authorised the app'} · mobile: ${describeMobile(u.mobile)}${steps}`;
  ui.consent.setAttribute('aria-pressed', String(Boolean(u.authorised)));
  ui.consent.textContent = `${u.user_id} has authorised`;
  ui.mobile.value = u.mobile === null || u.mobile === undefined ? '' : u.mobile;
}

async function loadScenarios() {
  state.scenarios = (await api('GET', '/__admin/scenarios')).json || [];
  const groups = new Map();
  for (const s of state.scenarios) {
    const kind = s.kind || 'other';
    if (!groups.has(kind)) groups.set(kind, el('optgroup', { label: kind === 'tamper' ? 'Tampered or hostile envelopes' : kind === 'platform' ? 'Genuine platform answers' : kind }));
    groups.get(kind).append(el('option', { value: s.id }, `${s.id}: ${s.title}`));
  }
  ui.scenario.append(...groups.values());
}

async function loadBundle() {
  ui.bundle.replaceChildren();
  if (!appId()) return null;
  try {
    const b = (await api('GET', `/__admin/apps/${enc(appId())}/bundle`)).json;
    state.bundles.set(appId(), b);
    const rows = [
      ['App', b.app_id || appId()],
      ['AES key (接口内容加密)', b.aes_key ? el('code', {}, b.aes_key) : 'none: content encryption is not configured'],
      ['Sign type', b.sign_type || 'none: signing is not configured'],
      ['Alipay public key (支付宝公钥)', el('code', { class: 'wrap' }, b.alipay_public_key || '')],
    ];
    if (b.cert && b.cert.pem) {
      // Certificate mode (公钥证书): the three files the console hands out, as downloads.
      const pems = [b.cert.pem.alipay_root_cert, b.cert.pem.alipay_cert, b.cert.pem.app_cert];
      const links = (b.cert.files || []).map((name, i) => el('a', {
        class: 'cert-file', download: name,
        href: `data:application/x-pem-file;charset=utf-8,${encodeURIComponent(pems[i] || '')}`,
      }, name));
      rows.push(['Certificates (公钥证书)', links.flatMap((a, i) => (i ? [' ', a] : [a]))]);
      rows.push(['Certificate SNs', el('code', { class: 'wrap' },
        `app_cert_sn=${b.cert.app_cert_sn} alipay_cert_sn=${b.cert.alipay_cert_sn} alipay_root_cert_sn=${b.cert.alipay_root_cert_sn}`)]);
    }
    if (b.warning) rows.push(['Note', b.warning]);
    ui.bundle.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
    return b;
  } catch (e) {
    ui.bundle.replaceChildren(el('dt', {}, 'Keys'), el('dd', {}, `could not load: ${e.message}`));
    return null;
  }
}

async function bundleFor(id) {
  if (state.bundles.has(id)) return state.bundles.get(id);
  const b = (await api('GET', `/__admin/apps/${enc(id)}/bundle`)).json;
  state.bundles.set(id, b);
  return b;
}

// ---------------------------------------------------------------------------------------------
// The authorisation sheet (a modal dialog inside the phone)

const outside = () => [...document.querySelectorAll('.skip, .top, .setup, .result, .admin, .journal, #authorize, #direct, #auth-code, #run-data, .login-row, .screen-lead, .screen-note')];

const appName = () => {
  const app = state.apps.find((a) => a.app_id === appId());
  return app ? app.name || app.app_id : appId();
};

function openSheet(user, setting) {
  ui.sheetTitle.textContent = `${appName()} 申请获取你的手机号`;
  const m = user ? user.mobile : undefined;
  ui.sheetDesc.textContent = typeof m === 'string' && m !== '' && m !== 'fresh'
    ? `将获取你绑定的手机号 ${maskMobile(m)} (the number bound to ${user.user_id}'s Alipay account)`
    : `将获取你绑定的手机号 (${user ? user.user_id : 'this user'}: ${describeMobile(m)})`;
  ui.sheetSetting.textContent = setting;
  state.sheetFor = { kind: 'phone' };
  showSheet();
}

/** The consent sheet my.getAuthCode shows for auth_user (auth_base shows none). */
function openAuthSheet(user, scopes) {
  ui.sheetTitle.textContent = `${appName()} 申请获取你的公开信息`;
  ui.sheetDesc.textContent = `将获取你的头像、昵称等公开信息 (scope auth_user, ${user ? user.user_id : 'this user'})`;
  ui.sheetSetting.textContent = `my.getAuthCode({scopes: ${JSON.stringify(scopes.length === 1 ? scopes[0] : scopes)}})`;
  state.sheetFor = { kind: 'authcode', scopes };
  showSheet();
}

function showSheet() {
  state.opener = document.activeElement;
  for (const n of outside()) n.inert = true;
  ui.sheet.hidden = false;
  ui.deny.focus();
}

function closeSheet() {
  ui.sheet.hidden = true;
  for (const n of outside()) n.inert = false;
  const back = state.opener && document.contains(state.opener) ? state.opener : ui.authorize;
  back.focus();
}

ui.sheet.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') { e.preventDefault(); answerSheet(false); return; }
  if (e.key === 'Tab') {
    const order = [ui.deny, ui.allow];
    const i = order.indexOf(document.activeElement);
    e.preventDefault();
    const next = e.shiftKey ? (i <= 0 ? order.length - 1 : i - 1) : (i + 1) % order.length;
    order[next].focus();
  }
});

// ---------------------------------------------------------------------------------------------
// The flow

function startFlow(label) {
  ui.steps.replaceChildren();
  state.last = null;
  setVerdict('info', 'running', `${label}…`);
}

/** The login code of the my.getAuthCode just before, as the first step of a phone number flow. */
function showLoginStep() {
  const login = state.login;
  state.login = null;
  if (!login) return;
  const s = step('Logged in before: my.getAuthCode', 'good');
  s.body.append(dl([['authCode', el('code', {}, login.authCode)], ['authSuccessScopes', JSON.stringify(login.scopes)]]),
    el('p', {}, 'Your page sends this code to your backend together with the envelope below (one request, or two); the code is valid once.'));
}

const scopesChosen = () => ui.scopes.value.split(',');

const AUTH_FAIL = {
  3: 'no authorisation result: a scope name the JSAPI does not know (or the user closed the sheet)',
  4: 'no permission: the app may ask for none of these scopes (the simulator\'s app setting login.scopes)',
  11: 'the user refused the auth_user sheet',
};

async function onAuthCodeClick() {
  if (state.busyFlow) return;
  if (!appId() || !userId()) { setVerdict('bad', 'no-user', 'Pick an app and a user first.'); return; }
  const scopes = scopesChosen();
  state.login = null;
  startFlow('Calling my.getAuthCode');
  if (scopes.includes('auth_user')) {
    openAuthSheet(currentUser(), scopes);
    return;
  }
  state.busyFlow = true;
  try {
    await getAuthCode(scopes, undefined);
  } finally {
    state.busyFlow = false;
    loadJournal();
  }
}

async function getAuthCode(scopes, consent) {
  const arg = scopes.length === 1 ? scopes[0] : scopes;
  const s = step(`my.getAuthCode({scopes: ${JSON.stringify(arg)}})`);
  const body = consent === undefined ? { scopes: arg } : { scopes: arg, consent };
  let r;
  try {
    r = await api('POST', `/jsapi/apps/${enc(appId())}/users/${enc(userId())}/getAuthCode`, body);
  } catch (e) {
    flowFailed(s, e);
    return;
  }
  const res = r.json || {};
  if ((r.headers.get('x-alipay-sim-callback') || 'success') === 'fail') {
    s.tone('warn');
    s.body.append(el('p', {}, 'The fail callback receives:'), pre(pretty(res)));
    if (AUTH_FAIL[res.error]) s.body.append(el('p', {}, `error ${res.error}: ${AUTH_FAIL[res.error]}.`));
    setVerdict('warn', 'authcode-fail', `my.getAuthCode called fail with ${JSON.stringify(res)}. There is no code to log in with.`);
    return;
  }
  s.tone('good');
  const granted = Array.isArray(res.authSuccessScopes) ? res.authSuccessScopes : [];
  const refused = res.authErrorScopes && typeof res.authErrorScopes === 'object' ? Object.keys(res.authErrorScopes) : [];
  s.body.append(el('p', {}, 'The success callback receives ', el('code', {}, 'res'), ':'), pre(pretty(res), 'wrap'),
    el('p', {}, 'Your backend redeems ', el('code', {}, 'res.authCode'), ' once at ', el('code', {}, `${location.origin}/gateway.do`),
      ` with alipay.system.oauth.token${granted.includes('auth_user') ? ', then alipay.user.info.share with the access_token' : ''}.`));
  if (refused.length) s.body.append(el('p', { class: 'error' }, `Not granted: ${refused.join(', ')} (authErrorScopes).`));
  state.login = { authCode: res.authCode, scopes: granted };
  setVerdict('good', 'authcode', `my.getAuthCode called success: authCode ${res.authCode}, granted ${granted.join(', ')}${refused.length ? `, not granted ${refused.join(', ')}` : ''}. Press 授权手机号 next for the phone number.`);
}

function flowFailed(s, e, verdict = 'simulator-error') {
  s.tone('bad');
  s.body.append(el('p', { class: 'error', role: 'alert' }, e.message));
  setVerdict('bad', verdict, e.message);
}

async function onAuthorizeClick() {
  if (state.busyFlow) return;
  if (!appId() || !userId()) { setVerdict('bad', 'no-user', 'Pick an app and a user first.'); return; }
  startFlow('Asking for authorisation');
  showLoginStep();
  let setting = '';
  try {
    const r = await api('GET', `/jsapi/apps/${enc(appId())}/users/${enc(userId())}/getSetting`);
    const v = r.json && r.json.authSetting ? r.json.authSetting.phoneNumber : undefined;
    setting = `my.getSetting: authSetting.phoneNumber = ${v}${v ? ' (authorised before)' : ''}`;
  } catch (e) {
    setting = `my.getSetting failed: ${e.message}`;
  }
  openSheet(currentUser(), setting);
}

async function answerSheet(consent) {
  if (ui.sheet.hidden) return;
  closeSheet();
  state.busyFlow = true;
  const s = step(consent ? 'User pressed 允许 (allow)' : 'User pressed 拒绝 (refuse)');
  if (state.sheetFor && state.sheetFor.kind === 'authcode') {
    s.tone(consent ? 'good' : 'warn');
    try {
      await getAuthCode(state.sheetFor.scopes, consent);
    } finally {
      state.busyFlow = false;
      loadJournal();
    }
    return;
  }
  try {
    const r = await api('POST', `/jsapi/apps/${enc(appId())}/users/${enc(userId())}/authorize`, { scope: 'phoneNumber', consent });
    const cb = r.json || {};
    s.body.append(el('p', {}, 'The button fires ', el('code', {}, cb.callback || '?'), ' with event.detail:'), pre(pretty(cb.detail)));
    if (cb.callback === 'onError') {
      s.tone('warn');
      s.body.append(el('p', {}, 'my.getPhoneNumber is not called and nothing is sent to the merchant. Your page\'s onError handler should tell the user how to continue without a phone number.'));
      setVerdict('warn', 'refused', `The user refused. onError received ${JSON.stringify(cb.detail)}. Nothing was sent to the merchant.`);
      return;
    }
    s.tone('good');
    await getPhoneNumber();
  } catch (e) {
    flowFailed(s, e);
  } finally {
    state.busyFlow = false;
    refreshUsersQuietly();
    loadJournal();
  }
}

async function onDirectClick() {
  if (state.busyFlow) return;
  if (!appId() || !userId()) { setVerdict('bad', 'no-user', 'Pick an app and a user first.'); return; }
  startFlow('Calling my.getPhoneNumber');
  showLoginStep();
  state.busyFlow = true;
  const s = step('my.getPhoneNumber called without the authorisation button');
  s.body.append(el('p', {}, 'No sheet is shown. If the user never authorised the app, Alipay still answers, with 40003 isv.invalid-auth-relations inside the envelope.'));
  try {
    await getPhoneNumber();
  } finally {
    state.busyFlow = false;
    loadJournal();
  }
}

async function getPhoneNumber() {
  const scenario = ui.scenario.value;
  const path = `/jsapi/apps/${enc(appId())}/users/${enc(userId())}/getPhoneNumber${scenario ? `?scenario=${enc(scenario)}` : ''}`;
  const s = step(`my.getPhoneNumber${scenario ? ` (scenario ${scenario})` : ''}`);
  let r;
  try {
    r = await api('POST', path);
  } catch (e) {
    flowFailed(s, e);
    return;
  }
  const callback = r.headers.get('x-alipay-sim-callback') || 'success';
  const requestId = r.headers.get('x-request-id');
  if (callback === 'fail') {
    s.tone('warn');
    s.body.append(el('p', {}, 'The fail callback receives:'), pre(pretty(r.json)));
    setVerdict('warn', 'fail-callback', `my.getPhoneNumber called fail with ${JSON.stringify(r.json)}. There is no envelope, so nothing was sent to the merchant.`);
    return;
  }
  s.tone('good');
  s.body.append(el('p', {}, 'The success callback receives ', el('code', {}, 'res'), ':'), pre(pretty(r.json), 'wrap'));
  const response = r.json ? r.json.response : undefined;
  const opened = await showEnvelope(response);
  const expectation = await expectationFor(requestId, opened);
  const body = typeof response === 'string' ? response : JSON.stringify(response);
  state.last = { body, expectation };
  await sendToMerchant();
}

async function onRunDataClick() {
  if (state.busyFlow) return;
  if (!appId() || !userId()) { setVerdict('bad', 'no-user', 'Pick an app and a user first.'); return; }
  startFlow('Calling my.getRunData');
  state.busyFlow = true;
  try {
    await getRunData();
  } finally {
    state.busyFlow = false;
    loadJournal();
  }
}

async function getRunData() {
  const countDate = ui.countDate.value.trim();
  // The catalogue scenario of Set up is a getPhoneNumber one: it does not apply here.
  const s = step(`my.getRunData(${countDate ? `{countDate: ${JSON.stringify(countDate)}}` : ''})`);
  let r;
  try {
    r = await api('POST', `/jsapi/apps/${enc(appId())}/users/${enc(userId())}/getRunData`, countDate ? { countDate } : {});
  } catch (e) {
    flowFailed(s, e);
    return;
  }
  if ((r.headers.get('x-alipay-sim-callback') || 'success') === 'fail') {
    s.tone('warn');
    s.body.append(el('p', {}, 'The fail callback receives:'), pre(pretty(r.json)));
    setVerdict('warn', 'rundata-fail', `my.getRunData called fail with ${JSON.stringify(r.json)}.`);
    return;
  }
  s.tone('good');
  s.body.append(el('p', {}, 'The success callback receives ', el('code', {}, 'res'), ':'), pre(pretty(r.json), 'wrap'),
    el('p', {}, 'Your backend opens res.response exactly as it opens the phone number envelope: verify, decrypt, check code, then read count.'));
  const opened = await showEnvelope(r.json ? r.json.response : undefined);
  const p = opened.payload;
  if (p && typeof p === 'object' && p.code === '10000' && opened.verified !== false) {
    setVerdict('good', 'rundata', `my.getRunData: ${p.count} steps on ${p.countDate}.`);
  } else if (p && typeof p === 'object' && 'code' in p) {
    setVerdict('warn', 'rundata-error', `my.getRunData: the platform answered code ${p.code}${p.subCode ? ` (${p.subCode})` : ''}${opened.verified === false ? '; the signature does not verify' : ''}.`);
  } else {
    setVerdict('bad', 'rundata-unreadable', `my.getRunData: the page could not open res.response${opened.error ? `: ${opened.error}` : ''}.`);
  }
}

/** Reads, verifies and decrypts the envelope in the page; returns what it learnt. */
async function showEnvelope(response) {
  const s = step('res.response, decoded');
  const env = readEnvelope(response);
  const opened = { env, plaintext: null, payload: null, verified: null, error: null };
  s.body.append(dl(env.fields));
  for (const p of env.problems) s.body.append(el('p', { class: 'error' }, p));
  if (env.payload && env.payload.kind === 'ciphertext') {
    s.body.append(el('h4', {}, 'Ciphertext (AES-CBC, base64)'), pre(env.payload.text, 'wrap'));
  }
  let bundle = null;
  try { bundle = await bundleFor(appId()); } catch (e) { opened.error = `the app's keys could not be loaded: ${e.message}`; }

  if (env.sign && bundle) {
    const signed = env.payload && env.payload.raw;
    try {
      opened.verified = signed ? await verify(signed, env.sign, bundle.alipay_public_key, env.signType || bundle.sign_type || 'RSA2') : false;
      s.body.append(el('p', { class: opened.verified ? 'ok' : 'error' },
        opened.verified
          ? `Signature valid: checked here with the app's Alipay public key (${env.signType || 'RSA2'}) over the raw response token, quotes included.`
          : 'Signature INVALID for this app\'s Alipay public key: a correct merchant must reject this envelope.'));
    } catch (e) {
      opened.verified = false;
      s.body.append(el('p', { class: 'error' }, `Signature not checked: ${e.message}`));
    }
  }

  if (env.payload && env.payload.kind === 'plaintext') {
    opened.payload = env.payload.value;
    opened.plaintext = env.payload.raw;
    s.body.append(el('h4', {}, 'Plaintext (not encrypted on the wire)'), pre(prettyText(env.payload.raw)));
  } else if (env.payload && env.payload.kind === 'ciphertext') {
    if (!bundle || !bundle.aes_key) {
      opened.error = opened.error || 'this app has no AES key configured, so the page cannot decrypt';
    } else {
      try {
        opened.plaintext = await decrypt(env.payload.text, bundle.aes_key);
        try { opened.payload = JSON.parse(opened.plaintext); } catch { opened.error = 'the plaintext is not JSON'; }
      } catch (e) {
        opened.error = e.message;
      }
    }
    if (opened.plaintext !== null) {
      s.body.append(
        el('h4', {}, 'Plaintext, decrypted here because this is a test tool'),
        el('p', { class: 'hint' }, 'Your backend must do this itself: verify sign over the quoted ciphertext, then AES-CBC with a zero IV and the AES key below.'),
        pre(opened.plaintext, 'wrap plaintext'),
      );
    }
  }
  if (opened.error) s.body.append(el('p', { class: 'error' }, `Not decrypted: ${opened.error}`));
  if (opened.payload && typeof opened.payload === 'object') {
    const p = opened.payload;
    const rows = [['code', String(p.code)], ['msg', String(p.msg)]];
    if ('mobile' in p) rows.push(['mobile', p.mobile === '' ? '"" (empty)' : String(p.mobile)]);
    if ('subCode' in p) rows.push(['subCode', String(p.subCode)]);
    if ('subMsg' in p) rows.push(['subMsg', String(p.subMsg)]);
    if ('count' in p) rows.push(['count', `${JSON.stringify(p.count)} (${typeof p.count})`]);
    if ('countDate' in p) rows.push(['countDate', String(p.countDate)]);
    s.body.append(dl(rows));
  }
  s.tone(opened.error || opened.verified === false ? 'warn' : 'good');
  return opened;
}

/** What a correct merchant should answer: the simulator's own expectation from the journal,
 *  with the mobile from the decrypted plaintext. */
async function expectationFor(requestId, opened) {
  const fromPlain = expectationFromPlaintext(opened.payload);
  let entry = null;
  try {
    const all = (await api('GET', '/__admin/journal')).json || [];
    entry = [...all].reverse().find((e) => (requestId && e.request_id === requestId))
      || [...all].reverse().find((e) => e.api === 'getPhoneNumber');
  } catch { /* fall back to the plaintext */ }
  if (!entry || !entry.outcome) return fromPlain;
  const mobile = opened.payload && typeof opened.payload.mobile === 'string' ? opened.payload.mobile : null;
  switch (entry.outcome) {
    case 'accept': return mobile ? { kind: 'mobile', mobile, code: '10000' } : fromPlain;
    case 'no_mobile': return { kind: 'no_mobile', code: '10000' };
    case 'platform_error':
    case 'retry_later': return { kind: 'platform_error', code: String(entry.code || ''), subCode: entry.sub_code || null };
    case 'reject': return { kind: 'reject', canary: mobile };
    default: return fromPlain;
  }
}

function describeExpectation(x) {
  switch (x.kind) {
    case 'mobile': return `accept and return the mobile ${x.mobile}`;
    case 'no_mobile': return 'report that the account has no mobile';
    case 'platform_error': return `report the platform error ${x.code}${x.subCode ? ` (${x.subCode})` : ''}${x.code === '20000' ? ', a "retry later"' : ''}`;
    case 'reject': return 'reject the envelope (it is tampered or forged)';
    default: return 'unknown (the page could not open the envelope)';
  }
}

async function sendToMerchant() {
  const last = state.last;
  if (!last) return;
  const url = ui.merchant.value.trim();
  const s = step('my.request to the merchant');
  s.body.append(el('p', {}, 'A correct merchant should ', el('strong', {}, describeExpectation(last.expectation)), '.'));
  if (!url) {
    s.tone('warn');
    s.body.append(el('p', {}, 'No merchant URL: type your backend\'s URL in Set up, then press Send again.'), againButton());
    setVerdict('warn', 'no-merchant', 'The envelope is ready but there is no merchant URL to send it to.');
    return;
  }
  localStorage.setItem('alipay-sim.merchant', url);
  s.body.append(dl([['POST', url], ['content-type', 'application/json'], ['body', `${last.body.length} characters: res.response, as my.request sends a string`]]));
  let r;
  try {
    r = await api('POST', '/__forward', { url, body: last.body, content_type: 'application/json', headers: {} });
  } catch (e) {
    s.tone('bad');
    const refused = e.json && e.json.error === 'forward_refused';
    const kind = refused ? 'forward-refused' : 'forward-failed';
    s.body.append(
      el('p', { class: 'error', role: 'alert' }, refused ? 'Refused by the simulator\'s forwarding fence: ' : 'Could not reach the merchant: ', e.message),
      againButton(),
    );
    setVerdict('bad', kind, `${refused ? 'Not sent: the forwarding fence refused the target.' : 'Not delivered.'} ${e.message}`);
    return;
  }
  const a = r.json;
  const j = judge(last.expectation, a);
  s.tone(j.tone);
  const rows = [['status', String(a.status)], ['time', `${a.elapsed_ms} ms`]];
  if (a.headers && a.headers['content-type']) rows.push(['content-type', a.headers['content-type']]);
  if (a.headers && a.headers.location) rows.push(['location', `${a.headers.location} (redirects are not followed)`]);
  if (a.truncated) rows.push(['note', 'the answer was longer than 1 MiB and is cut off']);
  s.body.append(el('h4', {}, 'The merchant answered'), dl(rows), pre(prettyText(a.body), 'wrap'),
    el('p', { class: `judgement ${j.tone}` }, j.text), againButton());
  setVerdict(j.tone, j.verdict, j.text);
}

function againButton() {
  const b = el('button', { type: 'button', class: 'btn small again' }, 'Send again to the merchant');
  b.addEventListener('click', async () => {
    // Drop the previous merchant step and send the same envelope again.
    const stepsList = [...ui.steps.children];
    const idx = stepsList.findIndex((li) => li.contains(b));
    for (const li of stepsList.slice(idx)) li.remove();
    setVerdict('info', 'running', 'Sending again…');
    await sendToMerchant();
    const focusable = ui.steps.querySelector('li:last-child .again');
    if (focusable) focusable.focus();
  });
  return b;
}

// ---------------------------------------------------------------------------------------------
// Tester controls

async function loadFaults() {
  try {
    state.faults = (await api('GET', '/__admin/faults')).json;
    ui.busy.setAttribute('aria-pressed', String(state.faults.busy_rate >= 1));
  } catch (e) {
    adminSay(`faults: ${e.message}`, 'bad');
  }
}

async function refreshUsersQuietly() {
  try { await loadUsers(userId()); } catch { /* shown on the next action */ }
}

async function adminAction(label, fn) {
  try {
    await fn();
    adminSay(label, 'good');
  } catch (e) {
    adminSay(`${label} failed: ${e.message}`, 'bad');
  }
  loadJournal();
}

ui.busy.addEventListener('click', () => adminAction(
  ui.busy.getAttribute('aria-pressed') === 'true' ? 'Platform no longer busy' : 'Platform busy: every getPhoneNumber answers 20000',
  async () => {
    const on = ui.busy.getAttribute('aria-pressed') !== 'true';
    const current = (await api('GET', '/__admin/faults')).json;
    state.faults = (await api('PUT', '/__admin/faults', { ...current, busy_rate: on ? 1 : 0 })).json || { ...current, busy_rate: on ? 1 : 0 };
    ui.busy.setAttribute('aria-pressed', String(on));
  },
));

ui.consent.addEventListener('click', () => {
  const u = currentUser();
  if (!u) return;
  adminAction(`${u.user_id} ${u.authorised ? 'no longer authorises' : 'now authorises'} the app`, async () => {
    await api('PATCH', `/__admin/apps/${enc(appId())}/users/${enc(u.user_id)}`, { authorised: !u.authorised });
    await loadUsers(u.user_id);
  });
});

ui.setMobile.addEventListener('click', () => {
  const u = currentUser();
  if (!u) return;
  const m = ui.mobile.value.trim();
  adminAction(`${u.user_id}'s mobile is now ${describeMobile(m)}`, async () => {
    await api('PATCH', `/__admin/apps/${enc(appId())}/users/${enc(u.user_id)}`, { mobile: m });
    await loadUsers(u.user_id);
  });
});
ui.mobile.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); ui.setMobile.click(); } });

ui.reset.addEventListener('click', () => adminAction('Simulator reset to its default state', async () => {
  const keepApp = appId();
  const keepUser = userId();
  await api('POST', '/__admin/reset');
  state.bundles.clear();
  await loadFaults();
  await loadApps(keepApp);
  if (state.users.some((u) => u.user_id === keepUser)) { ui.user.value = keepUser; onUserChange(); }
}));

async function loadJournal() {
  let entries;
  try {
    entries = (await api('GET', '/__admin/journal')).json || [];
  } catch (e) {
    ui.journal.replaceChildren(el('tr', {}, el('td', { colspan: '6' }, `could not load the journal: ${e.message}`)));
    return;
  }
  const rows = entries.slice(-40).reverse().map((e) => el('tr', {},
    el('td', {}, String(e.seq)),
    el('td', {}, e.api || ''),
    el('td', {}, [e.app_id, e.user_id].filter(Boolean).join(' · ') + (e.scenario ? ` · ${e.scenario}` : '')),
    el('td', {}, e.callback || ''),
    el('td', {}, e.outcome || ''),
    el('td', {}, e.code || '')));
  ui.journal.replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: '6', class: 'empty' }, 'No calls yet.'))]));
}

ui.refreshJournal.addEventListener('click', () => loadJournal());
ui.clearJournal.addEventListener('click', () => adminAction('Journal cleared', () => api('DELETE', '/__admin/journal')));

// ---------------------------------------------------------------------------------------------
// Wiring

ui.app.addEventListener('change', () => onAppChange(null).catch((e) => adminSay(e.message, 'bad')));
ui.user.addEventListener('change', onUserChange);
ui.authorize.addEventListener('click', onAuthorizeClick);
ui.authCode.addEventListener('click', onAuthCodeClick);
ui.runData.addEventListener('click', onRunDataClick);
ui.direct.addEventListener('click', onDirectClick);
ui.allow.addEventListener('click', () => answerSheet(true));
ui.deny.addEventListener('click', () => answerSheet(false));
ui.merchant.addEventListener('change', () => localStorage.setItem('alipay-sim.merchant', ui.merchant.value.trim()));

async function init() {
  const q = new URLSearchParams(location.search);
  ui.merchant.value = q.get('merchant') || localStorage.getItem('alipay-sim.merchant') || '';
  if (!window.isSecureContext) {
    adminSay('This page is not in a secure context, so it cannot decrypt envelopes: open it at http://127.0.0.1:<port>/.', 'bad');
  }
  try {
    const h = (await api('GET', '/healthz')).json;
    if (h && h.version) ui.version.textContent = `Version ${h.version}.`;
  } catch { /* the version is decoration */ }
  try {
    await loadScenarios();
    if (q.get('scenario')) ui.scenario.value = q.get('scenario');
    const wantApp = q.get('app') || localStorage.getItem('alipay-sim.app');
    if (q.get('user')) localStorage.setItem('alipay-sim.user', q.get('user'));
    await loadApps(wantApp);
    await loadFaults();
    await loadJournal();
    document.body.dataset.ready = 'true';
  } catch (e) {
    setVerdict('bad', 'simulator-error', `The simulator's admin API did not answer: ${e.message}`);
    document.body.dataset.ready = 'error';
  }
}

init();
