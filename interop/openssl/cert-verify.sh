#!/usr/bin/env bash
# interop/openssl/cert-verify.sh [KEYS_DIR]
#
# Checks a certificate-mode TEST set (KEYS_DIR/cert/, default: the repository's keys/cert/) with
# the openssl CLI only, none of our code:
#   1. `openssl verify -x509_strict` accepts the Alipay leaf and the app leaf against the
#      intermediate that follows the Alipay leaf and the roots of alipayRootCert.crt;
#   2. the same verification fails when the bundle is cut down to its non-RSA roots (so step 1
#      really depends on the RSA root: the check can fail);
#   3. the bundle mixes RSA-signed and non-RSA roots, RSA ones not first (the SDKs' filter matters);
#   4. the three SNs recomputed here (openssl's RFC 2253 issuer + decimal serial, MD5 by
#      `openssl dgst`) equal cert/cert-sn.json;
#   5. the public key in alipayCertPublicKey_RSA2.crt is the platform public key
#      (platform/public.spki.pem), and the app leaf's key is cert/app/public.spki.pem's.
# Output ends with "N passed, M failed"; exit status 0 only when nothing failed, 2 if it could not run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
keys=${1:-"$here/../../keys"}
cert="$keys/cert"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1: $2"; }

root="$cert/alipayRootCert.crt"
alipay="$cert/alipayCertPublicKey_RSA2.crt"
shopt -s nullglob
apps=("$cert"/appCertPublicKey_*.crt)
if [ ! -f "$root" ] || [ ! -f "$alipay" ] || [ ${#apps[@]} -ne 1 ] || [ ! -f "$cert/cert-sn.json" ]; then
  echo "cert-verify: $cert must hold alipayRootCert.crt, alipayCertPublicKey_RSA2.crt, one appCertPublicKey_<appid>.crt and cert-sn.json" >&2
  exit 2
fi
app=${apps[0]}

# split FILE PREFIX: one PEM file per certificate, PREFIX1.pem, PREFIX2.pem, ...
split() {
  awk -v p="$2" '/-----BEGIN CERTIFICATE-----/{n++; f=p n ".pem"} f{print > f} /-----END CERTIFICATE-----/{close(f); f=""}' "$1"
}
split "$alipay" "$tmp/alipay"
split "$root" "$tmp/root"
[ -f "$tmp/alipay2.pem" ] || { fail layout "alipayCertPublicKey_RSA2.crt holds no intermediate after the leaf"; }

sigalg() { openssl x509 -in "$1" -noout -text | awk -F': ' '/Signature Algorithm/{print $2; exit}'; }

# 1. The chains verify, strictly.
for leaf in "$alipay" "$app"; do
  name=$(basename "$leaf")
  if out=$(openssl verify -x509_strict -CAfile "$root" -untrusted "$tmp/alipay2.pem" "$leaf" 2>&1); then
    pass "openssl verify -x509_strict $name"
  else
    fail "openssl verify -x509_strict $name" "$out"
  fi
done

# 2. Without the RSA roots it must fail.
: >"$tmp/non-rsa-roots.pem"
rsa_roots=0
non_rsa_roots=0
first_is_rsa=
for r in "$tmp"/root*.pem; do
  alg=$(sigalg "$r")
  if [[ $alg == *WithRSAEncryption ]]; then
    rsa_roots=$((rsa_roots + 1))
    [ -n "$first_is_rsa" ] || first_is_rsa=yes
  else
    non_rsa_roots=$((non_rsa_roots + 1))
    [ -n "$first_is_rsa" ] || first_is_rsa=no
    cat "$r" >>"$tmp/non-rsa-roots.pem"
  fi
done
if [ "$non_rsa_roots" -gt 0 ] && ! openssl verify -CAfile "$tmp/non-rsa-roots.pem" -untrusted "$tmp/alipay2.pem" "$alipay" >/dev/null 2>&1; then
  pass "verification fails without the RSA roots"
else
  fail "verification fails without the RSA roots" "it did not fail (or there is no non-RSA root)"
fi

# 3. The bundle's shape.
if [ "$rsa_roots" -ge 1 ] && [ "$non_rsa_roots" -ge 1 ] && [ "$first_is_rsa" = no ]; then
  pass "root bundle: $rsa_roots RSA and $non_rsa_roots non-RSA roots, a non-RSA one first"
else
  fail "root bundle shape" "$rsa_roots RSA, $non_rsa_roots non-RSA, first is RSA: $first_is_rsa"
fi

# 4. SNs, recomputed with openssl alone: MD5(RFC 2253 issuer + decimal serial).
sn() {
  local issuer serial_hex dec
  issuer=$(openssl x509 -in "$1" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')
  serial_hex=$(openssl x509 -in "$1" -noout -serial | sed 's/^serial=//')
  dec=$(python3 -c 'import sys; print(int(sys.argv[1], 16))' "$serial_hex")
  printf '%s%s' "$issuer" "$dec" | openssl dgst -md5 -r | cut -d' ' -f1
}
json() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$cert/cert-sn.json" "$1"; }
root_sn=
for r in "$tmp"/root*.pem; do
  [[ $(sigalg "$r") == *WithRSAEncryption ]] || continue
  root_sn=${root_sn:+${root_sn}_}$(sn "$r")
done
for pair in "app_cert_sn:$(sn "$app")" "alipay_cert_sn:$(sn "$tmp/alipay1.pem")" "alipay_root_cert_sn:$root_sn"; do
  key=${pair%%:*}
  ours=$(json "$key")
  theirs=${pair#*:}
  if [ "$ours" = "$theirs" ]; then pass "$key = $theirs (openssl + md5)"; else fail "$key" "cert-sn.json says $ours, openssl gives $theirs"; fi
done

# 5. The keys in the leaves.
if [ "$(openssl x509 -in "$alipay" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)" = \
     "$(openssl pkey -pubin -in "$keys/platform/public.spki.pem" -outform DER | sha256sum)" ]; then
  pass "the Alipay leaf holds the platform public key"
else
  fail "the Alipay leaf's key" "differs from platform/public.spki.pem"
fi
if [ "$(openssl x509 -in "$app" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)" = \
     "$(openssl pkey -pubin -in "$cert/app/public.spki.pem" -outform DER | sha256sum)" ]; then
  pass "the app leaf holds the app public key"
else
  fail "the app leaf's key" "differs from cert/app/public.spki.pem"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
