#!/usr/bin/env bash
# Load stage: a corpus from `alipay-sim corpus`, posted by Locust (from PyPI, pinned in
# load/requirements.txt) to the reference merchant on loopback, with the mobile checks of
# load/locustfile.py. Self-contained: installs Locust into a venv, builds the binaries unless
# ALIPAY_SIM / ALIPAY_HARNESS name them, starts and stops everything it needs.
#
# Checks:
#   1. distributed: one master and two workers, headless, NDJSON corpus, against the reference
#      merchant: zero wrong, missing or leaked mobiles, each worker its own slice;
#   2. the same file in one process with a CSV corpus: zero failures;
#   3. the check can fail: against `alipay-harness merchant --broken skip-verify` (accepts forged
#      envelopes) the run must exit 1 reporting leaked mobiles;
#   4. against `--broken shared-cipher` (one result slot shared by all requests) it must exit 1
#      reporting wrong mobiles.
# Ends with `N passed, M failed`; exit 0 only when all passed (2 when it could not run).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
SECONDS_PER_RUN=${LOAD_SECONDS:-6}

# The temporary directory, the processes stopped on exit, `start` and `free_port`.
source interop/lib.sh
work=$tmp

die() { echo "load: cannot run: $*"; echo "0 passed, 1 failed"; exit 2; }

# --- tools -------------------------------------------------------------------------------
if [ -z "${ALIPAY_SIM:-}" ] || [ -z "${ALIPAY_HARNESS:-}" ]; then
  cargo build --locked -q -p alipay-sim -p alipay-harness --bins || die "cargo build failed"
  ALIPAY_SIM=$ROOT/target/debug/alipay-sim
  ALIPAY_HARNESS=$ROOT/target/debug/alipay-harness
fi
python3 -c 'import venv, ensurepip' 2>/dev/null || {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null || die "apt-get install python3-venv failed"
}
venv=$ROOT/target/load-venv
stamp=$venv/requirements.sha256
want=$(sha256sum load/requirements.txt | cut -d' ' -f1)
if [ ! -x "$venv/bin/locust" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "== load: installing Locust into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" || die "python3 -m venv failed"
  "$venv/bin/pip" install -q --disable-pip-version-check -r load/requirements.txt || die "pip install failed"
  echo "$want" > "$stamp"
fi
LOCUST=$venv/bin/locust
echo "== load: $("$LOCUST" --version 2>&1 | head -1)"

# Starts a merchant (extra args: e.g. --broken skip-verify); sets $merchant_url.
start_merchant() {
  start "merchant.$RANDOM" "$ALIPAY_HARNESS" merchant --addr 127.0.0.1:0 "$@" ||
    die "the merchant did not start"
  merchant_url=$url
}

passed=0
failed=0
check() { # name, status (0 = pass)
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "== load: $1: ok"
  else failed=$((failed + 1)); echo "== load: $1: FAILED"; fi
}

# --- the corpus ------------------------------------------------------------------------------
mix=genuine=80,platform=10,tamper=10
"$ALIPAY_SIM" corpus --count 4000 --mix "$mix" --seed 7 --out "$work/corpus.ndjson" || die "corpus failed"
"$ALIPAY_SIM" corpus --count 1000 --mix "$mix" --seed 8 --format csv --out "$work/corpus.csv" || die "corpus failed"

common=(-f load/locustfile.py --headless --only-summary --stop-timeout 2 --loglevel WARNING)

# The summary line of a run against a correct merchant.
clean='^corpus check: [1-9][0-9]* requests, 0 wrong mobile, 0 missing mobile, 0 leaked mobile, 0 unexpected status, 0 transport error, 0 other failures$'

# headless NAME WANT_RC PATTERN NAME-OF-CHECK LOCUST-ARGS...: one headless run in this process;
# passes when Locust exits WANT_RC and its log has a line matching PATTERN.
headless() {
  local log=$work/$1.log want=$2 pattern=$3 what=$4 rc ok=0
  shift 4
  "$LOCUST" "${common[@]}" "$@" >"$log" 2>&1
  rc=$?
  grep -E '^corpus check' "$log"
  [ "$rc" -eq "$want" ] || ok=1
  grep -q "$pattern" "$log" || ok=1
  [ "$ok" -eq 0 ] || tail -40 "$log"
  check "$what" "$ok"
}

# --- 1. distributed: one master, two workers ---------------------------------------------
start_merchant
port=$(free_port)
log=$work/distributed.log
"$LOCUST" "${common[@]}" --master --master-bind-host 127.0.0.1 --master-bind-port "$port" \
  --expect-workers 2 --expect-workers-max-wait 60 -u 8 -r 8 -t "${SECONDS_PER_RUN}s" \
  --host "$merchant_url" --corpus "$work/corpus.ndjson" >"$log" 2>&1 &
master=$!
pids+=($master)
for w in 1 2; do
  "$LOCUST" -f load/locustfile.py --worker --master-host 127.0.0.1 --master-port "$port" \
    --loglevel WARNING >"$work/worker$w.log" 2>&1 &
  pids+=($!)
done
wait "$master"; rc=$?
grep -E '^corpus (check|slice)' "$log"
ok=0
[ "$rc" -eq 0 ] || ok=1
grep -q "$clean" "$log" || ok=1
[ "$(grep -c '^corpus slice [01] of 2: sent [1-9]' "$log")" -eq 2 ] || ok=1
[ "$ok" -eq 0 ] || { echo "--- master log"; tail -40 "$log"; tail -20 "$work"/worker*.log; }
check "distributed (1 master, 2 workers), NDJSON, reference merchant: zero wrong mobiles" "$ok"

# --- 2. one process, CSV corpus ---------------------------------------------------------------
headless csv 0 "$clean" "one process, CSV corpus, reference merchant: zero failures" \
  -u 4 -r 4 -t 3s --host "$merchant_url" --merchant-path /api/phone --corpus "$work/corpus.csv"

# --- 3. the check catches a merchant that accepts forged envelopes --------------------------
start_merchant --broken skip-verify
headless broken 1 '^corpus check: .* [1-9][0-9]* leaked mobile' "a skip-verify merchant is caught leaking forged mobiles (exit 1)" \
  -u 4 -r 4 -t 3s --host "$merchant_url" --corpus "$work/corpus.ndjson"

# --- 4. ... and a merchant that hands one user's mobile to another under load ------------------
start_merchant --broken shared-cipher
headless shared 1 '^corpus check: [0-9]* requests, [1-9][0-9]* wrong mobile' "a shared-cipher merchant is caught answering other users' mobiles (exit 1)" \
  -u 8 -r 8 -t 3s --host "$merchant_url" --corpus "$work/corpus.ndjson"

echo "load: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
