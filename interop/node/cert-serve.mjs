#!/usr/bin/env node
// cert-serve.mjs <base-url>
//
// Against a running `alipay-sim serve`: the app `cert` (certificate mode) is opened by a merchant on
// the official Alipay Node SDK configured ONLY from the app's bundle (GET /__admin/apps/cert/bundle):
// `alipayRootCertContent`, `alipayPublicCertContent`, `appCertContent` and the AES key. For a user
// with a mobile, one without consent (40003), one without a bound phone, and again with
// `alipay_cert_sn` switched on, every getPhoneNumber answer must pass `rsaCheck` (certificate mode)
// and `aesDecrypt` to the expected plaintext. The bundle must hold no Alipay private key: its only
// private key is the app's own, `app_private_key` (TEST ONLY, served so that SDKs can sign gateway
// requests), which verifying and decrypting never use.
// Output ends with "N passed, M failed"; exit 0 only when nothing failed, 2 if it could not run.
import { readFileSync } from 'node:fs';
import { AlipaySdk } from 'alipay-sdk';

const base = process.argv[2];
if (!base) {
  console.error('usage: cert-serve.mjs <base-url>');
  process.exit(2);
}

let passed = 0;
let failed = 0;
const ok = (name) => { passed++; console.log(`ok ${name}`); };
const fail = (name, why) => { failed++; console.log(`FAIL ${name}: ${why}`); };

async function call(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : null };
}

try {
  const bundle = await call('GET', '/__admin/apps/cert/bundle');
  if (bundle.status !== 200) throw new Error(`bundle: HTTP ${bundle.status}`);
  const { app_private_key: appKey, ...rest } = bundle.json;
  if (JSON.stringify(rest).includes('PRIVATE')) fail('bundle', 'holds a private key other than app_private_key');
  else if (appKey !== undefined && !/^-----BEGIN PRIVATE KEY-----/.test(appKey)) fail('bundle', 'app_private_key is not a PKCS#8 PEM');
  else if (appKey !== undefined && appKey.trim() === readFileSync(new URL('../../keys/platform/private.pkcs8.pem', import.meta.url), 'utf8').trim()) {
    fail('bundle', 'app_private_key is the Alipay (platform) private key');
  }
  else ok('bundle holds certificates and no Alipay private key');
  const { cert, aes_key: aesKey } = bundle.json;
  const sdk = new AlipaySdk({
    appId: cert.app_id,
    privateKey: 'unused-placeholder',
    appCertContent: cert.pem.app_cert,
    alipayPublicCertContent: cert.pem.alipay_cert,
    alipayRootCertContent: cert.pem.alipay_root_cert,
    encryptKey: aesKey,
  });
  if (sdk.config.alipayCertSn === cert.alipay_cert_sn && sdk.config.alipayRootCertSn === cert.alipay_root_cert_sn) {
    ok(`SDK SNs equal the bundle's (${sdk.config.alipayCertSn})`);
  } else {
    fail('SNs', `SDK ${sdk.config.alipayCertSn} / ${sdk.config.alipayRootCertSn}, bundle ${cert.alipay_cert_sn} / ${cert.alipay_root_cert_sn}`);
  }

  const users = [
    ['cs-mobile', { authorised: true, mobile: '13812340000' }, (p) => p.code === '10000' && p.mobile === '13812340000'],
    ['cs-refused', { authorised: false, mobile: '13812340001' }, (p) => p.code === '40003'],
    ['cs-empty', { authorised: true, mobile: '' }, (p) => p.code === '10000' && p.mobile === ''],
  ];
  for (const [user, body] of users) {
    const r = await call('PUT', `/__admin/apps/cert/users/${user}`, body);
    if (r.status >= 300) throw new Error(`creating user ${user}: HTTP ${r.status} ${r.text}`);
  }
  for (const withSn of [false, true]) {
    if (withSn) {
      const r = await call('PATCH', '/__admin/apps/cert', { console: { alipay_cert_sn: true } });
      if (r.status !== 200) throw new Error(`PATCH console: HTTP ${r.status} ${r.text}`);
    }
    for (const [user, , expected] of users) {
      const name = `${user}${withSn ? ' (alipay_cert_sn)' : ''}`;
      const r = await call('POST', `/jsapi/apps/cert/users/${user}/getPhoneNumber`);
      const envelope = JSON.parse(r.json.response);
      if (withSn !== (envelope.alipay_cert_sn === cert.alipay_cert_sn)) {
        fail(name, `alipay_cert_sn is ${JSON.stringify(envelope.alipay_cert_sn)}`);
        continue;
      }
      if (!sdk.rsaCheck(`"${envelope.response}"`, envelope.sign, 'RSA2')) {
        fail(name, 'rsaCheck (certificate mode) returned false');
        continue;
      }
      const payload = JSON.parse(sdk.aesDecrypt(envelope.response));
      if (expected(payload)) ok(`${name}: verified and decrypted (code ${payload.code})`);
      else fail(name, `unexpected payload ${JSON.stringify(payload)}`);
    }
  }
} catch (e) {
  fail('cert-serve', e.message);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
