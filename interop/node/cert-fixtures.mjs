#!/usr/bin/env node
// cert-fixtures.mjs <fixtures-dir>
//
// Proves that a merchant on the official Alipay Node SDK (npm `alipay-sdk`), configured in
// certificate mode with only what the console hands out (the three certificate files, here as
// `appCertContent`, `alipayPublicCertContent`, `alipayRootCertContent` from the fixture's
// keys.cert, plus the AES key), accepts every certificate-mode fixture that `alipay-sim fixtures`
// writes:
//   - the SDK's three SNs equal the fixture's keys.cert SNs;
//   - `rsaCheck('"' + response + '"', sign, 'RSA2')` is true, `aesDecrypt(response)` gives the
//     fixture's plaintext byte for byte, and its mobile is the expected one;
// and that for a fixture signed with the app key (tamper.cert.*), the same SDK's rsaCheck is false
// while an SDK that loaded the app certificate as the Alipay certificate says true (the bug the
// case detects; proves the check can fail).
// Output ends with "N passed, M failed"; exit 0 only when nothing failed, 2 if it could not run.
import { AlipaySdk } from 'alipay-sdk';
import { listFixtureFiles, readJson } from './fixtures.mjs';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: cert-fixtures.mjs <fixtures-dir>');
  process.exit(2);
}

let passed = 0;
let failed = 0;
const ok = (name) => { passed++; console.log(`ok ${name}`); };
const fail = (name, why) => { failed++; console.log(`FAIL ${name}: ${why}`); };

// A certificate-mode merchant: only the certificate files and the AES key. The SDK insists on an
// app private key, which verifying and decrypting never use.
function certSdk(cert, aesKey, alipayCertPem = cert.pem.alipay_cert) {
  return new AlipaySdk({
    appId: cert.app_id,
    privateKey: 'unused-placeholder',
    appCertContent: cert.pem.app_cert,
    alipayPublicCertContent: alipayCertPem,
    alipayRootCertContent: cert.pem.alipay_root_cert,
    encryptKey: aesKey ?? undefined,
  });
}

let certFixtures = 0;
for (const file of listFixtureFiles(dir)) {
  const f = readJson(file);
  const cert = f.keys?.cert;
  if (!cert) continue;
  certFixtures++;
  const id = f.id;
  try {
    const env = JSON.parse(f.res_response);
    const sdk = certSdk(cert, f.keys.aes_key);
    const sns = [
      [sdk.config.appCertSn, cert.app_cert_sn, 'appCertSn'],
      [sdk.config.alipayCertSn, cert.alipay_cert_sn, 'alipayCertSn'],
      [sdk.config.alipayRootCertSn, cert.alipay_root_cert_sn, 'alipayRootCertSn'],
    ].filter(([got, want]) => got !== want);
    if (sns.length > 0) {
      fail(id, sns.map(([got, want, name]) => `${name} ${got} != ${want}`).join('; '));
      continue;
    }
    const content = `"${env.response}"`;
    if (f.expected.outcome === 'reject') {
      // Signed with the app key: the right merchant rejects, the confused one accepts.
      const right = sdk.rsaCheck(content, env.sign, 'RSA2');
      const confused = certSdk(cert, f.keys.aes_key, cert.pem.app_cert).rsaCheck(content, env.sign, 'RSA2');
      if (!right && confused) ok(`${id} (rsaCheck false with the Alipay certificate, true with the app certificate)`);
      else fail(id, `rsaCheck with the Alipay certificate ${right}, with the app certificate ${confused}`);
      continue;
    }
    if (!sdk.rsaCheck(content, env.sign, 'RSA2')) {
      fail(id, 'SDK rsaCheck (certificate mode) returned false');
      continue;
    }
    const plaintext = sdk.aesDecrypt(env.response);
    if (plaintext !== f.plaintext) {
      fail(id, `decrypted text differs: ${JSON.stringify(plaintext.slice(0, 120))}`);
      continue;
    }
    const mobile = JSON.parse(plaintext).mobile;
    if (mobile !== f.expected.mobile) {
      fail(id, `mobile ${mobile}, expected ${f.expected.mobile}`);
      continue;
    }
    ok(`${id} (certificate mode: SNs, rsaCheck, aesDecrypt)`);
  } catch (e) {
    fail(id, e.message);
  }
}
if (certFixtures < 3) fail(dir, `only ${certFixtures} fixture(s) carry keys.cert`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
