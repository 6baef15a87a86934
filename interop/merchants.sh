#!/usr/bin/env bash
# interop/merchants.sh -- the conformance harness against merchants written on the official SDKs.
#
# Starts node/merchant.mjs (official Node SDK, node:http), python/merchant.py (official Python SDK
# through python/sdk.py, http.server) and node/merchant.mjs --cert-dir keys/cert (certificate mode,
# "nodecert"), each on a free port on 127.0.0.1, and runs
#   alipay-harness run --endpoint http://127.0.0.1:PORT/decrypt --contract harness/contracts/reference.toml \
#       --keys keys --format json=REPORT --format terminal --expected-failures interop/expected/SDK.toml
# against each (plus --merchant-signing cert for nodecert). Then it checks, from the JSON report, that:
#   - the harness exited 0 (nothing failed but the known failures, at any severity);
#   - no case ended in an `error` verdict;
#   - the cases that failed are EXACTLY the documented deviations of that SDK, each with the verdict
#     `expected_failure` (interop/expected/node.toml and python.toml; interop/README.md "What the
#     harness finds in code built on the official SDKs" explains each one). A documented deviation
#     that starts passing (`unexpected_pass`) or does not run is a failure too: update the file and
#     the README.
# Needs node/node_modules and the Python venv that run.sh installs (INTEROP_PYTHON, else .venv).
# Environment: ALIPAY_HARNESS=<path> uses that binary instead of `cargo build -p alipay-harness`.
# Prints ok/FAIL lines and ends with "N passed, M failed"; exits 1 on any failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
start_prefix=merchant.
# shellcheck source=interop/lib.sh
source "$here/lib.sh"
export PYTHONDONTWRITEBYTECODE=1 NO_COLOR=1

# The cases each merchant fails, all below high severity: findings about the official SDKs, as
# --expected-failures files. The Node merchant in certificate mode (--cert-dir keys/cert): the
# same SDK, the same findings.
EXPECTED_node="$here/expected/node.toml"
EXPECTED_python="$here/expected/python.toml"
EXPECTED_nodecert=$EXPECTED_node

python=${INTEROP_PYTHON:-$here/.venv/bin/python}
[ -d "$here/node/node_modules/alipay-sdk" ] || { fail setup "node/node_modules has no alipay-sdk: run interop/run.sh (or npm ci in interop/node)"; finish; }
[ -x "$python" ] || { fail setup "no Python venv at $python: run interop/run.sh (it builds interop/.venv)"; finish; }
contract="$root/harness/contracts/reference.toml"
[ -f "$contract" ] || { fail setup "contract $contract not found"; finish; }

harness=${ALIPAY_HARNESS:-}
if [ -z "$harness" ]; then
  echo "== building alipay-harness"
  harness=$(bash "$here/cargo-bin.sh" alipay-harness) || { fail setup "cargo build -p alipay-harness failed"; finish; }
fi
[ -x "$harness" ] || { fail setup "alipay-harness binary not found (got '$harness')"; finish; }
echo "using $harness"

# check <name> [harness flags...]: runs the harness against the merchant at $url and judges its JSON report.
check() {
  local name=$1 expected_var="EXPECTED_$1" rc=0 t0 t1
  shift
  local report="$tmp/$name.report.json"
  echo "== harness against $name ($url)"
  t0=$(date +%s.%N)
  "$harness" run --endpoint "$url/decrypt" --contract "$contract" --keys "$root/keys" \
    --format "json=$report" --format terminal --expected-failures "${!expected_var}" "$@" >"$tmp/$name.harness.out" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  sed "s/^/  /" "$tmp/$name.harness.out"
  echo "# $name: harness run took $(python3 -c "print(f'{$t1 - $t0:.2f}')") s (exit $rc)"
  if [ "$rc" = 0 ]; then
    pass "merchant.$name.exit-code"
  else
    fail "merchant.$name.exit-code" "alipay-harness exited $rc with --expected-failures ${!expected_var} (0 expected)"
    echo "# last lines of the $name merchant's log:"
    tail -n 20 "$tmp/$name.log" | sed "s/^/#   /"
  fi
  [ -s "$report" ] || { fail "merchant.$name.report" "no JSON report written"; return; }
  # One "ok|FAIL|skip <id>: reason" line per case, from the report.
  python3 - "$report" "${!expected_var}" "$name" >"$tmp/$name.verdicts" <<'PY' || echo "FAIL report: cannot read the JSON report" >>"$tmp/$name.verdicts"
import json, sys, tomllib
report = json.load(open(sys.argv[1], encoding="utf-8"))
expected = {e["id"] for e in tomllib.load(open(sys.argv[2], "rb"))["expected"]}
name = sys.argv[3]
seen = set()
passes = 0
for case in report["cases"]:
    cid, verdict, severity = case["id"], case["verdict"], case["severity"]
    seen.add(cid)
    label = "merchant.%s.%s" % (name, cid)
    if verdict == "skip":
        print("skip %s: %s" % (label, case.get("reason", "")))
    elif cid in expected and verdict == "expected_failure":
        print("ok %s (documented deviation, %s)" % (label, severity))
    elif cid in expected:
        print("FAIL %s: documented to fail, but the verdict is %s: update %s and README.md" % (label, verdict, sys.argv[2]))
    elif verdict == "pass":
        passes += 1
        print("ok %s" % label)
    else:
        reason = " ".join(str(case.get("reason", "")).split())[:300]
        print("FAIL %s: %s (%s): %s" % (label, verdict, severity, reason))
for cid in sorted(expected - seen):
    print("FAIL merchant.%s.%s: documented deviation, but the report has no such case" % (name, cid))
for n in report.get("expected_not_run", []):
    print("FAIL merchant.%s.%s: documented deviation, but it did not run (%s)" % (name, n["id"], n["why"]))
if passes == 0:
    print("FAIL merchant.%s.report: no case passed" % name)
PY
  relay "$tmp/$name.verdicts"
}

if start node node "$here/node/merchant.mjs" --port 0 --keys "$root/keys"; then check node; fi
if start python "$python" "$here/python/merchant.py" --port 0 --keys "$root/keys"; then check python; fi
if start nodecert node "$here/node/merchant.mjs" --port 0 --keys "$root/keys" --cert-dir "$root/keys/cert"; then
  check nodecert --merchant-signing cert
fi

finish
