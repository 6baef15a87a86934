#!/usr/bin/env bash
# simulator/benches/server.sh -- load benchmark of `alipay-sim serve` (reported, never asserted).
#
# Measures, in one run on this machine, with wrk (Debian: apt-get install wrk):
#   - requests/s of an axum "hello" baseline (examples/server_bench.rs, same stack: axum + tokio);
#   - requests/s of my.getPhoneNumber for a repeated state (demo/alice: the sealed answer is cached);
#   - requests/s of my.getPhoneNumber for a fresh mobile per request (demo/erin: one RSA2 signature
#     and one AES encryption per request);
#   - RSS of alipay-sim idle (after start-up) and loaded (peak, VmHWM);
#   - the time from spawning `alipay-sim serve` to its first getPhoneNumber answer;
#   - the fresh-mobile rate as a ratio of `openssl speed -multi $(nproc) rsa2048` sign/s, same run;
#   - for each wrk run, the server's CPU time per request (from /proc/PID/stat): wrk runs on the
#     same cores, so this is the steadier measure of what a route costs next to the baseline.
# Usage: simulator/benches/server.sh [DURATION_SECONDS] [CONNECTIONS]   (default 10 s, 64 connections;
#        ROUNDS=N alternating baseline/repeated rounds, default 3)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
duration=${1:-10}
conns=${2:-64}
threads=2
command -v wrk >/dev/null || { echo "wrk not found (apt-get install wrk)" >&2; exit 2; }

cd "$root"
cargo build --release -q -p alipay-sim --bin alipay-sim --example server_bench
sim="$root/target/release/alipay-sim"
helper="$root/target/release/examples/server_bench"

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# start NAME CMD...: starts a server that prints "listening on http://ADDR" first; sets $url, $pid.
start() {
  local name=$1
  shift
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pid=$!
  pids+=("$pid")
  url=""
  for _ in $(seq 1 100); do
    url=$(sed -n 's/^listening on //p' "$tmp/$name.out" 2>/dev/null | head -n 1 || true)
    [ -n "$url" ] && return 0
    sleep 0.05
  done
  echo "$name did not start: $(cat "$tmp/$name.err")" >&2
  exit 1
}

rss_kb() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }

cat >"$tmp/post.lua" <<'EOF'
wrk.method = "POST"
EOF

# cpu_ticks PID: the process's user + system CPU time so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_s=$(getconf CLK_TCK)

# run NAME PID URL [LUA]: prints "NAME requests/s" from wrk's summary, and the server's (PID's) CPU
# time per request: wrk shares the cores, so requests/s also moves with wrk's own cost, while the
# server's CPU per request is what the route itself costs.
run() {
  local name=$1 server=$2 target=$3
  shift 3
  local out before after
  before=$(cpu_ticks "$server")
  out=$(wrk -t"$threads" -c"$conns" -d"${duration}s" --latency "$@" "$target")
  after=$(cpu_ticks "$server")
  echo "$out" >"$tmp/wrk-$name.txt"
  local rps p50 p99 non2xx requests cpu
  rps=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  cpu=$(awk -v t="$((after - before))" -v hz="$ticks_per_s" -v n="$requests" 'BEGIN {printf "%.2f", t / hz * 1e6 / n}')
  printf '%-28s %12s req/s   p50 %-9s p99 %-9s server CPU %6s us/req %s\n' "$name" "$rps" "$p50" "$p99" "$cpu" "${non2xx:+non-2xx: $non2xx}"
  eval "rps_$name=$rps"
  eval "cpu_$name=$cpu"
}

echo "# machine: $(nproc) cores, $(uname -sr); wrk -t$threads -c$conns -d${duration}s"
echo "# alipay-sim $("$sim" --version | awk '{print $2}')"

start hello "$helper" hello 127.0.0.1:0
hello_url=$url
hello_pid=$pid
start sim env RUST_LOG=warn "$sim" serve --addr 127.0.0.1:0
sim_url=$url
sim_pid=$pid
sleep 0.5
idle=$(rss_kb "$sim_pid" VmRSS)

# Warm-up (fills the cache of the repeated state), then the measured runs. The baseline and the
# repeated state alternate for $rounds rounds (a shared machine's background load then hits both
# alike); each round's ratio is printed, and the median ratio is the result.
curl -s -o /dev/null -X POST "$sim_url/jsapi/apps/demo/users/alice/getPhoneNumber"
rounds=${ROUNDS:-3}
ratios=()
cpu_ratios=()
for r in $(seq 1 "$rounds"); do
  run hello_baseline "$hello_pid" "$hello_url/"
  run repeated_state "$sim_pid" "$sim_url/jsapi/apps/demo/users/alice/getPhoneNumber" -s "$tmp/post.lua"
  # shellcheck disable=SC2154
  ratios+=("$(awk -v a="$rps_repeated_state" -v b="$rps_hello_baseline" 'BEGIN {printf "%.2f", a / b}')")
  # shellcheck disable=SC2154
  cpu_ratios+=("$(awk -v a="$cpu_hello_baseline" -v b="$cpu_repeated_state" 'BEGIN {printf "%.2f", a / b}')")
  echo "  round $r: repeated_state / hello_baseline = ${ratios[-1]}x (server CPU per request: baseline / route = ${cpu_ratios[-1]}x)"
done
run fresh_mobile "$sim_pid" "$sim_url/jsapi/apps/demo/users/erin/getPhoneNumber" -s "$tmp/post.lua"
# Every fresh answer is one RSA2 signature, so the signing rate over all cores bounds it:
# `openssl speed -multi $(nproc) rsa2048` in the same run, and the ratio.
if command -v openssl >/dev/null; then
  sign=$(openssl speed -multi "$(nproc)" -seconds "$duration" rsa2048 2>/dev/null |
    awk '/^rsa 2048 bits/ || /^rsa2048/ {for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+$/) n[++c] = $i} END {print n[c - 1]}')
  # shellcheck disable=SC2154
  [ -n "$sign" ] && awk -v f="$rps_fresh_mobile" -v s="$sign" -v n="$(nproc)" \
    'BEGIN {printf "fresh_mobile / openssl sign/s (-multi %d, rsa2048: %.0f sign/s): %.2fx\n", n, s, f / s}'
fi
loaded=$(rss_kb "$sim_pid" VmHWM)
now=$(rss_kb "$sim_pid" VmRSS)

median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
echo "repeated_state / hello_baseline: median ${median}x over $rounds rounds"
cpu_median=$(printf '%s\n' "${cpu_ratios[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
echo "server CPU per request, hello_baseline / repeated_state: median ${cpu_median}x over $rounds rounds"
echo "rss_idle_kb=$idle rss_peak_loaded_kb=$loaded rss_after_load_kb=$now"
"$helper" startup "$sim" 20
