// Starting `alipay-sim serve` and `alipay-harness merchant` for a test, and talking to the
// simulator's admin API.

import { spawn } from 'node:child_process';

/** A server process that could not be started, or an admin call the simulator refused. */
export class ProcessError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ProcessError';
  }
}

const LISTENING = /^listening on (http:\/\/\S+)\s*$/;
const live = new Set();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Spawns `bin args...` and waits for `listening on http://ADDR` as its first stdout line.
 *
 * @param {string} bin the executable
 * @param {string[]} args its arguments
 * @param {{what: string, hint: string, timeoutMs?: number, env?: NodeJS.ProcessEnv}} opts
 * @returns {Promise<{url: string, child: import('node:child_process').ChildProcess, stderr: () => string}>}
 */
export function spawnListening(bin, args, { what, hint, timeoutMs = 15000, env = process.env }) {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let done = false;
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    live.add(child);
    const fail = (message) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      const tail = stderr.trim().split('\n').slice(-5).join('\n');
      reject(new ProcessError(`${what}: ${message}${tail ? `\n${tail}` : ''}`));
    };
    const timer = setTimeout(() => fail(`no "listening on" line within ${timeoutMs} ms`), timeoutMs);
    child.on('error', (e) => fail(e.code === 'ENOENT' ? `${bin} not found. ${hint}` : `cannot start ${bin}: ${e.message}`));
    child.on('exit', (code, signal) => {
      live.delete(child);
      fail(`${bin} exited (${signal ?? `code ${code}`}) before it was listening`);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-16384);
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      if (done) return;
      stdout += chunk;
      const nl = stdout.indexOf('\n');
      if (nl < 0) return;
      const first = stdout.slice(0, nl);
      const m = LISTENING.exec(first);
      if (!m) return fail(`expected "listening on http://ADDR" as the first stdout line, got ${JSON.stringify(first)}`);
      done = true;
      clearTimeout(timer);
      child.stdout.resume();
      resolve({ url: m[1].replace(/\/$/, ''), child, stderr: () => stderr });
    });
  });
}

/**
 * Stops a child process: SIGTERM, then SIGKILL after 5 s.
 *
 * @param {import('node:child_process').ChildProcess} child
 * @returns {Promise<void>} once it has exited
 */
export function stopChild(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      live.delete(child);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A running `alipay-sim serve` (started by {@link startSimulator} or reached by URL). */
export class Simulator {
  /**
   * @param {string} url the server's base URL, e.g. `http://127.0.0.1:8780`
   * @param {import('node:child_process').ChildProcess} [child] the process, when we started it
   */
  constructor(url, child) {
    this.url = String(url).replace(/\/$/, '');
    this.child = child;
  }

  /**
   * Calls the admin API (or any route) and returns the parsed JSON answer.
   *
   * @param {string} method HTTP method
   * @param {string} path e.g. `/__admin/faults`
   * @param {unknown} [body] sent as JSON
   * @returns {Promise<any>} the answer's JSON (null for an empty answer)
   * @throws {ProcessError} on a non-2xx answer, with the simulator's error message
   */
  async admin(method, path, body) {
    const resp = await fetch(`${this.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await resp.text();
    if (!resp.ok) throw new ProcessError(`alipay-sim answered ${resp.status} to ${method} ${path}: ${text}`);
    return text === '' ? null : JSON.parse(text);
  }

  /** Back to the default state: apps, users, faults, journal and seed. */
  async reset() {
    await this.admin('POST', '/__admin/reset');
    await this.admin('DELETE', '/__admin/faults');
  }

  /**
   * Replaces the fault settings (`busy_rate: 1` makes every getPhoneNumber a 20000).
   *
   * @param {{busy_rate?: number, fail_rate?: number, drop_rate?: number, latency_ms?: number}} faults
   */
  setFaults(faults) {
    return this.admin('PUT', '/__admin/faults', faults);
  }

  /**
   * Merges fields into a user (`{mobile: ""}` for no bound phone, `{authorised: false}`).
   *
   * @param {string} app app id
   * @param {string} user user id
   * @param {{mobile?: string|null, authorised?: boolean}} patch
   */
  patchUser(app, user, patch) {
    return this.admin('PATCH', `/__admin/apps/${encodeURIComponent(app)}/users/${encodeURIComponent(user)}`, patch);
  }

  /**
   * Merges fields into an app (`{login: {scopes: ["auth_base"]}}`: the app may no longer ask for
   * `auth_user`).
   *
   * @param {string} app app id
   * @param {object} patch as `PATCH /__admin/apps/{app}` takes it
   */
  patchApp(app, patch) {
    return this.admin('PATCH', `/__admin/apps/${encodeURIComponent(app)}`, patch);
  }

  /** The journal of JSAPI calls the simulator answered. */
  journal() {
    return this.admin('GET', '/__admin/journal');
  }

  /** Stops the process if we started it. */
  async stop() {
    if (this.child) await stopChild(this.child);
  }
}

/**
 * Starts `alipay-sim serve --addr 127.0.0.1:0` and waits until it listens.
 *
 * @param {{bin?: string, args?: string[], timeoutMs?: number}} [opts] `bin` defaults to env
 *   `ALIPAY_SIM`, then `SIM_BIN`, then `alipay-sim` on the PATH; `args` are added after `serve`
 * @returns {Promise<Simulator>}
 */
export async function startSimulator({ bin, args = [], timeoutMs } = {}) {
  const exe = bin || process.env.ALIPAY_SIM || process.env.SIM_BIN || 'alipay-sim';
  const { url, child } = await spawnListening(exe, ['serve', '--addr', '127.0.0.1:0', ...args], {
    what: 'alipay-sim serve',
    hint: 'Build it with `cargo build -p alipay-sim` and set ALIPAY_SIM=target/debug/alipay-sim.',
    timeoutMs,
  });
  return new Simulator(url, child);
}

/**
 * Starts the reference merchant `alipay-harness merchant --addr 127.0.0.1:0` (or, with `broken`,
 * one of its deliberately broken variants). It accepts the envelope on any path.
 *
 * @param {{bin?: string, broken?: string, args?: string[], timeoutMs?: number}} [opts] `bin`
 *   defaults to env `ALIPAY_HARNESS`, then `alipay-harness` on the PATH
 * @returns {Promise<{url: string, stop: () => Promise<void>}>}
 */
export async function startMerchant({ bin, broken, args = [], timeoutMs } = {}) {
  const exe = bin || process.env.ALIPAY_HARNESS || 'alipay-harness';
  const extra = broken ? ['--broken', broken] : [];
  const { url, child } = await spawnListening(exe, ['merchant', '--addr', '127.0.0.1:0', ...extra, ...args], {
    what: `alipay-harness merchant${broken ? ` --broken ${broken}` : ''}`,
    hint: 'Build it with `cargo build -p alipay-harness` and set ALIPAY_HARNESS=target/debug/alipay-harness.',
    timeoutMs,
  });
  return { url, stop: () => stopChild(child) };
}
