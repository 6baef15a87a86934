#!/usr/bin/env node
// A tiny merchant backend for the browser tests: it does what a correct backend must with the
// body my.request forwards (the `res.response` envelope string):
//   verify `sign` (RSA2/RSA, PKCS#1 v1.5) over the raw quoted ciphertext token,
//   decrypt AES-CBC with a zero IV, read the plaintext, and answer
//   200 {"status":"ok","mobile"} | 200 {"status":"no_mobile"} | 503 {"status":"retry_later","code":"20000"}
//   | 422 {"status":"platform_error","code","sub_code"} | 400 {"status":"rejected","reason"}.
// `--reject-all` answers 400 {"status":"rejected"} to everything (the "merchant that rejects").
//
// Usage: node merchant.mjs --bundle-url http://127.0.0.1:8780/__admin/apps/demo/bundle [--port 0] [--reject-all]
// Prints `listening http://127.0.0.1:<port>` once ready. Binds 127.0.0.1 only.

import http from 'node:http';
import crypto from 'node:crypto';

function parseArgs(argv) {
  const opts = { port: 0, bundleUrl: null, rejectAll: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port') opts.port = Number(argv[++i]);
    else if (a === '--bundle-url') opts.bundleUrl = argv[++i];
    else if (a === '--reject-all') opts.rejectAll = true;
    else {
      console.error(`merchant.mjs: unknown argument ${JSON.stringify(a)}`);
      process.exit(2);
    }
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    console.error('merchant.mjs: --port must be 0..65535');
    process.exit(2);
  }
  if (!opts.bundleUrl && !opts.rejectAll) {
    console.error('merchant.mjs: --bundle-url is required (the simulator\'s /__admin/apps/<app>/bundle)');
    process.exit(2);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));

let bundle = null;
if (opts.bundleUrl) {
  const url = new URL(opts.bundleUrl);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    console.error('merchant.mjs: --bundle-url must be a loopback URL');
    process.exit(2);
  }
  const resp = await fetch(url);
  if (!resp.ok) {
    console.error(`merchant.mjs: GET ${url} answered ${resp.status}`);
    process.exit(2);
  }
  bundle = await resp.json();
}

const MAX_BODY = 1024 * 1024;

function answer(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The raw text of the `"response"` string token, quotes included, exactly as on the wire. */
function rawResponseToken(text) {
  const m = /^\s*\{\s*"response"\s*:\s*("(?:[^"\\]|\\.)*")/.exec(text);
  return m ? m[1] : null;
}

function verifySign(signed, sign, signType) {
  const algo = signType === 'RSA' ? 'RSA-SHA1' : 'RSA-SHA256';
  try {
    return crypto.verify(algo, Buffer.from(signed, 'utf8'), bundle.alipay_public_key_pem, Buffer.from(sign, 'base64'));
  } catch {
    return false;
  }
}

function decryptAes(b64) {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new Error('ciphertext is not base64');
  const key = Buffer.from(bundle.aes_key, 'base64');
  const decipher = crypto.createDecipheriv(`aes-${key.length * 8}-cbc`, key, Buffer.alloc(16));
  const out = Buffer.concat([decipher.update(Buffer.from(b64, 'base64')), decipher.final()]);
  return new TextDecoder('utf-8', { fatal: true }).decode(out);
}

function judgePlain(p, res) {
  const code = String(p.code);
  if (code === '10000') {
    if (typeof p.mobile === 'string' && p.mobile !== '') return answer(res, 200, { status: 'ok', mobile: p.mobile });
    return answer(res, 200, { status: 'no_mobile' });
  }
  if (code === '20000') return answer(res, 503, { status: 'retry_later', code, sub_code: p.subCode ?? null });
  return answer(res, 422, { status: 'platform_error', code, sub_code: p.subCode ?? null, message: p.subMsg ?? p.msg ?? null });
}

function handle(text, res) {
  if (opts.rejectAll) return answer(res, 400, { status: 'rejected', reason: 'this merchant rejects everything (--reject-all)' });
  let env;
  try { env = JSON.parse(text); } catch { return answer(res, 400, { status: 'rejected', reason: 'body is not JSON' }); }
  if (!env || typeof env !== 'object' || Array.isArray(env)) return answer(res, 400, { status: 'rejected', reason: 'body is not an object' });
  if (!('response' in env) && 'code' in env) {
    // The bare error object: never a success.
    if (String(env.code) === '10000') return answer(res, 400, { status: 'rejected', reason: 'unencrypted success' });
    return judgePlain(env, res);
  }
  if (env.response && typeof env.response === 'object') {
    // Plaintext payload: only an error may come unencrypted.
    if (String(env.response.code) === '10000') return answer(res, 400, { status: 'rejected', reason: 'unencrypted success' });
    return judgePlain(env.response, res);
  }
  if (typeof env.response !== 'string') return answer(res, 400, { status: 'rejected', reason: 'no response' });
  const signType = env.sign_type || bundle.sign_type || 'RSA2';
  if (bundle.sign_type) {
    if (typeof env.sign !== 'string') return answer(res, 400, { status: 'rejected', reason: 'sign missing' });
    if (signType !== bundle.sign_type) return answer(res, 400, { status: 'rejected', reason: `sign_type ${signType} is not the configured ${bundle.sign_type}` });
    const raw = rawResponseToken(text);
    if (!raw || !verifySign(raw, env.sign, signType)) return answer(res, 400, { status: 'rejected', reason: 'bad signature' });
  }
  if (!bundle.aes_key) return answer(res, 400, { status: 'rejected', reason: 'no AES key configured' });
  let plain;
  try { plain = JSON.parse(decryptAes(env.response)); } catch (e) { return answer(res, 400, { status: 'rejected', reason: `decryption failed: ${e.message}` }); }
  if (!plain || typeof plain !== 'object') return answer(res, 400, { status: 'rejected', reason: 'plaintext is not an object' });
  return judgePlain(plain, res);
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST') return answer(res, 405, { status: 'rejected', reason: 'POST only' });
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size > MAX_BODY) { answer(res, 413, { status: 'rejected', reason: 'body too large' }); req.destroy(); return; }
    chunks.push(c);
  });
  req.on('end', () => {
    if (res.writableEnded) return;
    handle(Buffer.concat(chunks).toString('utf8'), res);
  });
});

server.listen(opts.port, '127.0.0.1', () => {
  console.log(`listening http://127.0.0.1:${server.address().port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
