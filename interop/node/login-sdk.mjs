#!/usr/bin/env node
// login-sdk.mjs <base-url>
//
// The official Alipay Node SDK (npm `alipay-sdk`, pinned in package-lock.json) against a running
// `alipay-sim serve`: the login a merchant back-end performs after `my.getAuthCode`.
//
//   - key mode (app `demo`): the SDK is configured from the app's bundle
//     (GET /__admin/apps/demo/bundle: app_id, app_private_key (TEST ONLY), alipay_public_key) with
//     `gateway: <base>/gateway.do`; a code from POST /jsapi/apps/demo/users/alice/getAuthCode is
//     exchanged with `exec('alipay.system.oauth.token', ..., {validateSign: true})`, the token is
//     refreshed, `alipay.user.info.share` answers the profile, and v3 (`curl`, `endpoint: <base>`)
//     exchanges a code too;
//   - a request signed with another key (keys/attacker) comes back as 40002 isv.invalid-signature,
//     a reused code as 40002 isv.code-invalid;
//   - with the admin fault `gateway_bad_sign_rate: 1` the SDK refuses the answer (v2 and v3);
//   - certificate mode (app `cert`): the SDK configured with appCertPath / alipayPublicCertPath /
//     alipayRootCertPath from keys/cert/ and the app key keys/cert/app/private.pkcs8.pem.
// Every check prints one `ok` or `FAIL` line; the last line is "N passed, M failed"; exit 1 on any
// failure, 2 when it could not run at all.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AlipaySdk, AlipayRequestError } from 'alipay-sdk';

const base = process.argv[2];
if (!base) {
  console.error('usage: login-sdk.mjs <base-url>');
  process.exit(2);
}
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

let passed = 0;
let failed = 0;
const ok = (name, detail = '') => { passed++; console.log(`ok ${name}${detail ? ` (${detail})` : ''}`); };
const fail = (name, why) => { failed++; console.log(`FAIL ${name}: ${why}`); };
/** Runs one named check; a throw is that check's failure, never the script's. */
async function check(name, fn) {
  try {
    const detail = await fn();
    ok(name, detail);
  } catch (err) {
    fail(name, err?.message ?? String(err));
  }
}
function expect(cond, what) {
  if (!cond) throw new Error(what);
}

async function call(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : null;
}
const authCode = async (app, user, scopes) => {
  const r = await call('POST', `/jsapi/apps/${app}/users/${user}/getAuthCode`, { scopes });
  expect(typeof r.authCode === 'string' && r.authCode, `getAuthCode answered ${JSON.stringify(r)}`);
  return r.authCode;
};
const faults = body => call('PUT', '/__admin/faults', body);
const exchange = (sdk, code, options = { validateSign: true }) =>
  sdk.exec('alipay.system.oauth.token', { grantType: 'authorization_code', code }, options);

/** What an SDK call reported: the result object, or the error it threw. */
async function outcome(promise) {
  try {
    return { result: await promise };
  } catch (err) {
    return { error: err };
  }
}

try {
  const bundle = await call('GET', '/__admin/apps/demo/bundle');
  const alice = await call('GET', '/__admin/apps/demo/users/alice');
  const sdkConfig = {
    appId: bundle.app_id,
    privateKey: bundle.app_private_key,
    keyType: 'PKCS8', // the bundle's key is PKCS#8 ("BEGIN PRIVATE KEY"); the SDK's default is PKCS#1
    alipayPublicKey: bundle.alipay_public_key,
    gateway: `${base}/gateway.do`, // v2: exec()
    endpoint: base, // v3: curl()
  };
  const sdk = new AlipaySdk(sdkConfig);
  // The user identifier the simulator holds for alice in this app (open_id or user_id, by app).
  const sameUser = r => (r.openId ?? r.open_id) === alice.open_id || (r.userId ?? r.user_id) === alice.alipay_user_id;

  let token;
  await check('node.v2.oauth.token (exec, validateSign)', async () => {
    token = await exchange(sdk, await authCode('demo', 'alice', 'auth_base'));
    expect(token.code === undefined || token.code === '10000', `answered ${JSON.stringify(token)}`);
    expect(sameUser(token), `user ${token.openId ?? token.userId}, expected alice (${alice.open_id} / ${alice.alipay_user_id})`);
    expect(token.accessToken && token.refreshToken, 'no access_token / refresh_token');
    return `open_id ${token.openId ?? '-'}, user_id ${token.userId ?? '-'}`;
  });
  await check('node.v2.oauth.token refresh_token', async () => {
    const r = await sdk.exec('alipay.system.oauth.token', { grantType: 'refresh_token', refreshToken: token.refreshToken }, { validateSign: true });
    expect(r.accessToken && sameUser(r), `answered ${JSON.stringify(r)}`);
    return 'new access_token';
  });
  await check('node.v2.user.info.share (auth_user)', async () => {
    const t = await exchange(sdk, await authCode('demo', 'alice', 'auth_user'));
    const r = await sdk.exec('alipay.user.info.share', { authToken: t.accessToken }, { validateSign: true });
    expect(r.code === '10000' && sameUser(r), `answered ${JSON.stringify(r)}`);
    return `nick_name ${r.nickName}`;
  });
  await check('node.v3.oauth.token (curl)', async () => {
    const code = await authCode('demo', 'alice', 'auth_base');
    const r = await sdk.curl('POST', '/v3/alipay/system/oauth/token', { body: { grant_type: 'authorization_code', code } });
    expect(r.responseHttpStatus === 200 && sameUser(r.data), `answered ${JSON.stringify(r)}`);
    return 'response headers verified by the SDK';
  });

  // A reused code. Without validateSign the SDK hands back the error object. With validateSign
  // it throws a signature error instead: getSignStr looks for "alipay_system_oauth_token_response",
  // which an error_response answer does not contain, so it verifies the wrong bytes.
  await check('node.v2.reused-code', async () => {
    const code = await authCode('demo', 'alice', 'auth_base');
    await exchange(sdk, code);
    const r = await exchange(sdk, code, {});
    expect(r.code === '40002' && r.subCode === 'isv.code-invalid', `answered ${JSON.stringify(r)}`);
    return `${r.code} ${r.subCode} ${r.subMsg}`;
  });
  await check('node.v2.reused-code (validateSign: the SDK cannot verify a signed error_response)', async () => {
    const code = await authCode('demo', 'alice', 'auth_base');
    await exchange(sdk, code);
    const { result, error } = await outcome(exchange(sdk, code));
    expect(!result, `returned ${JSON.stringify(result)}`);
    expect(error instanceof AlipayRequestError && /验签失败/.test(error.message), `threw ${error}`);
    const raw = JSON.parse(error.responseDataRaw);
    expect(raw.error_response?.sub_code === 'isv.code-invalid', `raw answer ${error.responseDataRaw}`);
    return 'AlipayRequestError 验签失败, error_response isv.code-invalid in responseDataRaw';
  });
  await check('node.v3.reused-code', async () => {
    const code = await authCode('demo', 'alice', 'auth_base');
    await sdk.curl('POST', '/v3/alipay/system/oauth/token', { body: { grant_type: 'authorization_code', code } });
    const { result, error } = await outcome(sdk.curl('POST', '/v3/alipay/system/oauth/token', { body: { grant_type: 'authorization_code', code } }));
    expect(!result, `returned ${JSON.stringify(result)}`);
    expect(error instanceof AlipayRequestError && error.code === 'code-invalid', `threw ${error} (code ${error?.code})`);
    return `AlipayRequestError code ${error.code}: ${error.message}`;
  });

  const attackerKey = readFileSync(join(root, 'keys', 'attacker', 'private.pkcs8.pem'), 'utf8');
  const wrongKey = new AlipaySdk({ ...sdkConfig, privateKey: attackerKey });
  await check('node.v2.wrong-key', async () => {
    const r = await exchange(wrongKey, await authCode('demo', 'alice', 'auth_base'), {});
    expect(r.code === '40002' && r.subCode === 'isv.invalid-signature', `answered ${JSON.stringify(r)}`);
    return `${r.code} ${r.subCode}`;
  });
  await check('node.v3.wrong-key', async () => {
    const code = await authCode('demo', 'alice', 'auth_base');
    const { result, error } = await outcome(wrongKey.curl('POST', '/v3/alipay/system/oauth/token', { body: { grant_type: 'authorization_code', code } }));
    expect(!result, `returned ${JSON.stringify(result)}`);
    expect(error instanceof AlipayRequestError && error.code === 'invalid-signature', `threw ${error} (code ${error?.code})`);
    return `AlipayRequestError code ${error.code}`;
  });

  await faults({ gateway_bad_sign_rate: 1 });
  try {
    await check('node.v2.tampered-answer refused', async () => {
      const { result, error } = await outcome(exchange(sdk, await authCode('demo', 'alice', 'auth_base')));
      expect(!result, `accepted ${JSON.stringify(result)}`);
      expect(error instanceof AlipayRequestError && /验签失败/.test(error.message), `threw ${error}`);
      return 'AlipayRequestError 验签失败';
    });
    await check('node.v3.tampered-answer refused', async () => {
      const code = await authCode('demo', 'alice', 'auth_base');
      const { result, error } = await outcome(sdk.curl('POST', '/v3/alipay/system/oauth/token', { body: { grant_type: 'authorization_code', code } }));
      expect(!result, `accepted ${JSON.stringify(result)}`);
      expect(error instanceof AlipayRequestError && error.code === 'response-signature-verify-error', `threw ${error} (code ${error?.code})`);
      return `AlipayRequestError ${error.code}`;
    });
  } finally {
    await faults({});
  }

  // Certificate mode: the three console files and the app's own key, nothing from the bundle.
  const certDir = join(root, 'keys', 'cert');
  const certBundle = await call('GET', '/__admin/apps/cert/bundle');
  const certAlice = await call('GET', '/__admin/apps/cert/users/alice');
  const certSdk = new AlipaySdk({
    appId: certBundle.app_id,
    privateKey: readFileSync(join(certDir, 'app', 'private.pkcs8.pem'), 'utf8'),
    keyType: 'PKCS8',
    appCertPath: join(certDir, `appCertPublicKey_${certBundle.cert.app_id}.crt`),
    alipayPublicCertPath: join(certDir, 'alipayCertPublicKey_RSA2.crt'),
    alipayRootCertPath: join(certDir, 'alipayRootCert.crt'),
    gateway: `${base}/gateway.do`,
    endpoint: base,
  });
  await check('node.cert.v2.oauth.token (exec, validateSign)', async () => {
    const r = await exchange(certSdk, await authCode('cert', 'alice', 'auth_base'));
    expect((r.openId ?? null) === certAlice.open_id || (r.userId ?? null) === certAlice.alipay_user_id, `answered ${JSON.stringify(r)}`);
    return `app_cert_sn ${certSdk.config.appCertSn}, open_id ${r.openId ?? '-'}`;
  });
  await check('node.cert.v3.oauth.token (curl, alipay-sn checked)', async () => {
    const code = await authCode('cert', 'alice', 'auth_base');
    const r = await certSdk.curl('POST', '/v3/alipay/system/oauth/token', { body: { grant_type: 'authorization_code', code } });
    expect(r.responseHttpStatus === 200 && (r.data.open_id === certAlice.open_id || r.data.user_id === certAlice.alipay_user_id), `answered ${JSON.stringify(r)}`);
    return 'ok';
  });
  await check('node.cert.v2.wrong-key', async () => {
    const forged = new AlipaySdk({ ...certSdk.config, privateKey: attackerKey, keyType: 'PKCS8' });
    const r = await exchange(forged, await authCode('cert', 'alice', 'auth_base'), {});
    expect(r.code === '40002' && r.subCode === 'isv.invalid-signature', `answered ${JSON.stringify(r)}`);
    return `${r.code} ${r.subCode}`;
  });
  await faults({ gateway_bad_sign_rate: 1 });
  try {
    await check('node.cert.v2.tampered-answer refused', async () => {
      const { result, error } = await outcome(exchange(certSdk, await authCode('cert', 'alice', 'auth_base')));
      expect(!result, `accepted ${JSON.stringify(result)}`);
      expect(error instanceof AlipayRequestError && /验签失败/.test(error.message), `threw ${error}`);
      return 'AlipayRequestError 验签失败';
    });
  } finally {
    await faults({});
  }
} catch (err) {
  fail('setup', err?.stack ?? String(err));
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
