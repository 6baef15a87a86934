#!/usr/bin/env bash
# interop/login.sh -- the login (my.getAuthCode -> alipay.system.oauth.token -> getPhoneNumber)
# against the simulator's OpenAPI gateway, with code we did not write (CI stage `login`).
#
#   bash interop/login.sh      # from any cwd; last line "N passed, M failed"; exit 1 on any failure
#
# 1. Installs what it needs (lib.sh: install_sdks, install_toolchains) and builds the Java, Go and
#    PHP merchants (javac, go build with GOPROXY=off, php -l). $ALIPAY_SIM and $ALIPAY_HARNESS, or
#    interop/cargo-bin.sh builds them.
# 2. Starts `alipay-sim serve --addr 127.0.0.1:0`.
# 3. The official SDKs against its gateway: node/login-sdk.mjs (Node SDK: v2 exec with validateSign,
#    v3 curl, key and certificate mode) and python/login_sdk.py (Python SDK: DefaultAlipayClient with
#    server_url): a genuine exchange, a request signed with the wrong key (40002
#    isv.invalid-signature), a reused code (40002 isv.code-invalid), an answer whose signature the
#    admin fault gateway_bad_sign_rate broke (refused). Then every js and python code block of
#    docs/login-sdks.md and docs/login.md, as written there.
# 4. The five merchants (node/merchant.mjs, python/merchant.py, java/Merchant.java, go/, php/), each
#    configured from the app `demo`'s bundle (ALIPAY_PUBLIC_KEY, ALIPAY_AES_KEY, ALIPAY_APP_ID,
#    ALIPAY_APP_PRIVATE_KEY) and ALIPAY_GATEWAY=<simulator>/gateway.do: login_check.py sends POST
#    /login a genuine login (200, alice's open_id and mobile), a reused code (401 auth_code
#    isv.code-invalid), a login while every gateway answer is mis-signed (401 gateway_signature), a
#    good code with a forged envelope (400) and a malformed request (400). Then the harness's own
#    login mode against the same merchant: `alipay-harness run --login-endpoint URL/login
#    --simulator SIM --contract harness/contracts/reference.toml`, every login.* case (genuine,
#    auth_base, reused/expired/other-app codes, smuggled ids and mobile, busy/502/slow gateway, a
#    mis-signed answer) must pass: one ok/FAIL line per case, "<lang>.harness.<case id>".
# Nothing leaves 127.0.0.1. Prints the wall time of each part.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=interop/lib.sh
source "$here/lib.sh"
export PYTHONDONTWRITEBYTECODE=1 NO_COLOR=1

t0=$(date +%s%N)
ms() { echo $((($(date +%s%N) - t0) / 1000000)); }

# --- 1. what it needs -------------------------------------------------------------------------------
install_sdks || finish
install_toolchains || finish
sim=${ALIPAY_SIM:-}
[ -n "$sim" ] || sim=$(bash "$here/cargo-bin.sh" alipay-sim) || { fail setup "cargo build -p alipay-sim failed"; finish; }
[ -x "$sim" ] || { fail setup "alipay-sim not executable ('$sim')"; finish; }
harness=${ALIPAY_HARNESS:-}
[ -n "$harness" ] || harness=$(bash "$here/cargo-bin.sh" alipay-harness) || { fail setup "cargo build -p alipay-harness failed"; finish; }
[ -x "$harness" ] || { fail setup "alipay-harness not executable ('$harness')"; finish; }
built=()
if javac -Xlint:all -Werror -d "$tmp/java" "$here/java/Merchant.java" 2>"$tmp/javac.log"; then built+=(java); else fail build.java "$(head -n 20 "$tmp/javac.log")"; fi
if (cd "$here/go" && GOPROXY=off GOFLAGS=-mod=readonly go vet . && GOPROXY=off GOFLAGS=-mod=readonly go build -o "$tmp/go-merchant" .) 2>"$tmp/go.log"; then
  built+=(go)
else
  fail build.go "$(head -n 20 "$tmp/go.log")"
fi
if php -l "$here/php/merchant.php" >"$tmp/php.log" 2>&1; then built+=(php); else fail build.php "$(cat "$tmp/php.log")"; fi
echo "# setup and builds: $(ms) ms"

# --- 2. the simulator -------------------------------------------------------------------------------
start sim "$sim" serve --addr 127.0.0.1:0 || finish
sim_url=$url
sim_pid=$pid

# --- 3. the official SDKs ---------------------------------------------------------------------------
t=$(ms)
tally node-sdk node "$here/node/login-sdk.mjs" "$sim_url"
tally python-sdk "$INTEROP_PYTHON" "$here/python/login_sdk.py" "$sim_url"
# The code blocks of docs/login-sdks.md, each run as it is written there.
"$INTEROP_PYTHON" - "$tmp/snippets" "$root/docs/login-sdks.md" "$root/docs/login.md" <<'PY' || fail docs.extract "cannot read docs/login-sdks.md or docs/login.md"
import os, re, sys
os.makedirs(sys.argv[1])
for doc in sys.argv[2:]:
    text = open(doc, encoding="utf-8").read()
    name = os.path.basename(doc)[: -len(".md")]
    for i, (lang, code) in enumerate(re.findall(r"^```(js|python)\n(.*?)^```$", text, re.S | re.M), 1):
        open(os.path.join(sys.argv[1], "%s.%d.%s" % (name, i, lang)), "w", encoding="utf-8").write(code)
PY
snippets=0
for snippet in "$tmp/snippets"/*; do
  [ -e "$snippet" ] || continue
  snippets=$((snippets + 1))
  name=docs.$(basename "$snippet")
  rc=0
  case $snippet in
    *.js) (cd "$here/node" && ALIPAY_SIM_URL=$sim_url ALIPAY_CERT_DIR=$root/keys/cert node --input-type=module - <"$snippet") >"$tmp/snippet.out" 2>&1 || rc=$? ;;
    *.python) ALIPAY_SIM_URL=$sim_url "$INTEROP_PYTHON" - <"$snippet" >"$tmp/snippet.out" 2>&1 || rc=$? ;;
  esac
  if [ "$rc" = 0 ]; then pass "$name ($(tr '\n' ' ' <"$tmp/snippet.out" | cut -c1-150))"; else fail "$name" "exit $rc: $(tail -n 5 "$tmp/snippet.out")"; fi
done
[ "$snippets" -ge 5 ] || fail docs.snippets "found $snippets code blocks in docs/login-sdks.md and docs/login.md, expected at least 5"
echo "# SDK proofs: $(($(ms) - t)) ms"

# --- 4. the merchants' POST /login ------------------------------------------------------------------
"$INTEROP_PYTHON" - "$sim_url/__admin/apps/demo/bundle" >"$tmp/bundle.env" <<'PY' || { fail setup "cannot read the demo bundle"; finish; }
import json, shlex, sys, urllib.request
b = json.load(urllib.request.urlopen(sys.argv[1], timeout=10))
for name, key in (("ALIPAY_PUBLIC_KEY", "alipay_public_key"), ("ALIPAY_AES_KEY", "aes_key"),
                  ("ALIPAY_APP_ID", "app_id"), ("ALIPAY_APP_PRIVATE_KEY", "app_private_key")):
    print("export %s=%s" % (name, shlex.quote(b[key])))
PY
# shellcheck disable=SC1091
source "$tmp/bundle.env"
export ALIPAY_GATEWAY="$sim_url/gateway.do" ALIPAY_SIGN_TYPE=RSA2

# shellcheck disable=SC2317 # called through bash -c
merchant() { # becomes (exec) one merchant, so that stop's kill reaches it
  case $1 in
    node) exec node "$here/node/merchant.mjs" --port 0 ;;
    python) exec "$INTEROP_PYTHON" "$here/python/merchant.py" --port 0 ;;
    java) exec java -cp "$tmp/java" Merchant --listen 127.0.0.1:0 ;;
    go) exec "$tmp/go-merchant" --listen 127.0.0.1:0 ;;
    php) exec bash "$here/php/serve.sh" --listen 127.0.0.1:0 ;;
  esac
}
export -f merchant
export here tmp INTEROP_PYTHON
for lang in node python "${built[@]}"; do
  t=$(ms)
  start "$lang.merchant" bash -c 'merchant "$1"' - "$lang" || continue
  "$INTEROP_PYTHON" "$here/login_check.py" "$sim_url" "$url" "$lang" >"$tmp/$lang.login" 2>&1 ||
    echo "FAIL $lang.login: login_check.py crashed: $(tail -n 3 "$tmp/$lang.login")" >>"$tmp/$lang.login"
  # The harness's login cases against the same merchant and simulator (it changes the
  # simulator's faults and clock, one case at a time, and puts the faults back).
  "$harness" run --login-endpoint "$url/login" --simulator "$sim_url" \
    --contract "$root/harness/contracts/reference.toml" --format "json=$tmp/$lang.harness.json" \
    >/dev/null 2>"$tmp/$lang.harness.err"
  "$INTEROP_PYTHON" - "$tmp/$lang.harness.json" "$lang" >>"$tmp/$lang.login" 2>&1 <<'PY' ||
import json, sys
report = json.load(open(sys.argv[1], encoding="utf-8"))
cases = [c for c in report["cases"] if c["id"].startswith("login.")]
if len(cases) < 13:
    print("FAIL %s.harness: %d login cases in the report, expected 13" % (sys.argv[2], len(cases)))
for c in cases:
    if c["verdict"] == "pass":
        print("ok %s.harness.%s" % (sys.argv[2], c["id"]))
    else:
        print("FAIL %s.harness.%s: %s: %s; answer %s %s" % (sys.argv[2], c["id"], c["verdict"], c["reason"],
              c["answer"]["status"], c["answer"]["body_excerpt"][:200]))
PY
    echo "FAIL $lang.harness: no report ($(tail -n 3 "$tmp/$lang.harness.err"))" >>"$tmp/$lang.login"
  relay "$tmp/$lang.login"
  if grep -q '^FAIL' "$tmp/$lang.login"; then
    echo "# last lines of the $lang merchant's log:"
    tail -n 15 "$tmp/$lang.merchant.log" | sed 's/^/#   /'
  fi
  stop
  echo "# $lang merchant: $(($(ms) - t)) ms"
done

# The simulator stops gracefully.
rc=0
kill -TERM "$sim_pid" 2>/dev/null
wait "$sim_pid" || rc=$?
if [ "$rc" = 0 ]; then pass sim.graceful_shutdown; else fail sim.graceful_shutdown "exited $rc after SIGTERM"; fi
echo "# login.sh: $(ms) ms"
finish
