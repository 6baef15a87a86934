#!/usr/bin/env bash
# interop/cert.sh -- certificate mode (公钥证书) against implementations we did not write.
#
#   1. the official Node SDK (node/cert-check.mjs), constructed in certificate mode from the
#      committed TEST set keys/cert/ (path, string-content and Buffer-content variants), computes
#      the SNs in keys/cert/cert-sn.json and takes the platform public key out of the certificate;
#   2. the same SDK, on certificates carrying public vector E's issuers and serials (written by
#      `cargo run --example cert_set -- vector-e`), computes the published SNs;
#   3. the openssl CLI verifies both leaves' chains strictly and recomputes the SNs
#      (openssl/cert-verify.sh);
#   4. the Node SDK in certificate mode, configured only with the certificate files and the AES
#      key, accepts every cert-mode fixture of `alipay-sim fixtures` (rsaCheck + aesDecrypt) and
#      rejects the app-key forgery (node/cert-fixtures.mjs);
#   5. the same SDK, configured only from the bundle of `alipay-sim serve`'s app `cert`, verifies and
#      decrypts its answers for several users, with and without alipay_cert_sn (node/cert-serve.mjs).
# Environment: ALIPAY_SIM=<path> uses that binary instead of building one (cargo-bin.sh).
# Needs node_modules in node/ (run.sh installs it; here `npm ci` runs when it is missing).
# Output ends with "N passed, M failed"; exit status non-zero on any failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=interop/lib.sh
source "$here/lib.sh"

[ -d "$here/node/node_modules/alipay-sdk" ] ||
  (cd "$here/node" && npm ci --prefer-offline --no-audit --no-fund >/dev/null) ||
  { fail setup "npm ci failed"; finish; }

tally node-sdk.keys-cert node "$here/node/cert-check.mjs" "$root/keys/cert" "$root/keys/cert/cert-sn.json" "$root/keys/platform/public.spki.pem"

echo "== vector E certificates (cargo run --example cert_set -- vector-e)"
if (cd "$root" && cargo run -q -p alipay-sim --example cert_set -- vector-e "$tmp/vector-e") >"$tmp/vector-e.log" 2>&1; then
  tally node-sdk.vector-e node "$here/node/cert-check.mjs" "$tmp/vector-e" "$tmp/vector-e/expected-sn.json"
else
  fail vector-e "the cert_set example failed: $(head -c 500 "$tmp/vector-e.log")"
fi

tally openssl.keys-cert bash "$here/openssl/cert-verify.sh" "$root/keys"

sim=${ALIPAY_SIM:-}
[ -n "$sim" ] || sim=$(bash "$here/cargo-bin.sh" alipay-sim) || sim=
if [ -x "$sim" ] && "$sim" fixtures --out "$tmp/fixtures" >"$tmp/fixtures.log" 2>&1; then
  tally node-sdk.cert-fixtures node "$here/node/cert-fixtures.mjs" "$tmp/fixtures"
else
  fail fixtures "alipay-sim fixtures failed (binary '${sim}'): $(head -c 500 "$tmp/fixtures.log" 2>/dev/null)"
fi

if [ -x "$sim" ] && start serve "$sim" serve --addr 127.0.0.1:0; then
  tally node-sdk.cert-serve node "$here/node/cert-serve.mjs" "$url"
  stop
fi

finish
