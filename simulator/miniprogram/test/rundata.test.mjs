// my.getRunData in the runtime: the success object holds the sealed envelope string (opened here
// with the app's TEST AES key to check the step count), a countDate that is not a day is the fail
// callback {error: 2}, and runDataScenario forces a catalogue case.

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSimulator, createRuntime, RuntimeError } from '../src/index.js';

let sim;
let bundle;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alipay-sim-rundata-'));

before(async () => {
  sim = await startSimulator();
  bundle = await sim.admin('GET', '/__admin/apps/demo/bundle');
});
after(async () => {
  await sim?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await sim.reset();
});

/** Verifies nothing, only opens: AES-128-CBC, zero IV, PKCS#7, as a merchant does after verifying. */
function open(envelope) {
  const { response } = JSON.parse(envelope);
  const d = crypto.createDecipheriv('aes-128-cbc', Buffer.from(bundle.aes_key, 'base64'), Buffer.alloc(16));
  return JSON.parse(Buffer.concat([d.update(Buffer.from(response, 'base64')), d.final()]).toString('utf8'));
}

let n = 0;
function runPage(args) {
  const base = path.join(dir, `run${++n}`);
  fs.writeFileSync(
    `${base}.js`,
    `Page({
      onLoad() {
        my.getRunData(Object.assign(${args}, {
          success: (res) => this.setData({ ok: res }),
          fail: (res) => this.setData({ failed: res }),
        }));
      },
    });`,
  );
  return { js: `${base}.js` };
}

test('a day\'s steps: the success object is {response: "<envelope>"}, its plaintext the count of that day', async () => {
  await sim.patchUser('demo', 'alice', { steps: 12345 });
  const rt = createRuntime({ simulator: sim });
  // timeZone as in the document's older sample: accepted (and not sent on: the simulator has no time zones).
  const page = await rt.loadPage(runPage("{ countDate: '2024-05-01', timeZone: 'Asia/Shanghai' }"));
  assert.equal(page.data.failed, undefined);
  assert.deepEqual(Object.keys(page.data.ok), ['response']);
  assert.equal(typeof page.data.ok.response, 'string');
  const plain = open(page.data.ok.response);
  assert.equal(plain.count, 12345);
  assert.equal(plain.countDate, '2024-05-01');
  assert.equal(plain.code, '10000');
  assert.deepEqual(rt.calls.map((c) => [c.api, c.callback, c.args]), [['getRunData', 'success', { countDate: '2024-05-01', timeZone: 'Asia/Shanghai' }]]);
  assert.equal((await sim.journal()).filter((e) => e.api === 'getRunData').length, 1);
});

test('a countDate that is not a day: the fail callback with error 2', async () => {
  const rt = createRuntime({ simulator: sim });
  const page = await rt.loadPage(runPage("{ countDate: '2024-02-30' }"));
  assert.equal(page.data.ok, undefined);
  assert.equal(page.data.failed.error, 2);
  assert.equal(rt.calls[0].callback, 'fail');
});

test('runDataScenario forces a catalogue case; a bad one is refused when the runtime is made', async () => {
  const rt = createRuntime({ simulator: sim, runDataScenario: 'rundata.error.40006-insufficient-permissions' });
  const page = await rt.loadPage(runPage('{}'));
  assert.equal(open(page.data.ok.response).code, '40006');
  assert.throws(() => createRuntime({ simulator: sim, runDataScenario: 7 }), RuntimeError);
});
