# interop/lib.sh -- what the interop scripts share; sourced, never run.
#
#   source "$here/lib.sh"   # after `set -u`; defines $tmp (removed on exit) and the helpers below
#
# - pass/fail/finish: count ok/FAIL lines; finish prints "N passed, M failed" and exits 0 or 1.
# - relay FILE: counts a check's ok/FAIL lines through pass/fail and prints the other lines.
# - tally NAME COMMAND...: runs a checker whose last line is "N passed, M failed" and adds it up.
# - start NAME COMMAND...: starts a server (a merchant, `alipay-sim serve`) in the background (stdout in $tmp/NAME.stdout, stderr in
#   $tmp/NAME.log), waits up to 30 s for its first line "listening on http://127.0.0.1:PORT" and sets
#   $url and $pid; otherwise records the failure "${start_prefix}NAME.start" and returns 1.
# - stop: stops the server the last start started. Every started server is also stopped on exit.
# - free_port: prints a loopback port that was free a moment ago.
# - install_sdks: `npm ci` in node/ and the venv interop/.venv from python/requirements.txt, each
#   skipped while its stamp matches; exports INTEROP_PYTHON. Returns 1 (after a FAIL line) on failure.
# - install_toolchains: javac, go and php (with openssl) from Debian when missing; 1 on failure.

tmp=$(mktemp -d)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ] && exit 0
  exit 1
}

relay() {
  local line
  while IFS= read -r line; do
    case $line in
      ok\ *) pass "${line#ok }" ;;
      FAIL\ *) fail "${line#FAIL }" ;;
      *) echo "$line" ;;
    esac
  done <"$1"
}

tally() {
  local name=$1 rc=0 last
  shift
  echo "== $name"
  "$@" >"$tmp/$name.out" 2>&1 || rc=$?
  sed "s/^/  /" "$tmp/$name.out"
  last=$(tail -n 1 "$tmp/$name.out")
  if [[ $last =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    passed=$((passed + BASH_REMATCH[1]))
    failed=$((failed + BASH_REMATCH[2]))
    [ "$rc" = 0 ] || [ "${BASH_REMATCH[2]}" != 0 ] || fail "$name" "exited $rc with no failure counted"
  else
    fail "$name" "exited $rc without a summary line"
  fi
}

start_prefix=${start_prefix:-}
start() {
  local name=$1 line="" i
  shift
  : >"$tmp/$name.stdout" # exists before the background job opens it, so head never races it
  "$@" >"$tmp/$name.stdout" 2>"$tmp/$name.log" &
  pid=$!
  pids+=("$pid")
  for ((i = 0; i < 300; i++)); do
    line=$(head -n 1 "$tmp/$name.stdout")
    [ -n "$line" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ $line =~ ^listening\ on\ (http://127\.0\.0\.1:[0-9]+)$ ]]; then
    url=${BASH_REMATCH[1]}
    return 0
  fi
  fail "$start_prefix$name.start" "no 'listening on http://127.0.0.1:PORT' line (got '${line:0:200}'): $(tail -n 5 "$tmp/$name.log")"
  return 1
}

stop() {
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

install_sdks() {
  local here_lib stamp want venv
  here_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  stamp="$here_lib/node/node_modules/.interop-stamp"
  want=$(sha256sum "$here_lib/node/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    (cd "$here_lib/node" && npm ci --prefer-offline --no-audit --no-fund) || { fail setup "npm ci failed"; return 1; }
    echo "$want" >"$stamp"
  fi
  venv="$here_lib/.venv"
  stamp="$venv/.interop-stamp"
  want=$(sha256sum "$here_lib/python/requirements.txt" | cut -d' ' -f1)-$(python3 -c 'import sys; print(sys.version)' | sha256sum | cut -c1-16)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv" || { fail setup "python3 -m venv failed"; return 1; }
    "$venv/bin/pip" install --disable-pip-version-check -q -r "$here_lib/python/requirements.txt" || { fail setup "pip install failed"; return 1; }
    echo "$want" >"$stamp"
  fi
  export INTEROP_PYTHON="$venv/bin/python"
}

install_toolchains() {
  local need=()
  command -v javac >/dev/null || need+=(default-jdk-headless)
  command -v go >/dev/null || need+=(golang-go)
  command -v php >/dev/null || need+=(php-cli)
  if [ ${#need[@]} -gt 0 ]; then
    echo "== installing ${need[*]} (apt)"
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; }; then
      fail setup "apt-get install ${need[*]} failed"
      return 1
    fi
  fi
  php -r 'exit(extension_loaded("openssl") ? 0 : 1);' || { fail setup "php has no openssl extension"; return 1; }
}
