#!/usr/bin/env node
// merchant.mjs: a my.getPhoneNumber decryption endpoint written the way a Node developer writes one
// with the official Alipay Node SDK (npm `alipay-sdk`, pinned in package-lock.json) and node:http.
//
//   node merchant.mjs [--port 8782] [--keys DIR]
//
// The mini-program posts `res.response` as it is (`my.request({ data: res.response })`). This
// endpoint answers exactly like the harness's reference merchant, so both share
// harness/contracts/reference.toml:
//   200 {"status":"ok","mobile":"..."}                     the user's number
//   422 {"status":"no_mobile"}                              code 10000 with an empty or absent mobile
//   422 {"status":"platform_error","code","sub_code","sub_msg"}   any other platform code
//   503 {"status":"retry_later","code":"20000"} + Retry-After: 1  the platform was busy
//   400 {"status":"rejected","error":"<kind>"}              anything we cannot trust or read
//   413 {"status":"rejected","error":"body_too_large"}      bodies over 64 KiB
//
// Keys: ALIPAY_PUBLIC_KEY (支付宝公钥, base64 SPKI) and ALIPAY_AES_KEY (接口内容加密 AES key, base64)
// from the environment; `--keys DIR` (default: the repository's TEST keys) reads
// DIR/platform/public.b64.txt and DIR/platform/aes.b64.txt instead and takes precedence.
// Certificate mode (公钥证书): `--cert-dir DIR` configures the SDK with only the console's three
// certificate files, DIR/alipayRootCert.crt, DIR/alipayCertPublicKey_RSA2.crt and
// DIR/appCertPublicKey_<appid>.crt (appCertPath, alipayPublicCertPath, alipayRootCertPath); the
// Alipay public key then comes out of the certificate, and only the AES key is read as above.
// The first line on stdout is `listening on http://127.0.0.1:PORT` (`--port 0` picks a free port).
//
// POST /login is the mini-program login (contract in interop/README.md, "The login"): the body
// {"authCode": my.getAuthCode's authCode, "response": my.getPhoneNumber's res.response}; the code is
// exchanged through the SDK, `exec('alipay.system.oauth.token', ..., {validateSign: true})` with
// `gateway: ALIPAY_GATEWAY`, `appId: ALIPAY_APP_ID`, `privateKey: ALIPAY_APP_PRIVATE_KEY` (PKCS#8
// PEM, `keyType: 'PKCS8'`), then the envelope is opened as above. Answers 200
// {"status":"ok","user_id","open_id","mobile"}; 401 {"status":"rejected","error":"auth_code","code",
// "sub_code"} or {"status":"rejected","error":"gateway_signature"}; 503 retry_later for 20000; 502
// {"status":"error","error":"gateway_unavailable"}; 400 for a malformed request; the envelope's own
// answer when the code was good but the envelope is not; 404 login_not_configured without
// ALIPAY_GATEWAY.
import http from 'node:http';
import { createPublicKey } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AlipaySdk, AlipayRequestError } from 'alipay-sdk';

const MAX_BODY = 64 * 1024;
// After a 413 the rest of the body is read and thrown away, so that the client gets to read the
// answer instead of a connection reset; past this much the connection is dropped.
const MAX_DISCARD = 16 * 1024 * 1024;

function die(message) {
  console.error(`merchant.mjs: ${message}`);
  process.exit(2);
}
const usage = message => die(`${message}\nusage: node merchant.mjs [--port PORT] [--keys DIR] [--cert-dir DIR]`);

let args;
try {
  args = parseArgs({
    options: {
      port: { type: 'string', default: '8782' },
      keys: { type: 'string' },
      'cert-dir': { type: 'string' },
    },
  }).values;
} catch (err) {
  usage(err.message);
}
const port = Number(args.port);
if (!/^\d+$/.test(args.port) || port > 65535) usage(`--port must be a number from 0 to 65535, got '${args.port}'`);

function readKeyFile(path, what) {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    die(`cannot read the ${what} from ${path}: ${err.code ?? err.message}`);
  }
}

let alipayPublicKey;
let aesKey;
if (args.keys === undefined && process.env.ALIPAY_PUBLIC_KEY && process.env.ALIPAY_AES_KEY) {
  alipayPublicKey = process.env.ALIPAY_PUBLIC_KEY.trim();
  aesKey = process.env.ALIPAY_AES_KEY.trim();
} else {
  const dir = args.keys ?? join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'keys');
  if (args['cert-dir'] === undefined) {
    alipayPublicKey = readKeyFile(join(dir, 'platform', 'public.b64.txt'), 'Alipay public key');
  }
  aesKey = readKeyFile(join(dir, 'platform', 'aes.b64.txt'), 'AES key');
}

// Key mode: the 支付宝公钥. Certificate mode: the three certificate files, nothing else.
let verification;
if (args['cert-dir'] !== undefined) {
  const certDir = args['cert-dir'];
  let apps = [];
  try {
    apps = readdirSync(certDir).filter(f => /^appCertPublicKey_.+\.crt$/.test(f));
  } catch (err) {
    die(`cannot list the certificate directory ${certDir}: ${err.code ?? err.message}`);
  }
  if (apps.length !== 1) die(`${certDir} must hold exactly one appCertPublicKey_<appid>.crt, found ${apps.length}`);
  verification = {
    appCertPath: join(certDir, apps[0]),
    alipayPublicCertPath: join(certDir, 'alipayCertPublicKey_RSA2.crt'),
    alipayRootCertPath: join(certDir, 'alipayRootCert.crt'),
  };
} else {
  // The SDK does not look at the key until the first request: check it now, so that a bad key is
  // one clear start-up error rather than every envelope refused.
  try {
    createPublicKey({ key: Buffer.from(alipayPublicKey, 'base64'), format: 'der', type: 'spki' });
  } catch {
    die('the Alipay public key is not a base64 X.509 SubjectPublicKeyInfo (支付宝公钥)');
  }
  verification = { alipayPublicKey };
}
if (![16, 24, 32].includes(Buffer.from(aesKey, 'base64').length) || !/^[A-Za-z0-9+/]+={0,2}$/.test(aesKey)) {
  die('the AES key is not the base64 of 16, 24 or 32 bytes');
}

// The SDK constructor insists on the app private key (it signs gateway calls). This endpoint never
// calls the gateway, so a real deployment's key is taken when present and a placeholder otherwise.
// The login (POST /login) needs the gateway, the app id and the app private key; without
// ALIPAY_GATEWAY it is not offered.
const gateway = process.env.ALIPAY_GATEWAY || undefined;
if (gateway && !(process.env.ALIPAY_APP_ID && process.env.ALIPAY_APP_PRIVATE_KEY)) {
  die('the login (ALIPAY_GATEWAY) needs ALIPAY_APP_ID and ALIPAY_APP_PRIVATE_KEY too');
}
let alipaySdk;
try {
  alipaySdk = new AlipaySdk({
    appId: process.env.ALIPAY_APP_ID || 'merchant-example',
    privateKey: process.env.ALIPAY_APP_PRIVATE_KEY || 'not-used-by-this-endpoint',
    // The console gives a PKCS#8 key ("BEGIN PRIVATE KEY"); the SDK's default is PKCS#1.
    keyType: /BEGIN RSA PRIVATE KEY/.test(process.env.ALIPAY_APP_PRIVATE_KEY ?? '') ? 'PKCS1' : 'PKCS8',
    ...(gateway ? { gateway } : {}),
    ...verification,
    encryptKey: aesKey,
  });
} catch (err) {
  die(`the SDK refused the configuration${args['cert-dir'] ? ` (certificates in ${args['cert-dir']})` : ''}: ${err.message}`);
}

/** A client error: answered 400 {"status":"rejected","error": kind}. */
class Rejected extends Error {
  constructor(kind) {
    super(kind);
    this.kind = kind;
  }
}

const isObject = value => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Turns a payload ({code, msg, mobile} or {code, msg, subCode, subMsg}) into [status, body, headers]. */
function answerFor(payload) {
  if (!isObject(payload) || typeof payload.code !== 'string') throw new Rejected('bad_plaintext');
  if (payload.code === '10000') {
    if (payload.mobile === undefined || payload.mobile === null || payload.mobile === '') {
      return [422, { status: 'no_mobile' }];
    }
    if (typeof payload.mobile !== 'string') throw new Rejected('bad_plaintext');
    return [200, { status: 'ok', mobile: payload.mobile }];
  }
  if (payload.code === '20000') {
    return [503, { status: 'retry_later', code: '20000' }, { 'Retry-After': '1' }];
  }
  return [422, {
    status: 'platform_error',
    code: payload.code,
    sub_code: typeof payload.subCode === 'string' ? payload.subCode : '',
    sub_msg: typeof payload.subMsg === 'string' ? payload.subMsg : '',
  }];
}

/** An unencrypted, unsigned payload may only report a platform error (anyone can write one). */
function unsignedError(payload) {
  if (isObject(payload) && typeof payload.code === 'string' && payload.code !== '10000') {
    return answerFor(payload);
  }
  throw new Rejected('missing_sign');
}

/** What to answer for the envelope text `body` (the raw `res.response` string). */
function handleEnvelope(body) {
  let envelope;
  try {
    envelope = JSON.parse(body);
  } catch {
    throw new Rejected('malformed');
  }
  if (!isObject(envelope)) throw new Rejected('malformed');

  const { response, sign } = envelope;
  if (response === undefined) {
    // The bare 40001 form: res.response is the error object itself.
    if (typeof envelope.code === 'string') return unsignedError(envelope);
    throw new Rejected('missing_response');
  }
  const encrypted = typeof response === 'string';
  if (!encrypted && !isObject(response)) throw new Rejected('wrong_type');
  if (sign !== undefined && typeof sign !== 'string') throw new Rejected('wrong_type');

  // An Alipay public key is configured, so a missing sign is refused; only an unencrypted error
  // object comes unsigned from Alipay (加密异常: 40001 / 40002 / 20000).
  if (sign === undefined) {
    if (encrypted) throw new Rejected('missing_sign');
    return unsignedError(response);
  }

  // The SDK README: "注意，加密内容必须前后加上双引号": the ciphertext is verified with its quotes.
  // For an object payload Alipay signs the raw object text. JSON.parse has thrown that text away, so
  // this re-serialises it, which is what the official samples do (fastjson with OrderedField). It
  // only matches when Alipay's text is compact and has no escapes JSON.stringify writes differently:
  // Alipay writes '/' as '\/', so a signed plaintext error with a URL in subMsg fails verification
  // here and is rejected (harness case tamper.payload.signed-plaintext-error).
  const signContent = encrypted ? `"${response}"` : JSON.stringify(response);
  // The sign type is our configuration (RSA2), never the envelope's `sign_type`: honouring that field
  // would let the sender pick SHA-1 (harness case tamper.signature.sign-type-downgrade).
  let verified = false;
  try {
    verified = alipaySdk.rsaCheck(signContent, sign, 'RSA2');
  } catch {
    verified = false;
  }
  if (!verified) throw new Rejected('bad_signature');

  if (!encrypted) return answerFor(response);
  let plainText;
  try {
    plainText = alipaySdk.aesDecrypt(response);
  } catch {
    throw new Rejected('bad_ciphertext'); // CryptoJS: "Malformed UTF-8 data"
  }
  // A wrong key usually comes back as '' rather than an error (CryptoJS does not check padding).
  if (!plainText) throw new Rejected('bad_ciphertext');
  let payload;
  try {
    payload = JSON.parse(plainText);
  } catch {
    throw new Rejected('bad_plaintext');
  }
  return answerFor(payload);
}

/**
 * POST /login: [status, body, headers] for {"authCode", "response"}. The code is spent first, then
 * the envelope is opened (handleEnvelope); a login answer is 200 only when both succeed.
 */
async function handleLogin(text) {
  if (!gateway) return [404, { status: 'rejected', error: 'login_not_configured' }];
  let req;
  try {
    req = JSON.parse(text);
  } catch {
    throw new Rejected('bad_request');
  }
  if (!isObject(req) || typeof req.authCode !== 'string' || !req.authCode || typeof req.response !== 'string') {
    throw new Rejected('bad_request');
  }
  let token;
  try {
    token = await alipaySdk.exec('alipay.system.oauth.token', { grantType: 'authorization_code', code: req.authCode }, { validateSign: true });
  } catch (err) {
    if (!(err instanceof AlipayRequestError)) throw err;
    // validateSign cannot verify a signed error_response: getSignStr looks for the method's key,
    // which an error answer does not have, and the SDK throws 验签失败. An error can only refuse a
    // login, so its code is read from the raw answer and reported; a success that fails
    // verification is refused as gateway_signature.
    let raw;
    try {
      raw = JSON.parse(err.responseDataRaw ?? '');
    } catch {
      raw = undefined;
    }
    const error = isObject(raw) && isObject(raw.error_response) && !('alipay_system_oauth_token_response' in raw) ? raw.error_response : undefined;
    if (error && typeof error.code === 'string') token = { code: error.code, subCode: error.sub_code };
    else if (/验签/.test(err.message)) return [401, { status: 'rejected', error: 'gateway_signature' }];
    else return [502, { status: 'error', error: 'gateway_unavailable' }];
  }
  if (token.code !== undefined && token.code !== '10000') {
    if (token.code === '20000') return [503, { status: 'retry_later', code: '20000' }, { 'Retry-After': '1' }];
    return [401, { status: 'rejected', error: 'auth_code', code: token.code, sub_code: token.subCode ?? '' }];
  }
  const userId = typeof token.userId === 'string' && token.userId ? token.userId : null;
  const openId = typeof token.openId === 'string' && token.openId ? token.openId : null;
  if (userId === null && openId === null) return [502, { status: 'error', error: 'gateway_unavailable' }];
  const [status, body, headers] = handleEnvelope(req.response);
  if (status !== 200) return [status, body, headers];
  return [200, { status: 'ok', user_id: userId, open_id: openId, mobile: body.mobile }];
}

function send(res, status, body, headers = {}) {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

// Slow or silent clients are cut off after 10 s (checked every second).
const server = http.createServer({ requestTimeout: 10_000, headersTimeout: 10_000, connectionsCheckingInterval: 1_000 }, (req, res) => {
  const caseId = req.headers['x-alipay-harness-case'];
  const log = (status, what) => console.error(`${req.method} ${req.url} ${caseId ?? ''} -> ${status} ${what}`);
  const reply = (status, body, headers) => {
    send(res, status, body, headers);
    log(status, body.error ?? body.status);
  };
  req.on('error', () => {}); // aborted or reset by the client: nothing to answer

  if (req.method !== 'POST') {
    reply(405, { status: 'rejected', error: 'method_not_allowed' }, { Allow: 'POST' });
    return;
  }
  const chunks = [];
  let size = 0;
  let tooLarge = false;
  const refuseTooLarge = () => {
    tooLarge = true;
    chunks.length = 0;
    reply(413, { status: 'rejected', error: 'body_too_large' });
  };
  if (Number(req.headers['content-length']) > MAX_BODY) refuseTooLarge();
  req.on('data', chunk => {
    size += chunk.length;
    if (tooLarge) {
      if (size > MAX_DISCARD) req.destroy();
      return;
    }
    if (size > MAX_BODY) {
      refuseTooLarge();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', async () => {
    if (tooLarge) return;
    try {
      const text = Buffer.concat(chunks).toString('utf8');
      const [status, body, headers] = req.url === '/login' ? await handleLogin(text) : handleEnvelope(text);
      reply(status, body, headers);
    } catch (err) {
      // Never a 5xx and never the exception text: whatever went wrong came from the request.
      const kind = err instanceof Rejected ? err.kind : 'bad_request';
      if (!(err instanceof Rejected)) console.error(`unexpected ${err?.name ?? 'error'} for ${caseId ?? req.url}`);
      reply(400, { status: 'rejected', error: kind });
    }
  });
});
server.on('clientError', (err, socket) => {
  const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
  if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  else socket.destroy();
});
server.on('error', err => {
  console.error(`merchant.mjs: cannot listen on 127.0.0.1:${port}: ${err.code ?? err.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)).closeAllConnections());
}
