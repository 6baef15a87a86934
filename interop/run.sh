#!/usr/bin/env bash
# interop/run.sh -- the interop gate CI calls (from any cwd).
#
# Proves our envelopes interoperate with implementations we did not write:
#   1. alipay-sim's fixtures (every platform scenario) are accepted by the official Alipay Node SDK,
#      the official Alipay Python SDK and the openssl CLI (checkers in node/, python/, openssl/);
#   2. the checkers can fail: they reject hand-made broken fixtures (selftest/);
#   3. envelopes produced by the two official SDKs from our TEST keys are opened by `alipay-sim open`
#      with the expected result, and both SDKs produce byte-identical envelopes.
#   4. `alipay-sim serve` answers, over HTTP, envelopes the official Node SDK verifies and decrypts
#      for every platform outcome (node/server-flow.mjs), and stops gracefully on SIGTERM.
# Installs what it needs, idempotently and locally: `npm ci` in node/, a venv in .venv/ from
# python/requirements.txt (each skipped when its stamp matches the lock/requirements file).
# Environment: ALIPAY_SIM=<path> uses that binary instead of `cargo build --release -p alipay-sim`.
# Output ends with the line "N passed, M failed"; the exit status is non-zero on any failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=interop/lib.sh
source "$here/lib.sh"
export PYTHONDONTWRITEBYTECODE=1

# How `alipay-sim open` is pointed at the platform TEST keys the producers sign/encrypt with.
open_args=(--keys "$root/keys")

die() {
  fail setup "$1"
  finish
}

for tool in node npm python3 openssl; do
  command -v "$tool" >/dev/null || die "$tool not found on PATH"
done

echo "== installing the SDKs"
install_sdks || finish

sim=${ALIPAY_SIM:-}
if [ -z "$sim" ]; then
  echo "== building alipay-sim"
  sim=$(bash "$here/cargo-bin.sh" alipay-sim --release) || die "cargo build failed"
fi
[ -x "$sim" ] || die "alipay-sim binary not found (got '$sim')"
echo "using $sim"

echo "== alipay-sim fixtures"
"$sim" fixtures --out "$tmp/fixtures" >"$tmp/fixtures.log" 2>&1 || { cat "$tmp/fixtures.log"; die "alipay-sim fixtures failed"; }
ls "$tmp/fixtures"/*.json >/dev/null 2>&1 || die "alipay-sim fixtures wrote no fixture"

tally node-sdk node "$here/node/check-fixtures.mjs" "$tmp/fixtures"
tally python-sdk "$INTEROP_PYTHON" "$here/python/check_fixtures.py" "$tmp/fixtures"
tally openssl bash "$here/openssl/check-fixtures.sh" "$tmp/fixtures"
tally selftest bash "$here/selftest/selftest.sh"
tally cert env ALIPAY_SIM="$sim" bash "$here/cert.sh" # certificate mode: Node SDK + openssl (keys/cert/, vector E, cert-mode fixtures)
tally merchants bash "$here/merchants.sh" # alipay-harness against merchants on the official SDKs (node/merchant.mjs, python/merchant.py)

echo "== SDK-produced envelopes through alipay-sim open"
node "$here/node/produce.mjs" "$tmp/produced-node" >/dev/null || fail produce.node "produce.mjs failed"
"$INTEROP_PYTHON" "$here/python/produce.py" "$tmp/produced-python" >/dev/null || fail produce.python "produce.py failed"
for who in node python; do
  for envelope in "$tmp/produced-$who"/*.envelope; do
    [ -e "$envelope" ] || continue
    name=$(basename "$envelope" .envelope)
    id="open.$who.$name"
    rc=0
    "$sim" open "${open_args[@]}" <"$envelope" >"$tmp/open.out" 2>"$tmp/open.err" || rc=$?
    if [ "$rc" != 0 ]; then
      fail "$id" "alipay-sim open exited $rc: $(head -c 300 "$tmp/open.out") $(head -c 300 "$tmp/open.err")"
    elif python3 -c 'import json, sys
got = json.loads(open(sys.argv[1], encoding="utf-8").read())
sys.exit(got != json.load(open(sys.argv[2], encoding="utf-8")))' "$tmp/open.out" "${envelope%.envelope}.expected.json" 2>/dev/null; then
      pass "$id"
    else
      fail "$id" "printed $(head -c 300 "$tmp/open.out"), expected $(cat "${envelope%.envelope}.expected.json")"
    fi
  done
done
for envelope in "$tmp/produced-node"/*.envelope; do
  [ -e "$envelope" ] || continue
  name=$(basename "$envelope")
  if cmp -s "$envelope" "$tmp/produced-python/$name"; then
    pass "produce.same_bytes.${name%.envelope}"
  else
    fail "produce.same_bytes.${name%.envelope}" "Node and Python SDK envelopes differ"
  fi
done

echo "== alipay-sim serve: the HTTP flow through the official Node SDK"
# Starts the simulator on a free port (its first stdout line is "listening on http://ADDR"), drives
# button -> getPhoneNumber -> merchant decrypt for every platform outcome, then stops it with SIGTERM
# and expects a graceful exit 0.
if start serve "$sim" serve --addr 127.0.0.1:0; then
  tally server-flow node "$here/node/server-flow.mjs" "$url"
  serve_rc=0
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" || serve_rc=$?
  if [ "$serve_rc" = 0 ]; then pass serve.graceful_shutdown; else fail serve.graceful_shutdown "exited $serve_rc after SIGTERM"; fi
fi

finish
