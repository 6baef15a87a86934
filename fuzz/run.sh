#!/usr/bin/env bash
# CI stage: builds every fuzz target (cargo-fuzz, libFuzzer) and runs each for a short time from
# its committed seeds (fuzz/corpus/<target>/) plus the committed crash inputs
# (fuzz/regressions/<target>/). Fails on any crash, timeout or oracle failure.
#
#   bash fuzz/run.sh                 # every target, FUZZ_SECONDS (default 20) each
#   bash fuzz/run.sh json_scan       # some targets
#   FUZZ_SECONDS=120 FUZZ_REGRESSIONS=0 bash fuzz/run.sh   # the longer run in FUZZING.md
#   FUZZ_JOBS=1 bash fuzz/run.sh     # one target at a time (default: one per core)
#
# Toolchain: cargo-fuzz needs nightly-only rustc flags. With a nightly toolchain installed (rustup)
# it uses `cargo +nightly fuzz`; otherwise the stable toolchain with RUSTC_BOOTSTRAP=1.
# Sanitizer: none. Our crates forbid unsafe code, so AddressSanitizer would add build and run time
# without finding anything libFuzzer's panic detection does not; coverage instrumentation and
# debug assertions (overflow checks) stay on.
# Exit: 0 every target passed, 1 a target found something, 2 could not build or run.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

seconds=${FUZZ_SECONDS:-20}
all=(open_envelope json_scan key_parse cert_load scenario_file contract_file judge_answer server_admin server_gateway server_forward)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

# libfuzzer-sys compiles libFuzzer's C++ sources (the cc crate calls `c++`): a machine that only
# has the C toolchain Rust links with needs g++.
if ! command -v c++ >/dev/null; then
  echo "== installing g++ (apt)"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq g++ >/dev/null; } || { echo "apt-get install g++ failed"; exit 2; }
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz (cargo install --locked cargo-fuzz)"
  cargo install --locked cargo-fuzz || { echo "could not install cargo-fuzz"; exit 2; }
fi
toolchain=()
if command -v rustup >/dev/null && rustup toolchain list | grep -q '^nightly'; then
  toolchain=(+nightly)
  echo "== toolchain: nightly ($(rustup run nightly rustc --version))"
else
  export RUSTC_BOOTSTRAP=1
  echo "== toolchain: $(rustc --version) with RUSTC_BOOTSTRAP=1"
fi
flags=(--sanitizer none --debug-assertions)

echo "== building ${#targets[@]} targets"
started=$SECONDS
if [ $# -eq 0 ]; then
  build=(x)  # one build of every target
else
  build=("${targets[@]}")
fi
for b in "${build[@]}"; do
  one=()
  [ "$b" = x ] || one=("$b")
  if ! cargo "${toolchain[@]}" fuzz build "${flags[@]}" "${one[@]}" >"$PWD/build.log" 2>&1; then
    tail -40 build.log
    echo "fuzz build failed (fuzz/build.log)"
    exit 2
  fi
done
echo "== built in $((SECONDS - started)) s"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The committed seeds must be what fuzz/seed.sh makes from today's catalogue, keys and fixtures.
if ! bash seed.sh "$work/seeds" >/dev/null 2>"$work/seed.log"; then
  cat "$work/seed.log"; echo "fuzz/seed.sh failed"; exit 2
fi
if ! diff -rq "$work/seeds" corpus >"$work/seed.diff"; then
  head -20 "$work/seed.diff"
  echo "the committed seeds are stale: run bash fuzz/seed.sh and commit fuzz/corpus"
  failed_seeds=1
fi
# One target per core at a time (FUZZ_JOBS, default nproc): each libFuzzer run is one process on
# one core, so on 2 cores the nine 20 s runs take about 100 s instead of 180 s.
jobs=${FUZZ_JOBS:-$(nproc)}
fuzz_one() { # target: runs it, writes $work/$t.rc
  local t=$1
  mkdir -p "$work/$t" "artifacts/$t"
  local dirs=("$work/$t" "corpus/$t")
  # FUZZ_REGRESSIONS=0 leaves the committed crash inputs out (to measure the search while a
  # known finding is not fixed yet); CI always replays them.
  [ -d "regressions/$t" ] && [ "${FUZZ_REGRESSIONS:-1}" != 0 ] && dirs+=("regressions/$t")
  # New inputs go to the scratch directory (first), never into the committed corpus.
  cargo "${toolchain[@]}" fuzz run "${flags[@]}" "$t" "${dirs[@]}" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$work/$t.log" 2>&1
  echo $? >"$work/$t.rc"
}
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
  fuzz_one "$t" &
  running=$((running + 1))
done
wait
passed=0
failed=0
for t in "${targets[@]}"; do
  rc=$(cat "$work/$t.rc" 2>/dev/null || echo 2)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$t.log" | grep -o '[0-9]*$' || true)
  cov=$(grep -o 'cov: [0-9]*' "$work/$t.log" | tail -1 | grep -o '[0-9]*$' || true)
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1))
    echo "== $t: ok (${execs:-?} executions in ${seconds} s, coverage ${cov:-?})"
  else
    failed=$((failed + 1))
    echo "== $t: FAILED (exit $rc)"
    grep -E 'panicked at|ERROR: libFuzzer|SUMMARY|Test unit written|assertion' "$work/$t.log" | head -20
    echo "   (full log: kept as fuzz/artifacts/$t/run.log; reproduce: cargo fuzz run -s none $t fuzz/artifacts/$t/<file>)"
    cp "$work/$t.log" "artifacts/$t/run.log"
  fi
done
[ -z "${failed_seeds:-}" ] || failed=$((failed + 1))
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ] || exit 1
