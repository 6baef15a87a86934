#!/usr/bin/env bash
# Browser tests of the emulator page.
#
# Builds alipay-sim, starts `alipay-sim serve` and two merchants (a correct one and one that
# rejects everything) on free loopback ports, runs the page's unit tests (Node's test runner)
# and the end-to-end tests in headless Chromium, stops what it started, and prints
# `N passed, M failed` as its last line. Exit 0 when everything passed, 1 otherwise, 2 when the
# set-up itself failed.
#
# Needs: node >= 20, npm, Debian's chromium (apt-get install -y chromium), cargo.
# Environment: OUT_DIR (screenshots; default a temp dir), CHROMIUM (default /usr/bin/chromium),
# SIM_BIN (a prebuilt alipay-sim), UPDATE_SCREENSHOT=1 (rewrite simulator/docs/emulator.png),
# ONLY=<substring> (run the browser tests whose name contains it).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${OUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/alipay-sim-e2e.XXXXXX")}
work=$(mktemp -d "${TMPDIR:-/tmp}/alipay-sim-e2e-run.XXXXXX")
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
mkdir -p "$out"

die() { echo "run.sh: $*" >&2; echo "0 passed, 1 failed"; exit 2; }

[ -x "$CHROMIUM" ] || die "no Chromium at $CHROMIUM: apt-get install -y chromium (or set CHROMIUM)"
command -v node >/dev/null || die "node is not installed"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

cd "$here"
if [ ! -d node_modules/playwright-core ]; then
  npm ci --ignore-scripts --no-audit --no-fund >"$work/npm.log" 2>&1 || { cat "$work/npm.log" >&2; die "npm ci failed"; }
fi

if [ -z "${SIM_BIN:-}" ]; then
  (cd "$root" && cargo build --quiet -p alipay-sim --bin alipay-sim) || die "cargo build failed"
  SIM_BIN=$root/target/debug/alipay-sim
fi
[ -x "$SIM_BIN" ] || die "no simulator binary at $SIM_BIN"

# wait_for FILE PATTERN: waits (bounded, 15 s) for a line matching PATTERN in FILE.
wait_for() {
  for _ in $(seq 1 150); do
    if grep -qE "$2" "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

"$SIM_BIN" serve --addr 127.0.0.1:0 --port-file "$work/sim.port" >"$work/sim.out" 2>"$work/sim.err" &
pids+=($!)
wait_for "$work/sim.port" '^[0-9]+' || { cat "$work/sim.err" >&2; die "the simulator did not start"; }
sim="http://127.0.0.1:$(head -n1 "$work/sim.port" | tr -d '[:space:]')"

node "$here/merchant.mjs" --port 0 --bundle-url "$sim/__admin/apps/demo/bundle" >"$work/merchant.out" 2>&1 &
pids+=($!)
node "$here/merchant.mjs" --port 0 --reject-all >"$work/reject.out" 2>&1 &
pids+=($!)
wait_for "$work/merchant.out" '^listening ' || { cat "$work/merchant.out" >&2; die "the merchant did not start"; }
wait_for "$work/reject.out" '^listening ' || { cat "$work/reject.out" >&2; die "the rejecting merchant did not start"; }
merchant="$(sed -n 's/^listening //p' "$work/merchant.out")/phone"
reject="$(sed -n 's/^listening //p' "$work/reject.out")/phone"
echo "# simulator $sim, merchant $merchant, rejecting merchant $reject"

# 1. The page's envelope code, under Node's test runner.
unit_pass=0
unit_fail=0
if node --test "$here/envelope.test.mjs" >"$work/unit.out" 2>&1; then :; fi
cat "$work/unit.out"
unit_pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$work/unit.out" | tail -n1)
unit_fail=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$work/unit.out" | tail -n1)
[ -n "$unit_pass" ] || { unit_pass=0; unit_fail=1; }
unit_fail=${unit_fail:-0}

# 2. The page in Chromium.
readme_shot=""
if [ "${UPDATE_SCREENSHOT:-}" = "1" ]; then
  mkdir -p "$root/simulator/docs"
  readme_shot="$root/simulator/docs/emulator.png"
fi
set +e
SIM_URL=$sim MERCHANT_URL=$merchant REJECT_MERCHANT_URL=$reject OUT_DIR=$out \
  README_SCREENSHOT=$readme_shot node "$here/e2e.mjs" | tee "$work/e2e.out"
e2e_status=${PIPESTATUS[0]}
set -e
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$work/e2e.out" | tail -n1 || true)
e2e_pass=${line%% passed*}
e2e_fail=${line#*, }
e2e_fail=${e2e_fail%% failed}
if [ -z "$line" ]; then e2e_pass=0; e2e_fail=1; fi
if [ "$e2e_status" -ne 0 ] && [ "$e2e_fail" = "0" ]; then e2e_fail=1; fi

if grep -q . "$work/sim.err" && [ "$((unit_fail + e2e_fail))" -ne 0 ]; then
  echo "# simulator stderr:"; sed 's/^/#   /' "$work/sim.err"
fi
echo "# screenshots: $out"
total_pass=$((unit_pass + e2e_pass))
total_fail=$((unit_fail + e2e_fail))
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
