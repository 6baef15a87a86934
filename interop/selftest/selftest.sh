#!/usr/bin/env bash
# selftest.sh
#
# Proves the checkers themselves work, independently of the Rust code: on fixtures hand-made with the
# openssl CLI (make_fixtures.py), each of the three checkers (Node SDK, Python SDK, openssl)
#   - passes every fixture of the "good" set (all envelope variants), and
#   - FAILs every fixture of the "broken" set (wrong plaintext, foreign/bit-flipped/unquoted/
#     mislabelled signature, wrong AES key, contradicting `expected`),
# so a green run over alipay-sim's fixtures means something. One documented exception: the Python
# SDK's verify_with_rsa does not enforce the sign type (python-rsa takes the hash from the
# signature), so it accepts platform.broken.rsa1_labelled_rsa2; that line is reported, not asserted.
# Needs node_modules in ../node and the venv at ../.venv (run.sh installs both); INTEROP_PYTHON
# overrides the Python interpreter.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
interop=$(cd "$here/.." && pwd)
py=${INTEROP_PYTHON:-$interop/.venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 "$here/make_fixtures.py" "$work/good" good
python3 "$here/make_fixtures.py" "$work/broken" broken

passed=0
failed=0
result() { # result <ok 0|1> <name> [reason]
  if [ "$1" = 0 ]; then
    passed=$((passed + 1)); echo "ok $2"
  else
    failed=$((failed + 1)); echo "FAIL $2: $3"
  fi
}

for checker in node python openssl; do
  case $checker in
    node) cmd=(node "$interop/node/check-fixtures.mjs") ;;
    python) cmd=("$py" "$interop/python/check_fixtures.py") ;;
    openssl) cmd=(bash "$interop/openssl/check-fixtures.sh") ;;
  esac

  rc=0
  "${cmd[@]}" "$work/good" >"$work/$checker.good" 2>&1 || rc=$?
  missing=$(python3 -c 'import json,sys; print(" ".join(i for i in json.load(open(sys.argv[1]))["scenarios"] if i.startswith("platform.")))' \
    "$work/good/manifest.json" | tr ' ' '\n' | while read -r id; do grep -qxF "ok $id" "$work/$checker.good" || echo "$id"; done)
  if [ "$rc" = 0 ] && [ -z "$missing" ]; then
    result 0 "selftest.$checker.accepts_good_fixtures"
  else
    result 1 "selftest.$checker.accepts_good_fixtures" "exit $rc; not ok: $(echo $missing) $(grep '^FAIL' "$work/$checker.good" | head -n 3)"
  fi

  rc=0
  "${cmd[@]}" "$work/broken" >"$work/$checker.broken" 2>&1 || rc=$?
  for id in $(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["scenarios"]))' "$work/broken/manifest.json"); do
    if [ "$checker" = python ] && [ "$id" = platform.broken.rsa1_labelled_rsa2 ]; then
      echo "# python SDK on $id (sign type not enforced): $(grep -E "^(ok|FAIL) $id( |:|$)" "$work/$checker.broken" || echo missing)"
      continue
    fi
    if grep -q "^FAIL $id: " "$work/$checker.broken"; then
      result 0 "selftest.$checker.rejects.$id"
    else
      result 1 "selftest.$checker.rejects.$id" "checker did not fail it"
    fi
  done
  [ "$rc" = 1 ] || result 1 "selftest.$checker.broken_exit_code" "exit $rc, expected 1"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
