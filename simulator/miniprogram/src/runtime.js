// The `my` runtime: runs a mini-program page's own .js (which calls the global `Page({...})`) in a
// node:vm context that provides Page, my, getApp and getCurrentPages, backed by a running
// `alipay-sim serve`, and records everything the page did.

import fs from 'node:fs';
import vm from 'node:vm';
import { findAuthorizeButtons } from './axml.js';
import { buildRequest, sendRequest, RequestFailure } from './request.js';
import { Simulator } from './processes.js';

/** A mistake in how the runtime is used or configured, or a page that cannot be loaded. */
export class RuntimeError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'RuntimeError';
  }
}

/** An exception thrown by the page's own code (a lifecycle method, an event handler or a callback). */
export class PageError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'PageError';
  }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Checks the URL map: keys are URLs (or URL prefixes) the page requests, values are loopback URLs
 * of the servers that answer them.
 *
 * @param {Record<string,string>|undefined} urls
 * @returns {Array<[URL,string]>} the longest path first
 */
function checkUrlMap(urls) {
  if (urls === undefined) return [];
  if (urls === null || typeof urls !== 'object') throw new RuntimeError('urls must be an object {"https://page-url": "http://127.0.0.1:PORT/path"}');
  const entries = [];
  for (const [from, to] of Object.entries(urls)) {
    let key;
    try {
      key = new URL(from);
    } catch {
      throw new RuntimeError(`urls: the key ${JSON.stringify(from)} is not a URL`);
    }
    if (key.search || key.hash) throw new RuntimeError(`urls: the key ${JSON.stringify(from)} must not have a query or fragment`);
    let target;
    try {
      target = new URL(to);
    } catch {
      throw new RuntimeError(`urls[${JSON.stringify(from)}]: ${JSON.stringify(to)} is not a URL`);
    }
    if (!['http:', 'https:'].includes(target.protocol) || !LOOPBACK.has(target.hostname)) {
      throw new RuntimeError(`urls[${JSON.stringify(from)}]: ${JSON.stringify(to)} is not a loopback http(s) URL (127.0.0.1, localhost or [::1])`);
    }
    entries.push([key, String(to)]);
  }
  return entries.sort((a, b) => b[0].pathname.length - a[0].pathname.length);
}

/**
 * Where a page's request really goes. A key matches a URL with the same origin whose path is the
 * key's path or lies under it; the matched part is replaced by the target and the rest of the
 * path and the query are kept. An unmapped loopback URL goes as it is.
 *
 * @returns {string|null} null when the URL is neither mapped nor loopback
 */
function mapUrl(entries, url) {
  const u = new URL(url);
  for (const [from, to] of entries) {
    if (u.origin !== from.origin) continue;
    const fp = from.pathname;
    const up = u.pathname;
    let rest;
    if (up === fp) rest = '';
    else if (fp.endsWith('/') && up.startsWith(fp)) rest = up.slice(fp.length);
    else if (up.startsWith(`${fp}/`)) rest = up.slice(fp.length + 1);
    else continue;
    const t = new URL(to);
    if (rest) t.pathname = `${t.pathname.replace(/\/$/, '')}/${rest}`;
    if (u.search) t.search = t.search ? `${t.search}&${u.search.slice(1)}` : u.search;
    t.hash = '';
    return t.href;
  }
  return ['http:', 'https:'].includes(u.protocol) && LOOPBACK.has(u.hostname) ? url : null;
}

/** Deep-copies plain data into this realm (functions dropped), so tests compare it with deepEqual. */
function plain(value) {
  if (value === undefined || typeof value === 'function') return undefined;
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return value;
  return value === null || typeof value !== 'object' ? value : JSON.parse(JSON.stringify(value));
}

function withoutCallbacks(args) {
  const out = {};
  for (const [k, v] of Object.entries(args ?? {})) {
    if (typeof v !== 'function') out[k] = plain(v);
  }
  return out;
}

/**
 * The runtime for one simulated phone: one app, one user, one page at a time.
 *
 * Create it with {@link createRuntime}. Everything the page does is recorded in arrays that a test
 * reads after {@link Runtime#settled}: `calls` (every my.* call, its arguments and which callback
 * ran with what), `requests` (what my.request sent, to where, and the answer), `alerts`
 * (`{title, content, buttonText}` as the phone shows them), `events` (button events dispatched
 * to the page), `logs` (the page's console output) and `errors` (exceptions from page code).
 */
export class Runtime {
  constructor(options = {}) {
    const known = ['simulator', 'app', 'user', 'scenario', 'runDataScenario', 'consent', 'urls', 'globalData', 'settleTimeoutMs'];
    for (const key of Object.keys(options)) {
      if (!known.includes(key)) throw new RuntimeError(`createRuntime: unknown option ${JSON.stringify(key)} (known: ${known.join(', ')})`);
    }
    const sim = options.simulator;
    if (sim instanceof Simulator) this.simulator = sim;
    else if (typeof sim === 'string' && sim !== '') this.simulator = new Simulator(sim);
    else throw new RuntimeError('createRuntime: `simulator` is required: the URL of a running alipay-sim serve, or the object startSimulator() returned');
    for (const key of ['app', 'user']) {
      if (options[key] !== undefined && (typeof options[key] !== 'string' || options[key] === '')) {
        throw new RuntimeError(`createRuntime: \`${key}\` must be a non-empty string`);
      }
    }
    if (options.scenario !== undefined && (typeof options.scenario !== 'string' || options.scenario === '')) {
      throw new RuntimeError('createRuntime: `scenario` must be a catalogue id such as "platform.error.40003-invalid-auth-relations"');
    }
    if (options.runDataScenario !== undefined && (typeof options.runDataScenario !== 'string' || options.runDataScenario === '')) {
      throw new RuntimeError('createRuntime: `runDataScenario` must be a catalogue id such as "rundata.error.40006-insufficient-permissions"');
    }
    if (options.consent !== undefined && typeof options.consent !== 'boolean') {
      throw new RuntimeError('createRuntime: `consent` must be true (the user taps 允许) or false (拒绝)');
    }
    this.app = options.app ?? 'demo';
    this.user = options.user ?? 'alice';
    this.scenario = options.scenario;
    this.runDataScenario = options.runDataScenario;
    this.consent = options.consent ?? true;
    this.urlMap = checkUrlMap(options.urls);
    this.globalData = options.globalData ?? {};
    this.settleTimeoutMs = options.settleTimeoutMs ?? 10000;

    this.calls = [];
    this.requests = [];
    this.alerts = [];
    this.events = [];
    this.logs = [];
    this.errors = [];
    this.pages = [];

    this._pending = new Map();
    this._nextOp = 1;
    this._waiters = [];
    this.my = this._makeMy();
  }

  // -------------------------------------------------------------------------------------------
  // Bookkeeping: every asynchronous piece of work is an "operation"; the page has settled when
  // none is left after the callbacks of the last one ran.

  _begin(description) {
    const id = this._nextOp++;
    this._pending.set(id, description);
    return id;
  }

  _end(id) {
    this._pending.delete(id);
    if (this._pending.size === 0) {
      setImmediate(() => {
        if (this._pending.size !== 0) return;
        const waiters = this._waiters.splice(0);
        for (const w of waiters) w();
      });
    }
  }

  /**
   * Runs page code, recording (not propagating) what it throws. When it returns a promise (an
   * `async` method), the page is busy until that promise settles, and a rejection is recorded too.
   */
  _runPage(where, fn) {
    let result;
    try {
      result = fn();
    } catch (e) {
      this._recordError(new PageError(`page code threw in ${where}: ${e?.stack ?? e}`, { cause: e }));
      return undefined;
    }
    if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
      const op = this._begin(`the promise returned by ${where}`);
      Promise.resolve(result)
        .catch((e) => {
          this._recordError(new PageError(`page code rejected in ${where}: ${e?.stack ?? safeJson(e)}`, { cause: e }));
        })
        .finally(() => this._end(op));
    }
    return result;
  }

  /** Records an error; whoever waits in settled() hears of it at once. */
  _recordError(error) {
    this.errors.push(error);
    const waiters = this._waiters.splice(0);
    for (const w of waiters) w();
  }

  /**
   * Waits until the page has nothing in flight: no my.* call unanswered, no callback to run, no
   * timer pending, no promise returned by an async page method unsettled.
   *
   * @returns {Promise<void>}
   * @throws {PageError|RuntimeError} as soon as there is one: the first exception page code threw,
   *   or the first call the simulator refused (unknown app or user, say); a page that is still
   *   busy after `settleTimeoutMs` (default 10 s) names what it is waiting for
   */
  settled() {
    const check = () => {
      if (this.errors.length > 0) {
        throw this.errors[0];
      }
    };
    return new Promise((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        try {
          check();
          resolve();
        } catch (e) {
          reject(e);
        }
      };
      const timer = setTimeout(() => {
        const i = this._waiters.indexOf(finish);
        if (i >= 0) this._waiters.splice(i, 1);
        const waiting = [...this._pending.values()].join('; ');
        reject(new RuntimeError(`the page did not settle within ${this.settleTimeoutMs} ms; still waiting for: ${waiting}`));
      }, this.settleTimeoutMs);
      this._waiters.push(finish);
      if (this.errors.length > 0) {
        this._waiters.splice(this._waiters.indexOf(finish), 1);
        finish();
      } else if (this._pending.size === 0) {
        const id = this._begin('settling');
        setImmediate(() => this._end(id));
      }
    });
  }

  // -------------------------------------------------------------------------------------------
  // Talking to the simulator

  _jsapiPath(name) {
    return `/jsapi/apps/${encodeURIComponent(this.app)}/users/${encodeURIComponent(this.user)}/${name}`;
  }

  async _jsapi(method, name, body, query = '') {
    const path = this._jsapiPath(name) + query;
    let resp;
    try {
      resp = await fetch(`${this.simulator.url}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new RuntimeError(
        `no answer from alipay-sim at ${this.simulator.url} to ${method} ${path}: ${e?.cause?.code || e?.cause?.message || e?.message || e} ` +
          '(is it running? a drop_rate fault also closes connections without an answer)',
      );
    }
    const text = await resp.text();
    if (resp.status !== 200) {
      let detail = text;
      try {
        const j = JSON.parse(text);
        detail = `${j.error}: ${j.message}`;
      } catch {
        /* not JSON: keep the text */
      }
      throw new RuntimeError(`alipay-sim answered ${resp.status} to ${method} ${path}: ${detail}`);
    }
    try {
      return { json: JSON.parse(text), headers: resp.headers };
    } catch {
      throw new RuntimeError(`alipay-sim answered ${method} ${path} with something that is not JSON: ${text.slice(0, 200)}`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // my.*

  _makeMy() {
    const rt = this;
    /**
     * Runs an asynchronous JSAPI the way the platform does: `success` or `fail`, then `complete`,
     * all called asynchronously; without any callback the call returns a Promise instead.
     */
    function jsapi(api, args, work) {
      const a = args ?? {};
      const callbacks = ['success', 'fail', 'complete'].filter((k) => typeof a[k] === 'function');
      const record = { api, args: withoutCallbacks(a), callback: null, res: undefined };
      rt.calls.push(record);
      const op = rt._begin(`my.${api}`);
      let settle;
      const promise = callbacks.length === 0 ? new Promise((res, rej) => (settle = { res, rej })) : null;
      Promise.resolve()
        .then(work)
        .then(
          (res) => ({ ok: true, res }),
          (e) => {
            if (e instanceof RequestFailure || e?.jsapiFail) return { ok: false, res: e.res };
            throw e;
          },
        )
        .then(
          ({ ok, res }) => {
            record.callback = ok ? 'success' : 'fail';
            record.res = plain(res);
            const cb = ok ? 'success' : 'fail';
            if (typeof a[cb] === 'function') rt._runPage(`my.${api} ${cb} callback`, () => a[cb](res));
            if (typeof a.complete === 'function') rt._runPage(`my.${api} complete callback`, () => a.complete(res));
            if (settle) (ok ? settle.res : settle.rej)(res);
          },
          (e) => {
            record.callback = 'none';
            record.error = e?.message ?? String(e);
            const error = e instanceof RuntimeError ? e : new RuntimeError(`my.${api}: ${e?.message ?? e}`, { cause: e });
            rt._recordError(error);
            // A promise-style caller must not wait forever: it gets the same error (already
            // reported by settled(), so a caller that ignores the promise raises nothing more).
            if (settle) {
              promise.catch(() => {});
              settle.rej(error);
            }
          },
        )
        .finally(() => rt._end(op));
      return promise ?? undefined;
    }

    const fail = (res) => Object.assign(new Error(res.errorMessage), { jsapiFail: true, res });

    const my = {
      /** my.getPhoneNumber: the simulator's success-callback object, or its fail-callback object. */
      getPhoneNumber(args) {
        return jsapi('getPhoneNumber', args, async () => {
          const body = args?.protocols !== undefined ? { protocols: plain(args.protocols) } : {};
          const query = rt.scenario ? `?scenario=${encodeURIComponent(rt.scenario)}` : '';
          const { json, headers } = await rt._jsapi('POST', 'getPhoneNumber', body, query);
          if (headers.get('x-alipay-sim-callback') === 'fail') throw fail(json);
          return json;
        });
      },
      /**
       * my.getAuthCode: `scopes` (`'auth_base'`, `'auth_user'` or an array; default `auth_base`).
       * Success: `{authCode, authErrorScopes, authSuccessScopes}`; fail: `{error, errorMessage}`
       * (3 a wrong scope, 4 no scope the app may ask for, 11 the user refused the `auth_user`
       * sheet). The sheet is answered with the runtime's `consent` (`runtime.consent = false`
       * before the call refuses it); `auth_base` shows no sheet.
       */
      getAuthCode(args) {
        return jsapi('getAuthCode', args, async () => {
          const body = { consent: rt.consent };
          if (args?.scopes !== undefined) body.scopes = plain(args.scopes);
          const { json, headers } = await rt._jsapi('POST', 'getAuthCode', body);
          if (headers.get('x-alipay-sim-callback') === 'fail') throw fail(json);
          return json;
        });
      },
      /**
       * my.getRunData: `countDate` (`yyyy-mm-dd`; default today in China) and `protocols`
       * (`timeZone`, which an older version of the document lists, is accepted and not sent on).
       * Success: `{response}`, the sealed envelope string as for my.getPhoneNumber (its
       * plaintext `{count, countDate, code, msg}`), or an Object for "encryption failed"; fail:
       * `{error, errorMessage}` (2 for a countDate that is not a day).
       */
      getRunData(args) {
        return jsapi('getRunData', args, async () => {
          const body = {};
          if (args?.countDate !== undefined) body.countDate = plain(args.countDate);
          if (args?.protocols !== undefined) body.protocols = plain(args.protocols);
          const query = rt.runDataScenario ? `?scenario=${encodeURIComponent(rt.runDataScenario)}` : '';
          const { json, headers } = await rt._jsapi('POST', 'getRunData', body, query);
          if (headers.get('x-alipay-sim-callback') === 'fail') throw fail(json);
          return json;
        });
      },
      /** my.getSetting: `{authSetting: {phoneNumber}}` for the simulated user. */
      getSetting(args) {
        return jsapi('getSetting', args, async () => (await rt._jsapi('GET', 'getSetting')).json);
      },
      /** my.request: see request.js. Returns a RequestTask (abort(); then/catch without callbacks). */
      request(args) {
        const a = args ?? {};
        const controller = new AbortController();
        const entry = { method: undefined, url: a.url, target: undefined, headers: undefined, body: undefined };
        const promise = jsapi('request', a, async () => {
          const req = buildRequest(a);
          Object.assign(entry, { method: req.method, url: req.url, headers: { ...req.headers }, body: bodyText(req.body) });
          rt.requests.push(entry);
          const target = mapUrl(rt.urlMap, req.url);
          if (target === null) {
            entry.error = 11;
            throw new RequestFailure(
              11,
              `request:fail ${req.url} is not mapped to a local server: pass createRuntime({urls: {${JSON.stringify(new URL(req.url).origin)}: "http://127.0.0.1:PORT"}})`,
            );
          }
          entry.target = target;
          try {
            const res = await sendRequest({ ...req, url: target }, controller.signal);
            entry.status = res.status;
            entry.response = plain(res.data);
            return res;
          } catch (e) {
            if (e instanceof RequestFailure) {
              entry.status = e.res.status;
              entry.error = e.res.error;
              entry.response = plain(e.res.data);
            }
            throw e;
          }
        });
        const task = { abort: () => controller.abort() };
        if (promise) {
          task.then = (f, r) => promise.then(f, r);
          task.catch = (r) => promise.catch(r);
          task.finally = (f) => promise.finally(f);
        }
        return task;
      },
      /** my.alert: recorded as the phone shows it; the user taps the button at once. */
      alert(args) {
        const a = args ?? {};
        rt.alerts.push({ title: a.title === undefined ? '' : String(a.title), content: a.content === undefined ? '' : String(a.content), buttonText: a.buttonText === undefined ? '确定' : String(a.buttonText) });
        return jsapi('alert', a, async () => ({}));
      },
    };
    return my;
  }

  // -------------------------------------------------------------------------------------------
  // Pages

  /**
   * Loads a page: runs its `.js` (the `Page({...})` call) in a fresh context, reads the getAuthorize
   * button's handler names from its `.axml`, then calls onLoad(query), onShow() and onReady().
   *
   * @param {string|{js: string, axml?: string, query?: Record<string,string>}} spec the page's path
   *   without extension (`pages/index/index` reads index.js and index.axml), or the two files
   * @returns {Promise<LoadedPage>} once the page has settled after its lifecycle methods
   */
  async loadPage(spec) {
    const s = typeof spec === 'string' ? { js: `${spec}.js`, axml: `${spec}.axml` } : spec;
    if (!s || typeof s.js !== 'string') throw new RuntimeError('loadPage: give the page path without extension, or {js, axml}');
    const jsText = readText(s.js, 'the page script');
    const axmlText = s.axml === undefined ? null : readText(s.axml, 'the page template');
    const buttons = axmlText === null ? [] : findAuthorizeButtons(axmlText, s.axml);

    let options = null;
    let pageCalls = 0;
    const rt = this;
    const timers = new Map();
    const sandbox = {
      my: this.my,
      Page(o) {
        pageCalls += 1;
        options = o;
      },
      getApp: () => ({ globalData: rt.globalData }),
      getCurrentPages: () => rt.pages.map((p) => p.instance),
      console: makeConsole(this.logs),
      setTimeout: (fn, ms, ...rest) => {
        const op = rt._begin(`setTimeout(${ms ?? 0})`);
        const handle = setTimeout(() => {
          timers.delete(handle);
          rt._runPage('a setTimeout callback', () => fn(...rest));
          rt._end(op);
        }, ms);
        // A page's timer does not keep the test process alive; settled() waits for it.
        handle.unref?.();
        timers.set(handle, op);
        return handle;
      },
      clearTimeout: (handle) => {
        clearTimeout(handle);
        if (timers.has(handle)) {
          rt._end(timers.get(handle));
          timers.delete(handle);
        }
      },
      // An interval never ends, so the page does not wait for it to settle.
      setInterval: (fn, ms, ...rest) => {
        const handle = setInterval(() => rt._runPage('a setInterval callback', () => fn(...rest)), ms);
        handle.unref?.();
        return handle;
      },
      clearInterval: (handle) => clearInterval(handle),
    };
    const context = vm.createContext(sandbox, { name: s.js });
    try {
      new vm.Script(jsText, { filename: s.js }).runInContext(context);
    } catch (e) {
      throw new RuntimeError(`${s.js}: the page script failed to run: ${e?.stack ?? e}`, { cause: e });
    }
    if (pageCalls !== 1) throw new RuntimeError(`${s.js}: the page script must call Page({...}) exactly once; it called it ${pageCalls} times`);
    if (options === null || typeof options !== 'object') throw new RuntimeError(`${s.js}: Page() must be given an object`);

    const page = new LoadedPage(this, options, buttons, s);
    for (const b of buttons) {
      for (const [event, method] of Object.entries(b.handlers)) {
        if (typeof page.instance[method] !== 'function') {
          const methods = Object.keys(page.instance).filter((k) => typeof page.instance[k] === 'function' && k !== 'setData');
          throw new RuntimeError(`${s.axml}:${b.line}: ${event}="${method}" names no method of the Page object in ${s.js} (its methods: ${methods.join(', ') || 'none'})`);
        }
      }
    }
    this.pages.push(page);
    for (const [hook, args] of [['onLoad', [s.query ?? {}]], ['onShow', []], ['onReady', []]]) {
      if (typeof page.instance[hook] === 'function') this._runPage(hook, () => page.instance[hook](...args));
    }
    await this.settled();
    return page;
  }
}

/** A loaded page: its instance (`this` of its methods), its data and its button. */
export class LoadedPage {
  constructor(runtime, options, buttons, files) {
    this.runtime = runtime;
    this.buttons = buttons;
    this.files = files;
    const instance = {};
    for (const [k, v] of Object.entries(options)) {
      if (k !== 'data') instance[k] = v;
    }
    instance.data = plain(options.data ?? {});
    instance.setData = (patch, callback) => {
      for (const [path, value] of Object.entries(patch ?? {})) setPath(instance.data, path, value);
      if (typeof callback === 'function') runtime._runPage('a setData callback', () => callback.call(instance));
    };
    this.instance = instance;
  }

  /** A copy of the page's current `data` (plain objects of this realm, for deepEqual). */
  get data() {
    return plain(this.instance.data);
  }

  /**
   * The user taps the `<button open-type="getAuthorize" scope="phoneNumber">` and answers the
   * authorisation sheet: the simulator records the consent and says which event fires
   * (`onGetAuthorize` or `onError` with `{type: "getAuthorize", errorMessage}`); the runtime
   * calls the method the `.axml` names for it, then waits until the page has settled.
   *
   * @param {{consent?: boolean, index?: number}} [opts] `consent` defaults to the runtime's;
   *   `index` picks a button when the template has more than one
   * @returns {Promise<{event: string, handler: string|null}>} the event and the method it called
   */
  async pressAuthorizeButton({ consent, index } = {}) {
    const rt = this.runtime;
    if (this.buttons.length === 0) {
      throw new RuntimeError(`${this.files.axml ?? '(no .axml given)'}: no <button open-type="getAuthorize" scope="phoneNumber"> to press`);
    }
    if (index === undefined && this.buttons.length > 1) {
      throw new RuntimeError(`${this.files.axml}: ${this.buttons.length} getAuthorize buttons (lines ${this.buttons.map((b) => b.line).join(', ')}): pass {index}`);
    }
    const button = this.buttons[index ?? 0];
    if (!button) throw new RuntimeError(`${this.files.axml}: no getAuthorize button number ${index}`);
    const answer = consent ?? rt.consent;
    if (typeof answer !== 'boolean') throw new RuntimeError('pressAuthorizeButton: `consent` must be true or false');
    const op = rt._begin('the authorisation sheet');
    let result;
    try {
      const { json } = await rt._jsapi('POST', 'authorize', { scope: 'phoneNumber', consent: answer });
      const event = json.callback;
      const handler = button.handlers[event] ?? null;
      const target = { id: button.id, tagName: 'button', dataset: { ...button.dataset } };
      const e = { type: event === 'onGetAuthorize' ? 'getAuthorize' : 'error', timeStamp: Date.now(), target, currentTarget: target, detail: json.detail };
      rt.events.push({ event, handler, detail: plain(json.detail) });
      if (handler) rt._runPage(`${handler} (${event})`, () => this.instance[handler](e));
      result = { event, handler };
    } catch (e) {
      rt._recordError(e);
    } finally {
      rt._end(op);
    }
    await rt.settled();
    return result;
  }

  /**
   * Calls one of the page's methods (as a tap on a plain button would) and waits until it settled.
   *
   * @param {string} method the method's name
   * @param {...unknown} args its arguments
   */
  async call(method, ...args) {
    if (typeof this.instance[method] !== 'function') throw new RuntimeError(`the page has no method ${JSON.stringify(method)}`);
    this.runtime._runPage(method, () => this.instance[method](...args));
    await this.runtime.settled();
  }
}

function setPath(obj, path, value) {
  const keys = path.replace(/\[(\d+)\]/g, '.$1').split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (o[k] === null || typeof o[k] !== 'object') o[k] = {};
    o = o[k];
  }
  o[keys[keys.length - 1]] = value;
}

function bodyText(body) {
  if (body === undefined) return undefined;
  return typeof body === 'string' ? body : Buffer.from(body).toString('base64');
}

function readText(file, what) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new RuntimeError(`cannot read ${what} ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
}

function makeConsole(logs) {
  const out = {};
  for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
    out[level] = (...args) => logs.push({ level, text: args.map((a) => (typeof a === 'string' ? a : safeJson(a))).join(' ') });
  }
  return out;
}

function safeJson(v) {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * Creates a runtime for one simulated phone.
 *
 * @param {{simulator: string|Simulator, app?: string, user?: string, scenario?: string,
 *   runDataScenario?: string, consent?: boolean, urls?: Record<string,string>, globalData?: object,
 *   settleTimeoutMs?: number}} options
 *   `app` (default `demo`) and `user` (default `alice`) of the simulator; `scenario` forces a
 *   catalogue scenario on every my.getPhoneNumber, `runDataScenario` one (`rundata.*`) on every
 *   my.getRunData; `consent` is the user's answer on the authorisation sheets (default true);
 *   `urls` maps URLs the page requests to local servers
 * @returns {Runtime}
 */
export function createRuntime(options) {
  return new Runtime(options);
}
