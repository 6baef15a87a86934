#!/usr/bin/env bash
# Container stage: builds the image with docker/build.sh and checks it as a user would use it.
# Self-contained: installs Debian's docker.io when Docker is missing, starts
# `dockerd --bridge=none --iptables=false` when no daemon runs (and stops it again), runs every
# container with `--network host` on a free loopback port (ALIPAY_SIM_ADDR=127.0.0.1:PORT), and
# removes every container it started. Never creates a network.
#
# Ends with `N passed, M failed`; exit 0 only when all passed (2 when it could not run).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
ROOT=$PWD
IMAGE=${ALIPAY_SIM_IMAGE:-alipay-sim:local}
SIM_HOST=$ROOT/target/x86_64-unknown-linux-gnu/release/alipay-sim   # the same static binary, on the host

work=$(mktemp -d)
containers=()
dockerd_pid=
compose=()
cleanup() {
  for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1; done
  [ ${#compose[@]} -eq 0 ] || "${compose[@]}" down -t 2 >/dev/null 2>&1
  if [ -n "$dockerd_pid" ]; then
    kill "$dockerd_pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
    echo "== docker: stopped the dockerd this stage started"
  fi
  rm -rf "$work"
}
trap cleanup EXIT

die() { echo "docker: cannot run: $*"; echo "docker: 0 passed, 1 failed"; exit 2; }

passed=0
failed=0
check() { # description, status (0 = pass)
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "== docker: $1: ok"
  else failed=$((failed + 1)); echo "== docker: $1: FAILED"; fi
}

# --- Docker ------------------------------------------------------------------------------
need=()
command -v docker >/dev/null || need+=(docker.io)
command -v dockerd >/dev/null || need+=(docker.io)
command -v curl >/dev/null || need+=(curl)
command -v docker-compose >/dev/null || need+=(docker-compose)
if [ ${#need[@]} -gt 0 ]; then
  echo "== docker: installing ${need[*]} (apt)"
  export DEBIAN_FRONTEND=noninteractive
  # The package must not start Debian's own dockerd (on a systemd host it would create the
  # docker0 bridge): a policy-rc.d refusing every service start, for the length of the install.
  policy=/usr/sbin/policy-rc.d made_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
  fi
  apt_rc=0
  { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; } || apt_rc=$?
  [ -z "$made_policy" ] || rm -f "$policy"
  [ "$apt_rc" -eq 0 ] || die "apt-get install ${need[*]} failed"
fi
if ! docker info >/dev/null 2>&1; then
  echo "== docker: starting dockerd --bridge=none --iptables=false"
  # Its log goes under target/, which a fresh clone does not have before its first build.
  mkdir -p "$ROOT/target"
  dockerd --bridge=none --iptables=false --ip6tables=false >"$ROOT/target/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { tail -20 "$ROOT/target/dockerd.log"; die "dockerd did not come up"; }
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ms() { date +%s%3N; }
# Waits up to $2 seconds for $1 to answer 200.
wait_http() { local end=$(( $(ms) + $2 * 1000 )); while [ "$(ms)" -lt "$end" ]; do curl -sf -o /dev/null "$1" && return 0; sleep 0.05; done; return 1; }
# Starts a detached container named $1 serving on 127.0.0.1:$2; extra docker args follow.
run_sim() {
  local name=$1 port=$2; shift 2
  containers+=("$name")
  docker run -d --name "$name" --network host -e ALIPAY_SIM_ADDR="127.0.0.1:$port" "$@" "$IMAGE" >/dev/null
}

# --- build ---------------------------------------------------------------------------------
bash docker/build.sh "$IMAGE" | tee "$work/build.log" || die "docker/build.sh failed"
size=$(docker image inspect --format '{{.Size}}' "$IMAGE")
ok=0; [ "$size" -lt $((25 * 1024 * 1024)) ] || ok=1
check "image is under 25 MiB ($((size / 1024)) KiB)" "$ok"

inspect() { docker image inspect --format "$1" "$IMAGE"; }
ok=0
[ "$(inspect '{{.Config.User}}')" = "10001:10001" ] || ok=1
[ "$(inspect '{{index .Config.Labels "org.opencontainers.image.title"}}')" = "alipay-sim" ] || ok=1
[ "$(inspect '{{index .Config.Labels "org.opencontainers.image.version"}}')" != "unknown" ] || ok=1
inspect '{{.Config.Healthcheck.Test}}' | grep -q 'alipay-sim health' || ok=1
inspect '{{range .Config.Env}}{{println .}}{{end}}' | grep -qx 'ALIPAY_SIM_ADDR=0.0.0.0:8780' || ok=1
check "non-root user, OCI labels, HEALTHCHECK, serve on 0.0.0.0:8780 by default" "$ok"

# --- the simulator ---------------------------------------------------------------------------
port=$(free_port)
name=alipay-sim-test-$$
t0=$(ms)
run_sim "$name" "$port" || die "docker run failed"
ok=0; wait_http "http://127.0.0.1:$port/healthz" 20 || ok=1
echo "== docker: first answer $(( $(ms) - t0 )) ms after docker run"
curl -sf "http://127.0.0.1:$port/" >"$work/page.html" || ok=1
grep -q '<title>Mini-program login emulator' "$work/page.html" || ok=1
check "the emulator page answers" "$ok"

ok=0
curl -sf -X POST "http://127.0.0.1:$port/jsapi/apps/demo/users/alice/getPhoneNumber" >"$work/res.json" || ok=1
docker exec -i "$name" alipay-sim open --callback <"$work/res.json" >"$work/opened.json" || ok=1
grep -q '"mobile":"13812345678"' "$work/opened.json" || ok=1
[ "$ok" -eq 0 ] || { cat "$work/res.json" "$work/opened.json"; docker logs "$name" 2>&1 | tail -5; }
check "getPhoneNumber answers an envelope that opens to alice's mobile" "$ok"

ok=1
for _ in $(seq 60); do
  status=$(docker inspect --format '{{.State.Health.Status}}' "$name")
  [ "$status" = healthy ] && { ok=0; break; }
  sleep 0.5
done
check "the health check turns healthy (status: $status)" "$ok"

# Name resolution inside the image (static glibc, /etc/nsswitch.conf + /etc/hosts), and the
# forwarding route resolving a name: a merchant started in the container, reached as localhost.
mport=$(free_port)
docker exec -d "$name" alipay-harness merchant --addr "127.0.0.1:$mport"
ok=0
wait_http "http://127.0.0.1:$port/healthz" 5 || ok=1
docker exec "$name" alipay-sim health --url "http://localhost:$port/healthz" || ok=1
python3 - "$work/res.json" "$mport" >"$work/forward.json" <<'EOF' || ok=1
import json, sys
res = json.load(open(sys.argv[1]))
print(json.dumps({"url": f"http://localhost:{sys.argv[2]}/phone", "body": res["response"]}))
EOF
for _ in $(seq 50); do
  curl -s -X POST "http://127.0.0.1:$port/__forward" -H 'content-type: application/json' \
    --data-binary @"$work/forward.json" >"$work/forwarded.json"
  grep -q '"status":200' "$work/forwarded.json" && break
  sleep 0.1
done
grep -q '"status":200' "$work/forwarded.json" || ok=1
grep -q '13812345678' "$work/forwarded.json" || ok=1
[ "$ok" -eq 0 ] || cat "$work/forwarded.json"
check "names resolve inside the image (health via localhost, /__forward to localhost)" "$ok"

ok=0
docker exec "$name" sh -c true >/dev/null 2>&1 && ok=1   # a scratch image has no shell
cmp -s <(docker exec "$name" alipay-sim --version) <("$SIM_HOST" --version) || ok=1
docker cp "$name:/etc/ssl/certs/ca-certificates.crt" "$work/ca.crt" && [ "$(grep -c 'BEGIN CERTIFICATE' "$work/ca.crt")" -gt 50 ] || ok=1
check "scratch image: no shell, the host's static binary, a CA bundle" "$ok"

ok=0
t0=$(ms)
docker stop -t 10 "$name" >/dev/null || ok=1
stop_ms=$(( $(ms) - t0 ))
[ "$stop_ms" -lt 2000 ] || ok=1
[ "$(docker inspect --format '{{.State.ExitCode}}' "$name")" = 0 ] || ok=1
check "docker stop takes ${stop_ms} ms (< 2000) and serve exits 0" "$ok"

# --- volumes: a key set and a catalogue of the user's ----------------------------------------
"$SIM_HOST" keys generate --out "$work/keys" >/dev/null || die "keys generate failed"
chmod -R a+rX "$work/keys"
port2=$(free_port)
name2=alipay-sim-test-keys-$$
run_sim "$name2" "$port2" -v "$work/keys:/keys:ro" -e ALIPAY_SIM_KEYS=/keys \
  -v "$ROOT/scenarios:/scenarios:ro" -e ALIPAY_SIM_SCENARIOS=/scenarios
ok=0
wait_http "http://127.0.0.1:$port2/healthz" 20 || ok=1
curl -sf -X POST "http://127.0.0.1:$port2/jsapi/apps/demo/users/alice/getPhoneNumber" >"$work/res2.json" || ok=1
"$SIM_HOST" open --callback --keys "$work/keys" <"$work/res2.json" | grep -q '"mobile":"13812345678"' || ok=1
# ... and not with the embedded keys.
# (`open` exits 1 on a refused envelope: read its verdict, not its status.)
"$SIM_HOST" open --callback <"$work/res2.json" >"$work/refused.json"
grep -q '"error":"bad_signature"' "$work/refused.json" || ok=1
check "a mounted key set (ALIPAY_SIM_KEYS=/keys) and catalogue (ALIPAY_SIM_SCENARIOS) are used" "$ok"

mkdir -p "$work/empty"
ok=0
docker run --rm --network host -v "$work/empty:/scenarios:ro" -e ALIPAY_SIM_SCENARIOS=/scenarios \
  -e ALIPAY_SIM_ADDR="127.0.0.1:$(free_port)" "$IMAGE" >"$work/bad.out" 2>&1
rc=$?
[ "$rc" -eq 2 ] || ok=1
grep -q 'no \*.toml scenario files' "$work/bad.out" || ok=1
[ "$ok" -eq 0 ] || { echo "exit $rc"; cat "$work/bad.out"; }
check "an empty catalogue mount exits 2 naming the problem" "$ok"

# --- the harness and the corpus inside the image --------------------------------------------
ok=0
docker run --rm --network host --entrypoint alipay-harness "$IMAGE" demo >"$work/demo.out" 2>&1 || ok=1
[ "$ok" -eq 0 ] || tail -30 "$work/demo.out"
check "alipay-harness demo passes inside the image" "$ok"

mkdir -p "$work/data" && chown 10001:10001 "$work/data"
ok=0
docker run --rm --network host -v "$work/data:/data" "$IMAGE" corpus --count 200 --mix genuine=9,tamper=1 --out /data/c.ndjson >/dev/null || ok=1
[ "$(wc -l <"$work/data/c.ndjson" 2>/dev/null)" = 200 ] || ok=1
check "corpus writes into a mounted /data as the non-root user" "$ok"

# --- README's GitHub Actions step: the harness from the image, contract and reports in a mount --
mport=$(free_port)
mname=alipay-sim-test-merchant-$$
containers+=("$mname")
docker run -d --name "$mname" --network host --entrypoint alipay-harness "$IMAGE" \
  merchant --addr "127.0.0.1:$mport" >/dev/null
mkdir -p "$work/checkout/ci"
cp harness/contracts/reference.toml "$work/checkout/ci/harness.toml"
ok=0
for _ in $(seq 50); do curl -s -o /dev/null -X POST "http://127.0.0.1:$mport/api/phone" && break; sleep 0.1; done
(
  cd "$work/checkout" &&
  docker run --rm --network host --user "$(id -u):$(id -g)" -v "$PWD:/work" -w /work \
    --entrypoint alipay-harness "$IMAGE" \
    run --endpoint "http://127.0.0.1:$mport/api/phone" --contract ci/harness.toml \
    --shard 1/2 --fail-on high \
    --format terminal --format junit=harness-junit.xml --format json=harness.json
) >"$work/gha.log" 2>&1 || ok=1
grep -q '<testsuite' "$work/checkout/harness-junit.xml" 2>/dev/null || ok=1
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$work/checkout/harness.json" 2>/dev/null || ok=1
[ "$ok" -eq 0 ] || tail -20 "$work/gha.log"
check "README's GitHub Actions harness step (contract and reports through a mount) passes" "$ok"
docker rm -f "$mname" >/dev/null 2>&1

# --- the compose example, as README shows it, on host networking -----------------------------
sim_port=$(free_port)
merchant_port=$(free_port)
export SIM_PORT=$sim_port MERCHANT_PORT=$merchant_port ALIPAY_SIM_IMAGE=$IMAGE
# Compose refuses published ports on the host network, and an override can only add ports: the
# test runs the example with its `ports:` entries cut out, everything else as written.
awk '/^    ports:$/ {skip=1; next} skip && /^      - / {next} {skip=0; print}' \
  docker-compose.example.yml >"$work/docker-compose.example.yml"
grep -q '^ *ports:' "$work/docker-compose.example.yml" && die "could not cut the ports out of the compose example"
compose=(docker-compose -p "alipay-sim-test-$$" --project-directory "$ROOT"
  -f "$work/docker-compose.example.yml" -f docker/compose.host.yml)
networks_before=$(docker network ls -q | sort)
"${compose[@]}" up --exit-code-from harness >"$work/compose.log" 2>&1
rc=$?
"${compose[@]}" down -t 2 >/dev/null 2>&1
compose=()
ok=0
[ "$rc" -eq 0 ] || ok=1
grep -q 'harness.*0 failed' "$work/compose.log" || ok=1
[ "$(docker network ls -q | sort)" = "$networks_before" ] || { echo "a network was created"; ok=1; }
[ "$ok" -eq 0 ] || { echo "exit $rc"; tail -40 "$work/compose.log"; }
check "docker-compose.example.yml: simulator and merchant healthy, the one-shot harness passes" "$ok"

echo "docker: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
