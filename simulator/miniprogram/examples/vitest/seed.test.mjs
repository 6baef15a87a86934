// Example: the document's sample page under Vitest (`vitest run`).
// Needs env ALIPAY_SIM and ALIPAY_HARNESS (paths to the built binaries), or both on the PATH.
import { fileURLToPath } from 'node:url';
import { test, expect, beforeAll, afterAll } from 'vitest';
import { startSimulator, startMerchant, createRuntime } from 'alipay-sim-miniprogram';

// Your page: pages/phone/index reads pages/phone/index.js and pages/phone/index.axml.
const PAGE = fileURLToPath(new URL('../../test/fixtures/seed/index', import.meta.url));

let sim;
let merchant;
beforeAll(async () => {
  sim = await startSimulator(); // alipay-sim serve --addr 127.0.0.1:0
  merchant = await startMerchant(); // alipay-harness merchant: stands in for your back end
});
afterAll(async () => {
  await sim?.stop();
  await merchant?.stop();
});

test('the user allows and sees their phone number', async () => {
  const runtime = createRuntime({
    simulator: sim,
    app: 'demo',
    user: 'alice',
    // The sample posts to a fixed URL: send it to the local merchant instead.
    urls: { 'https://your-server-address': `${merchant.url}/api/phone` },
  });
  const page = await runtime.loadPage(PAGE);
  await page.pressAuthorizeButton({ consent: true });

  expect(runtime.calls.map((c) => `${c.api}:${c.callback}`)).toEqual(['getPhoneNumber:success', 'request:success', 'alert:success']);
  expect(runtime.requests[0].body).toBe(runtime.calls[0].res.response); // the envelope, as-is
  expect(runtime.alerts).toEqual([
    { title: 'getPhoneNumber 解密结果', content: '{"mobile":"13812345678","status":"ok"}', buttonText: '确定' },
  ]);
});
