#!/usr/bin/env node
// cert-check.mjs <cert-dir> <expected-sn.json> [platform-public.spki.pem]
//
// Proves, with the official Alipay Node SDK (npm `alipay-sdk`, version in package-lock.json) and
// none of our code, that a certificate-mode set is what a merchant's SDK can use:
//   - `new AlipaySdk({ appCertPath, alipayPublicCertPath, alipayRootCertPath, ... })` and the same
//     with `appCertContent`, `alipayPublicCertContent`, `alipayRootCertContent` accept the files;
//   - the SDK's appCertSn, alipayCertSn and alipayRootCertSn equal the expected JSON (our
//     `keys/cert/cert-sn.json`, or the published vector E values written by the cert_set example);
//   - with a third argument, the Alipay public key the SDK took from alipayCertPublicKey_RSA2.crt is
//     that key (the platform key that signs envelopes);
//   - the check can fail: the SDK's root SN changes when the bundle loses its first RSA root.
// <cert-dir> holds alipayRootCert.crt, alipayCertPublicKey_RSA2.crt, one appCertPublicKey_<appid>.crt
// and optionally app/private.pkcs8.pem (the app key the SDK insists on; a placeholder otherwise).
// Output ends with "N passed, M failed"; exit 0 only when nothing failed, 2 if it could not run.
import fs from 'node:fs';
import path from 'node:path';
import { createPublicKey } from 'node:crypto';
import { AlipaySdk } from 'alipay-sdk';

const [dir, expectedPath, platformPath] = process.argv.slice(2);
if (!dir || !expectedPath) {
  console.error('usage: cert-check.mjs <cert-dir> <expected-sn.json> [platform-public.spki.pem]');
  process.exit(2);
}

let passed = 0;
let failed = 0;
const ok = (name) => { passed++; console.log(`ok ${name}`); };
const fail = (name, why) => { failed++; console.log(`FAIL ${name}: ${why}`); };

const apps = fs.readdirSync(dir).filter((f) => /^appCertPublicKey_.+\.crt$/.test(f));
if (apps.length !== 1) {
  console.error(`cert-check: ${dir} must hold exactly one appCertPublicKey_<appid>.crt, found ${apps.length}`);
  process.exit(2);
}
const files = {
  root: path.join(dir, 'alipayRootCert.crt'),
  alipay: path.join(dir, 'alipayCertPublicKey_RSA2.crt'),
  app: path.join(dir, apps[0]),
};
const appId = apps[0].slice('appCertPublicKey_'.length, -'.crt'.length);
const expected = JSON.parse(fs.readFileSync(expectedPath, 'utf8'));
const keyPath = path.join(dir, 'app', 'private.pkcs8.pem');
const privateKey = fs.existsSync(keyPath) ? fs.readFileSync(keyPath, 'utf8') : 'unused-placeholder';

const variants = {
  path: {
    appCertPath: files.app,
    alipayPublicCertPath: files.alipay,
    alipayRootCertPath: files.root,
  },
  content: {
    appCertContent: fs.readFileSync(files.app, 'utf8'),
    alipayPublicCertContent: fs.readFileSync(files.alipay, 'utf8'),
    alipayRootCertContent: fs.readFileSync(files.root, 'utf8'),
  },
  buffer: {
    appCertContent: fs.readFileSync(files.app),
    alipayPublicCertContent: fs.readFileSync(files.alipay),
    alipayRootCertContent: fs.readFileSync(files.root),
  },
};

const spkiDer = (pem) => createPublicKey(pem).export({ type: 'spki', format: 'der' }).toString('base64');
const platformDer = platformPath ? spkiDer(fs.readFileSync(platformPath, 'utf8')) : null;

for (const [variant, certConfig] of Object.entries(variants)) {
  let sdk;
  try {
    sdk = new AlipaySdk({ appId, privateKey, keyType: 'PKCS8', ...certConfig });
  } catch (e) {
    fail(`${variant}: constructor`, e.message);
    continue;
  }
  ok(`${variant}: AlipaySdk constructed in certificate mode`);
  for (const [ours, theirs] of [
    ['app_cert_sn', 'appCertSn'],
    ['alipay_cert_sn', 'alipayCertSn'],
    ['alipay_root_cert_sn', 'alipayRootCertSn'],
  ]) {
    const got = sdk.config[theirs];
    if (got === expected[ours]) ok(`${variant}: ${theirs} = ${got}`);
    else fail(`${variant}: ${theirs}`, `SDK computed ${JSON.stringify(got)}, expected ${expected[ours]}`);
  }
  if (platformDer) {
    const got = spkiDer(sdk.config.alipayPublicKey);
    if (got === platformDer) ok(`${variant}: the SDK's Alipay public key is the platform key`);
    else fail(`${variant}: Alipay public key`, 'the key the SDK read from the certificate is not the platform key');
  }
}

// The check can fail: drop the first RSA root from the bundle and the SDK's root SN must change.
const blocks = fs.readFileSync(files.root, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
const firstRsa = blocks.findIndex((b) => {
  const sdk = new AlipaySdk({ appId, privateKey: 'unused-placeholder', ...variants.content, alipayRootCertContent: b });
  return sdk.config.alipayRootCertSn !== '';
});
if (firstRsa < 0) {
  fail('root bundle', 'the SDK finds no RSA root in it');
} else {
  const cut = blocks.filter((_, i) => i !== firstRsa).join('');
  const sdk = new AlipaySdk({ appId, privateKey: 'unused-placeholder', ...variants.content, alipayRootCertContent: cut });
  if (sdk.config.alipayRootCertSn !== expected.alipay_root_cert_sn) {
    ok(`without root ${firstRsa + 1} the SDK's root SN changes (${sdk.config.alipayRootCertSn || 'empty'})`);
  } else {
    fail('negative control', 'removing an RSA root did not change the root SN');
  }
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
