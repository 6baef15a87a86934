#!/usr/bin/env node
// produce.mjs <out-dir> [keys-dir]
//
// Proves (together with `alipay-sim open` in ../run.sh): envelopes made by the official Alipay Node SDK
// (npm `alipay-sdk`) from our TEST platform keys are opened by our Rust opener. For every case in
// ../cases.json it writes
//   <out-dir>/<name>.envelope       {"response":"<b64>","sign":"<b64>"}, no trailing newline
//   <out-dir>/<name>.expected.json  what `alipay-sim open` must print for it
// keys-dir defaults to ../../keys/platform (private.pkcs8.pem, aes.b64.txt).
//
// SDK primitives used: `aesEncryptText(plainText, aesKey)` (CryptoJS AES-CBC, zero IV, PKCS#7) and
// `signatureV3(signString, privateKey)` (RSA-SHA256 over the UTF-8 string, base64) from the SDK's
// util module. The AlipaySdk class exposes only aesDecrypt/rsaCheck and the package's `exports` map
// exposes only its index, so util.js is imported by file URL. signatureV3 is the lowest-level SDK
// function that signs an arbitrary string; the generic `sign()` signs sorted gateway parameters.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const { aesEncryptText, signatureV3 } = await import(new URL('./util.js', import.meta.resolve('alipay-sdk')));

const here = fileURLToPath(new URL('.', import.meta.url));
const outDir = process.argv[2];
const keysDir = process.argv[3] ?? join(here, '..', '..', 'keys', 'platform');
if (!outDir) {
  console.error('usage: produce.mjs <out-dir> [keys-dir]');
  process.exit(2);
}

const privateKey = readFileSync(join(keysDir, 'private.pkcs8.pem'), 'utf8');
const aesKey = readFileSync(join(keysDir, 'aes.b64.txt'), 'utf8').trim();
const cases = JSON.parse(readFileSync(join(here, '..', 'cases.json'), 'utf8'));

mkdirSync(outDir, { recursive: true });
for (const c of cases) {
  const ciphertext = aesEncryptText(c.plaintext, aesKey);
  const sign = signatureV3(`"${ciphertext}"`, privateKey); // signed text: ciphertext in double quotes
  const envelope = JSON.stringify({ response: ciphertext, sign });
  writeFileSync(join(outDir, `${c.name}.envelope`), envelope);
  writeFileSync(join(outDir, `${c.name}.expected.json`), `${JSON.stringify(c.expected)}\n`);
  console.log(`wrote ${c.name}.envelope`);
}
