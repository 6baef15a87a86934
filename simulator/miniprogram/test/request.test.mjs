// my.request as the platform documents it, against a local echo server (no simulator needed).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createRuntime, buildRequest, RuntimeError } from '../src/index.js';

let server;
let base;
let closedPort;
const hanging = new Set();

before(async () => {
  server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url, 'http://x');
      const json = (status, obj, headers = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(obj));
      };
      if (u.pathname.startsWith('/status/')) return json(Number(u.pathname.slice(8)), { why: 'asked' });
      if (u.pathname === '/text') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        return res.end('解密成功');
      }
      if (u.pathname === '/bom') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('\uFEFF{"a":1}');
      }
      if (u.pathname === '/redirect') {
        res.writeHead(302, { location: 'http://192.0.2.1/' });
        return res.end();
      }
      if (u.pathname === '/hang') {
        hanging.add(res);
        return undefined;
      }
      return json(200, { method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}`;
  const spare = http.createServer();
  await new Promise((r) => spare.listen(0, '127.0.0.1', r));
  closedPort = spare.address().port;
  await new Promise((r) => spare.close(r));
});

after(async () => {
  for (const res of hanging) res.destroy();
  await new Promise((r) => server.close(r));
});

// The simulator is not used by my.request; any URL will do.
const runtime = (urls) => createRuntime({ simulator: 'http://127.0.0.1:9', urls });

/** Runs my.request with callbacks and returns [callback, res, completeRes]. */
async function request(args, urls) {
  const rt = runtime(urls);
  let outcome;
  let completed;
  rt.my.request({
    ...args,
    success: (res) => (outcome = ['success', res]),
    fail: (res) => (outcome = ['fail', res]),
    complete: (res) => (completed = res),
  });
  await rt.settled();
  assert.equal(completed, outcome[1], 'complete receives what success/fail received');
  return { callback: outcome[0], res: outcome[1], rt };
}

test('string data is sent as-is with the default content-type application/json', async () => {
  const envelope = '{"response":"a+b/c=","sign":"x"}';
  const { callback, res, rt } = await request({ url: `${base}/phone`, method: 'POST', data: envelope });
  assert.equal(callback, 'success');
  assert.equal(res.status, 200);
  assert.equal(res.data.method, 'POST');
  assert.equal(res.data.headers['content-type'], 'application/json');
  assert.equal(res.data.body, envelope);
  assert.equal(res.headers['content-type'], 'application/json');
  assert.equal(rt.requests[0].body, envelope);
});

test('object data: JSON for POST+json, a query string for POST+form and for GET', async () => {
  const data = { response: 'a+b/c=', n: 1, 名: '值 &' };
  let { res } = await request({ url: `${base}/p`, method: 'POST', data });
  assert.equal(res.data.body, JSON.stringify(data));
  ({ res } = await request({ url: `${base}/p`, method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, data }));
  assert.equal(res.data.body, 'response=a%2Bb%2Fc%3D&n=1&%E5%90%8D=%E5%80%BC%20%26');
  assert.equal(res.data.headers['content-type'], 'application/x-www-form-urlencoded');
  ({ res } = await request({ url: `${base}/p?x=1`, data }));
  assert.equal(res.data.method, 'GET');
  assert.equal(res.data.path, '/p?x=1&response=a%2Bb%2Fc%3D&n=1&%E5%90%8D=%E5%80%BC%20%26');
  assert.equal(res.data.body, '');
});

test('bytes are sent as they are', async () => {
  const { res } = await request({ url: `${base}/p`, method: 'PUT', data: new TextEncoder().encode('raw bytes').buffer });
  assert.equal(res.data.method, 'PUT');
  assert.equal(res.data.body, 'raw bytes');
});

test('a status outside 2xx goes to fail as error 19 with status, data and headers', async () => {
  for (const status of [400, 422, 500, 503]) {
    const { callback, res } = await request({ url: `${base}/status/${status}`, method: 'POST', data: 'x' });
    assert.equal(callback, 'fail');
    assert.equal(res.error, 19);
    assert.equal(res.errorMessage, 'http status error');
    assert.equal(res.status, status);
    assert.deepEqual(res.data, { why: 'asked' });
    assert.equal(res.headers['content-type'], 'application/json');
  }
});

test('redirects are not followed: error 19 with the 3xx status', async () => {
  const { callback, res } = await request({ url: `${base}/redirect` });
  assert.equal(callback, 'fail');
  assert.equal(res.error, 19);
  assert.equal(res.status, 302);
});

test('dataType json: text or a UTF-8 BOM fails with error 14; dataType text and base64 read it', async () => {
  let { callback, res } = await request({ url: `${base}/text` });
  assert.equal(callback, 'fail');
  assert.deepEqual([res.error, res.errorMessage, res.status, res.data], [14, 'JSON parse data error', 200, '解密成功']);
  ({ callback, res } = await request({ url: `${base}/bom` }));
  assert.deepEqual([callback, res.error], ['fail', 14]);
  ({ callback, res } = await request({ url: `${base}/text`, dataType: 'text' }));
  assert.deepEqual([callback, res.data], ['success', '解密成功']);
  ({ res } = await request({ url: `${base}/text`, dataType: 'base64' }));
  assert.equal(res.data, `data:text/plain; charset=utf-8;base64,${Buffer.from('解密成功').toString('base64')}`);
  ({ res } = await request({ url: `${base}/text`, dataType: 'arraybuffer' }));
  assert.equal(Buffer.from(res.data).toString('utf8'), '解密成功');
});

test('bad parameters fail with error 2 naming the parameter', async () => {
  const cases = [
    [{}, /url must be a non-empty String/],
    [{ url: 'not a url' }, /url "not a url" is not a valid URL/],
    [{ url: `${base}/p`, method: 'PATCH' }, /method "PATCH" is not one of GET\/POST\/PUT\/DELETE/],
    [{ url: `${base}/p`, headers: { 'x-n': 1 } }, /headers\["x-n"\] must be a String, got number/],
    [{ url: `${base}/p`, dataType: 'xml' }, /dataType "xml"/],
    [{ url: `${base}/p`, timeout: -1 }, /timeout must be a positive Number/],
  ];
  for (const [args, message] of cases) {
    const { callback, res, rt } = await request(args);
    assert.equal(callback, 'fail');
    assert.equal(res.error, 2);
    assert.match(res.errorMessage, message);
    assert.deepEqual(rt.requests, [], 'nothing was sent');
  }
});

test('a timeout fails with error 13, a closed port with error 12', async () => {
  let { callback, res } = await request({ url: `${base}/hang`, timeout: 150 });
  assert.deepEqual([callback, res.error], ['fail', 13]);
  assert.match(res.errorMessage, /timeout after 150 ms/);
  ({ callback, res } = await request({ url: `http://127.0.0.1:${closedPort}/p` }));
  assert.deepEqual([callback, res.error], ['fail', 12]);
  assert.match(res.errorMessage, /ECONNREFUSED/);
});

test('RequestTask.abort() fails the request with error 9', async () => {
  const rt = runtime();
  let got;
  const task = rt.my.request({ url: `${base}/hang`, fail: (res) => (got = res) });
  setTimeout(() => task.abort(), 50);
  await rt.settled();
  assert.deepEqual(got, { error: 9, errorMessage: 'request:fail abort' });
});

test('without callbacks my.request is a promise (then for success, catch for fail)', async () => {
  const rt = runtime();
  const ok = await rt.my.request({ url: `${base}/p`, method: 'POST', data: 'x' });
  assert.equal(ok.data.body, 'x');
  await assert.rejects(rt.my.request({ url: `${base}/status/500` }), (res) => res.error === 19 && res.status === 500);
});

test('URL mapping: exact URL, a prefix with the rest of the path and the query kept, loopback as-is', async () => {
  const urls = { 'https://api.example.com': `${base}/mapped`, 'https://api.example.com/v2/phone': `${base}/exact` };
  let { res, rt } = await request({ url: 'https://api.example.com/v2/phone?x=1', method: 'POST', data: 'a' }, urls);
  assert.equal(res.data.path, '/exact?x=1');
  assert.equal(rt.requests[0].url, 'https://api.example.com/v2/phone?x=1');
  assert.equal(rt.requests[0].target, `${base}/exact?x=1`);
  ({ res } = await request({ url: 'https://api.example.com/v1/phone', method: 'POST', data: 'a' }, urls));
  assert.equal(res.data.path, '/mapped/v1/phone');
  ({ res } = await request({ url: 'https://api.example.com/v2/phone-old', method: 'POST', data: 'a' }, urls));
  assert.equal(res.data.path, '/mapped/v2/phone-old', 'a key matches at path boundaries only');
  ({ res } = await request({ url: `${base}/direct`, method: 'POST', data: 'a' }, urls));
  assert.equal(res.data.path, '/direct');
  const { callback, res: refused, rt: rt2 } = await request({ url: 'https://other.example.com/phone', method: 'POST', data: 'a' }, urls);
  assert.equal(callback, 'fail');
  assert.equal(refused.error, 11);
  assert.match(refused.errorMessage, /https:\/\/other\.example\.com\/phone is not mapped/);
  assert.equal(rt2.requests[0].target, undefined, 'nothing left the machine');
});

test('the URL map only accepts loopback targets and plain URL keys', () => {
  assert.throws(() => runtime({ 'https://a.example': 'http://192.0.2.1/phone' }), (e) => e instanceof RuntimeError && /not a loopback http\(s\) URL/.test(e.message));
  assert.throws(() => runtime({ 'https://a.example': 'file:///etc/passwd' }), /not a loopback/);
  assert.throws(() => runtime({ 'a.example': `${base}/p` }), /the key "a.example" is not a URL/);
  assert.throws(() => runtime({ 'https://a.example/p?x=1': `${base}/p` }), /must not have a query/);
});

test('buildRequest: the wire form without sending', () => {
  assert.deepEqual(buildRequest({ url: 'https://your-server-address', method: 'post', data: '{"response":"x"}' }), {
    url: 'https://your-server-address/',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"response":"x"}',
    dataType: 'json',
    timeout: 30000,
  });
  const custom = buildRequest({ url: 'https://a.example/p', method: 'POST', headers: { 'Content-Type': 'text/plain', 'X-A': 'b' }, data: { a: 1 } });
  assert.deepEqual(custom.headers, { 'Content-Type': 'text/plain', 'X-A': 'b' });
  assert.equal(custom.body, '{"a":1}');
});
