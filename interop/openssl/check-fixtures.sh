#!/usr/bin/env bash
# check-fixtures.sh <fixtures-dir>
#
# Proves: every platform envelope that `alipay-sim fixtures` writes is accepted by a verifier that
# shares no code with our Rust crates or with the Alipay SDKs: the openssl CLI.
#   - signature: `openssl dgst -sha256 -verify` (sign_type RSA2) or `-sha1` (RSA), RSASSA-PKCS1-v1_5,
#     over the exact signed bytes ("ciphertext" with its double quotes, or the raw object text), with
#     the merchant's one-line base64 Alipay public key wrapped as a PEM;
#   - decryption: `openssl enc -d -aes-{128,192,256}-cbc -K <key> -iv 0...0` (chosen by key length),
#     which, unlike the SDKs, also validates the PKCS#7 padding;
#   - the decrypted bytes equal the fixture's `plaintext` bytes (cmp).
# JSON fields are pulled out by extract.py (python3 stdlib only).
# Bonus: a `tamper.signature*` fixture counts as passed when openssl's verify rejects it.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: check-fixtures.sh <fixtures-dir>" >&2
  exit 2
fi
fixtures=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ZERO_IV=00000000000000000000000000000000

# verify <dir>: openssl's verdict on sign.b64 over signed.txt with pub.b64, digest from $SIGN_TYPE.
verify() {
  local d=$1 digest
  case $SIGN_TYPE in
    RSA2) digest=-sha256 ;;
    RSA) digest=-sha1 ;;
    *) return 1 ;;
  esac
  { echo '-----BEGIN PUBLIC KEY-----'; fold -w 64 "$d/pub.b64"; echo '-----END PUBLIC KEY-----'; } >"$d/pub.pem"
  openssl base64 -d -A -in "$d/sign.b64" -out "$d/sign.bin" 2>/dev/null || return 1
  openssl dgst "$digest" -verify "$d/pub.pem" -signature "$d/sign.bin" "$d/signed.txt" >/dev/null 2>&1
}

# check_platform <dir>: prints nothing when accepted, else the reason.
check_platform() {
  local d=$1 keyhex cipher
  if [ -n "$PRECHECK" ]; then echo "$PRECHECK"; return; fi
  if [ "$SIGNED" = 1 ] && ! verify "$d"; then
    echo "openssl dgst ($SIGN_TYPE) -verify rejected the signature"
    return
  fi
  if [ "$ENCRYPTED" = 1 ]; then
    keyhex=$(openssl base64 -d -A -in "$d/aes.b64" | od -An -v -tx1 | tr -d ' \n')
    case ${#keyhex} in
      32) cipher=aes-128-cbc ;;
      48) cipher=aes-192-cbc ;;
      64) cipher=aes-256-cbc ;;
      *) echo "AES key is $((${#keyhex} / 2)) bytes, not 16/24/32"; return ;;
    esac
    openssl base64 -d -A -in "$d/ct.b64" -out "$d/ct.bin"
    if ! openssl enc -d "-$cipher" -K "$keyhex" -iv "$ZERO_IV" -nosalt \
        -in "$d/ct.bin" -out "$d/payload.txt" 2>"$d/enc.err"; then
      echo "openssl enc -d -$cipher failed: $(head -n 1 "$d/enc.err")"
      return
    fi
  fi
  if ! cmp -s "$d/payload.txt" "$d/plaintext.txt"; then
    echo "payload text differs from plaintext: got $(head -c 160 "$d/payload.txt" | tr -c '[:print:]' '?')"
  fi
}

passed=0
failed=0
skipped=0
n=0
for file in "$fixtures"/*.json; do
  [ -e "$file" ] || continue
  [ "$(basename "$file")" = manifest.json ] && continue
  n=$((n + 1))
  d="$work/$n"
  mkdir "$d"
  if ! python3 "$here/extract.py" "$file" "$d" 2>"$d/extract.err"; then
    failed=$((failed + 1))
    echo "FAIL $file: unreadable fixture: $(tail -n 1 "$d/extract.err")"
    continue
  fi
  # shellcheck source=/dev/null
  . "$d/meta.sh"
  case $MODE in
    platform)
      reason=$(check_platform "$d")
      if [ -z "$reason" ]; then
        passed=$((passed + 1))
        echo "ok $ID"
      else
        failed=$((failed + 1))
        echo "FAIL $ID: $reason"
      fi
      ;;
    tamper_sig)
      if verify "$d"; then
        skipped=$((skipped + 1))
        echo "note $ID: openssl verify accepted this tamper (not counted)"
      else
        passed=$((passed + 1))
        echo "ok $ID (tamper: openssl verify rejected it)"
      fi
      ;;
    *) skipped=$((skipped + 1)) ;;
  esac
done
if [ $((passed + failed)) -eq 0 ]; then
  failed=1
  echo "FAIL $fixtures: no platform fixture found"
fi
echo "# openssl: $skipped tamper fixture(s) not checked"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
