#!/usr/bin/env bash
# interop/backends.sh -- the correct back ends in Java, Go and PHP (interop/java, interop/go,
# interop/php), each checked two ways in five merchant configurations.
#
#   bash interop/backends.sh      # from any cwd; last line "N passed, M failed"; exit 1 on any failure
#
# 1. Toolchains: installs what is missing from Debian (javac: default-jdk-headless, go: golang-go,
#    php: php-cli), then builds: `javac -Xlint:all -Werror`, `go vet` + `go build` (no modules,
#    GOPROXY=off), `php -l`.
# 2. Binaries: $ALIPAY_HARNESS and $ALIPAY_SIM, else built with interop/cargo-bin.sh.
#    `alipay-sim fixtures --out DIR` writes the fixtures; the 24- and 32-byte AES keys come from
#    the aes-192/aes-256 fixture files.
# 3. For each language and each configuration (RSA2 + AES-128, the default; RSA (SHA-1); no signing;
#    RSA2 + AES-192; RSA2 + AES-256), the merchant starts on a free port on 127.0.0.1 and
#    - `alipay-harness run --contract harness/contracts/reference.toml --merchant-signing S
#      --merchant-aes-bits B --fail-on low` must exit 0 with zero failed and zero error verdicts,
#      and the configuration's own success case must pass (not be skipped);
#    - every fixture whose merchant_profile matches the configuration is POSTed (its res_response,
#      with its content_type) and the answer must be the fixture's expected outcome in the
#      reference answer format (mobile, code, sub_code, and sub_msg equal to the plaintext's
#      subMsg); every refusal must be the same 400 body (no oracle) and never contain the canary.
#    Across the configurations every fixture must have been checked against every language. In the
#    default configuration ten more hostile bodies (duplicate keys inside the payload, trailing
#    data, 5000-deep nesting, bad UTF-8, lone surrogate, null sign, ...) must each get that one 400
#    while an escaped surrogate pair and '\/' are still read right,
#    and a bad AES key, a bad public key, a missing key file and an unknown option must each stop
#    the merchant with exit 2 and one message naming the problem.
# 4. Timing: the default-configuration harness run's wall time for each merchant as a ratio to the
#    same run against the reference merchant (printed, never asserted).
# 5. Self-test of the fixture check: the harness's reference merchant passes it, and two of the
#    harness's deliberately broken merchants fail it on exactly the fixtures that target their bug.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=interop/lib.sh
source "$here/lib.sh"
export NO_COLOR=1

# --- 1. toolchains ---------------------------------------------------------------------------------
install_toolchains || finish
echo "# $(javac -version 2>&1); $(go version); $(php -r 'echo "php ", PHP_VERSION, ", ", OPENSSL_VERSION_TEXT;')"

if javac -Xlint:all -Werror -d "$tmp/java" "$here/java/Merchant.java" 2>"$tmp/javac.log"; then
  pass build.java
else
  fail build.java "$(head -n 20 "$tmp/javac.log")"
fi
# The Go merchant has no dependencies: GOPROXY=off proves it never needs the network.
if (cd "$here/go" && GOPROXY=off GOFLAGS=-mod=readonly go vet . && GOPROXY=off GOFLAGS=-mod=readonly go build -o "$tmp/go-merchant" .) 2>"$tmp/go.log"; then
  pass build.go
else
  fail build.go "$(head -n 20 "$tmp/go.log")"
fi
if php -l "$here/php/merchant.php" >"$tmp/php.log" 2>&1; then pass build.php; else fail build.php "$(cat "$tmp/php.log")"; fi

# --- 2. binaries and fixtures ---------------------------------------------------------------------
harness=${ALIPAY_HARNESS:-}
[ -n "$harness" ] || harness=$(bash "$here/cargo-bin.sh" alipay-harness) || { fail setup "cargo build -p alipay-harness failed"; finish; }
sim=${ALIPAY_SIM:-}
[ -n "$sim" ] || sim=$(bash "$here/cargo-bin.sh" alipay-sim) || { fail setup "cargo build -p alipay-sim failed"; finish; }
[ -x "$harness" ] && [ -x "$sim" ] || { fail setup "alipay-harness or alipay-sim not executable ('$harness', '$sim')"; finish; }
echo "using $harness and $sim"
fixtures="$tmp/fixtures"
"$sim" fixtures --out "$fixtures" >/dev/null || { fail setup "alipay-sim fixtures failed"; finish; }
fixture_key() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["keys"]["aes_key"])' "$fixtures/$1.json"; }
aes128=$(tr -d '[:space:]' <"$root/keys/platform/aes.b64.txt")
aes192=$(fixture_key platform.success.aes-192) || { fail setup "no aes-192 fixture"; finish; }
aes256=$(fixture_key platform.success.aes-256) || { fail setup "no aes-256 fixture"; finish; }
public_b64=$(tr -d '[:space:]' <"$root/keys/platform/public.b64.txt")
contract="$root/harness/contracts/reference.toml"

# The fixture check: POSTs every fixture that applies to a configuration, prints ok/FAIL lines and
# appends the ids it checked to a file.
cat >"$tmp/check_fixtures.py" <<'PY'
import http.client, json, os, sys, urllib.parse

fixtures, url, signing, bits, uniform, covered_path, label = sys.argv[1:8]
signing = None if signing == "none" else signing
bits = int(bits)
target = urllib.parse.urlsplit(url)
manifest = json.load(open(os.path.join(fixtures, "manifest.json"), encoding="utf-8"))
refusals = {}
covered = []
for entry in manifest["files"]:
    fx = json.load(open(os.path.join(fixtures, entry["file"]), encoding="utf-8"))
    profile, expected, fid = fx["merchant_profile"], fx["expected"], fx["id"]
    if not (profile["any_signing"] or profile["verifies"] == signing):
        continue
    if profile["aes_bits"] is not None and profile["aes_bits"] != bits:
        continue
    covered.append(fid)
    name = "%s.fixture.%s" % (label, fid)
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=15)
    try:
        conn.request("POST", "/phone", body=fx["res_response"].encode("utf-8"),
                     headers={"Content-Type": fx["content_type"] or "application/json",
                              "X-Alipay-Harness-Case": fid})
        res = conn.getresponse()
        raw = res.read()
        status, retry = res.status, res.getheader("Retry-After")
    except Exception as e:  # noqa: BLE001 -- any transport failure is this fixture's failure
        print("FAIL %s: no answer (%s)" % (name, type(e).__name__))
        continue
    finally:
        conn.close()
    try:
        answer = json.loads(raw.decode("utf-8"))
        assert isinstance(answer, dict)
    except Exception:  # noqa: BLE001
        print("FAIL %s: %d answer is not a JSON object: %r" % (name, status, raw[:200]))
        continue
    outcome = expected["outcome"]
    want = {}
    if outcome == "accept":
        want_status, want = [200], {"status": "ok", "mobile": expected["mobile"]}
    elif outcome == "no_mobile":
        want_status, want = [422], {"status": "no_mobile"}
    elif outcome == "platform_error":
        want_status, want = [422], {"status": "platform_error", "code": expected["code"]}
        if "sub_code" in expected:
            want["sub_code"] = expected["sub_code"]
        if fx["plaintext"] is not None:
            want["sub_msg"] = json.loads(fx["plaintext"]).get("subMsg") or ""
    elif outcome == "retry_later":
        want_status, want = [503], {"status": "retry_later", "code": expected["code"]}
    else:
        want_status, want = [400, 413], {"status": "rejected"}
    problems = []
    if status not in want_status:
        problems.append("status %d, expected %s" % (status, "/".join(map(str, want_status))))
    for key, value in want.items():
        if answer.get(key) != value:
            problems.append("%s is %r, expected %r" % (key, answer.get(key), value))
    if outcome == "retry_later" and retry is None:
        problems.append("no Retry-After header")
    if outcome == "reject":
        if fx["canary"] and fx["canary"] in raw.decode("utf-8", "replace"):
            problems.append("the answer contains the canary")
        if status == 400:
            refusals[fid] = raw
    if problems:
        print("FAIL %s (%s): %s; answer %d %s" % (name, outcome, "; ".join(problems), status, raw[:300].decode("utf-8", "replace")))
    else:
        print("ok %s (%s)" % (name, outcome))
if uniform == "1" and refusals:
    bodies = sorted(set(refusals.values()))
    if len(bodies) == 1:
        print("ok %s.uniform-refusal (%d refusals, one body)" % (label, len(refusals)))
    else:
        print("FAIL %s.uniform-refusal: %d different refusal bodies: %s" % (label, len(bodies), [b[:80] for b in bodies]))
with open(covered_path, "a", encoding="utf-8") as f:
    f.writelines(fid + "\n" for fid in covered)
PY

# Bodies no catalogue case sends, each of which a strict merchant refuses with its one 400 answer:
# duplicate keys inside the payload, trailing data, deep nesting, bad UTF-8, lone surrogates, nulls.
cat >"$tmp/check_hostile.py" <<'PY'
import http.client, json, sys, urllib.parse

url, label = sys.argv[1:3]
target = urllib.parse.urlsplit(url)
deep = b'{"response":' + b"[" * 5000 + b"]" * 5000 + b"}"
bodies = {
    "duplicate-key-in-payload": b'{"response":{"code":"40003","msg":"x","code":"10000","mobile":"13800000000"}}',
    "duplicate-sign": b'{"response":"AAAAAAAAAAAAAAAAAAAAAA==","sign":"a","sign":"b"}',
    "trailing-data": b'{"response":{"code":"40003"}} {}',
    "deep-nesting": deep,
    "invalid-utf8": b'{"response":{"code":"40003","subMsg":"\xff\xfe"}}',
    "lone-surrogate": b'{"response":{"code":"40003","subMsg":"\\ud800"}}',
    "sign-null": b'{"response":"AAAAAAAAAAAAAAAAAAAAAA==","sign":null}',
    "code-number": b'{"response":{"code":40003}}',
    "top-level-array": b'[{"response":"AAAA"}]',
    "unterminated": b'{"response":"AAAA',
}
answers = set()
for name, body in bodies.items():
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=15)
    try:
        conn.request("POST", "/phone", body=body, headers={"Content-Type": "application/json"})
        res = conn.getresponse()
        status, raw = res.status, res.read()
    except Exception as e:  # noqa: BLE001
        print("FAIL %s.hostile.%s: no answer (%s)" % (label, name, type(e).__name__))
        continue
    finally:
        conn.close()
    if status == 400:
        answers.add(raw)
        print("ok %s.hostile.%s" % (label, name))
    else:
        print("FAIL %s.hostile.%s: %d %r, expected 400" % (label, name, status, raw[:200]))
# ...and the same parser must still read what is valid: an escaped surrogate pair and '\/'.
conn = http.client.HTTPConnection(target.hostname, target.port, timeout=15)
conn.request("POST", "/phone", body=b'{"response":{"code":"40003","msg":"x","subCode":"a.b","subMsg":"\\ud842\\udfb7 \\/ \u65e0"}}')
res = conn.getresponse()
status, raw = res.status, res.read()
conn.close()
try:
    sub_msg = json.loads(raw).get("sub_msg")
except ValueError:
    sub_msg = None
if status == 422 and sub_msg == "\U00020bb7 / \u65e0":
    print("ok %s.hostile.escaped-pair-accepted" % label)
else:
    print("FAIL %s.hostile.escaped-pair-accepted: %d %r, expected 422 with sub_msg '\U00020bb7 / \u65e0'" % (label, status, raw[:200]))
if len(answers) > 1:
    print("FAIL %s.hostile.uniform-refusal: %d different bodies: %r" % (label, len(answers), sorted(answers)))
PY

# harness_check <name> <signing> <bits> <must-pass ids...>: the harness against $url.
harness_check() {
  local name=$1 signing=$2 bits=$3 rc=0 t0 t1
  shift 3
  local report="$tmp/$name.report.json"
  t0=$(date +%s%N)
  "$harness" run --endpoint "$url/phone" --contract "$contract" --keys "$root/keys" \
    --merchant-signing "$signing" --merchant-aes-bits "$bits" --fail-on low \
    --format "json=$report" --format terminal >"$tmp/$name.harness.out" 2>&1 || rc=$?
  t1=$(date +%s%N)
  echo "$name $(((t1 - t0) / 1000000))" >>"$tmp/timings"
  echo "# $name: harness $(tail -n 2 "$tmp/$name.harness.out" | head -n 1) (exit $rc, $(((t1 - t0) / 1000000)) ms wall)"
  python3 - "$report" "$name" "$rc" "$@" >"$tmp/$name.verdicts" <<'PY' || echo "FAIL $2.harness: cannot read the JSON report" >>"$tmp/$name.verdicts"
import json, sys
report_path, name, rc, must = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
cases = json.load(open(report_path, encoding="utf-8"))["cases"]
verdicts = {c["id"]: c["verdict"] for c in cases}
bad = [c for c in cases if c["verdict"] in ("fail", "error")]
counts = {v: list(verdicts.values()).count(v) for v in ("pass", "fail", "error", "skip")}
problems = ["%s %s: %s" % (c["id"], c["verdict"], " ".join(str(c.get("reason", "")).split())[:300]) for c in bad]
if rc != "0":
    problems.append("alipay-harness exited %s" % rc)
problems += ["%s is %s, must pass in this configuration" % (i, verdicts.get(i, "missing")) for i in must if verdicts.get(i) != "pass"]
if counts["pass"] == 0:
    problems.append("no case passed")
summary = "%(pass)d pass, %(fail)d fail, %(error)d error, %(skip)d skip" % counts
print("FAIL %s.harness: %s (%s)" % (name, "; ".join(problems), summary) if problems else "ok %s.harness (%s)" % (name, summary))
PY
  relay "$tmp/$name.verdicts"
  if grep -q '^FAIL' "$tmp/$name.verdicts"; then
    sed 's/^/#   /' "$tmp/$name.harness.out" | grep -v ' PASS ' | tail -n 30
    echo "# last lines of $name's log:"
    tail -n 20 "$tmp/$name.log" | sed 's/^/#   /'
  fi
}

fixture_check() { # <name> <signing> <bits> <uniform 0|1> <covered-file>
  python3 "$tmp/check_fixtures.py" "$fixtures" "$url" "$2" "$3" "$4" "$5" "$1" >"$tmp/$1.fixtures" 2>&1 ||
    echo "FAIL $1.fixtures: the fixture check crashed: $(tail -n 3 "$tmp/$1.fixtures")" >>"$tmp/$1.fixtures"
  relay "$tmp/$1.fixtures"
}

# --- 3. the three merchants in five configurations ------------------------------------------------
# merchant <lang> [options...]: becomes (exec) one merchant, so that stop's kill reaches it.
merchant() {
  local lang=$1
  shift
  case $lang in
    java) exec java -cp "$tmp/java" Merchant "$@" ;;
    go) exec "$tmp/go-merchant" "$@" ;;
    php) exec bash "$here/php/serve.sh" "$@" ;; # stops its php -S workers when it is stopped
  esac
}
export -f merchant
export tmp here

configs=(
  # name     signing bits key      the case that only this configuration runs
  "rsa2-128 RSA2 128 $aes128 platform.success.mainland"
  "rsa-128 RSA 128 $aes128 platform.success.rsa-sha1"
  "none-128 none 128 $aes128 platform.success.unsigned"
  "rsa2-192 RSA2 192 $aes192 platform.success.aes-192"
  "rsa2-256 RSA2 256 $aes256 platform.success.aes-256"
)
for lang in java go php; do
  [ -e "$tmp/$lang-merchant" ] || [ "$lang" != go ] || { fail "$lang" "not built"; continue; }
  [ -d "$tmp/java" ] || [ "$lang" != java ] || { fail "$lang" "not built"; continue; }
  : >"$tmp/$lang.covered"
  for config in "${configs[@]}"; do
    read -r cname signing bits key own <<<"$config"
    name="$lang.$cname"
    echo "== $name"
    # The default configuration is README's command line: key files (PEM public key) and the
    # default listen address; the others use the environment (one-line base64 public key).
    if [ "$cname" = rsa2-128 ]; then
      start "$name" env -u ALIPAY_PUBLIC_KEY -u ALIPAY_AES_KEY -u ALIPAY_SIGN_TYPE bash -c 'merchant "$@"' - "$lang" \
        --public-key "$root/keys/platform/public.spki.pem" --aes-key "$root/keys/platform/aes.b64.txt" || continue
    else
      start "$name" env ALIPAY_PUBLIC_KEY="$public_b64" ALIPAY_AES_KEY="$key" ALIPAY_SIGN_TYPE="$signing" \
        bash -c 'merchant "$@"' - "$lang" --listen 127.0.0.1:0 || continue
    fi
    harness_check "$name" "$signing" "$bits" "$own"
    fixture_check "$name" "$signing" "$bits" 1 "$tmp/$lang.covered"
    if [ "$cname" = rsa2-128 ]; then
      python3 "$tmp/check_hostile.py" "$url" "$name" >"$tmp/$name.hostile" 2>&1 || echo "FAIL $name.hostile: crashed" >>"$tmp/$name.hostile"
      relay "$tmp/$name.hostile"
    fi
    stop
  done
  # Bad configuration: one message naming the problem, exit 2, before listening.
  for bad in "aes-key:env ALIPAY_AES_KEY=AAAA:AES.key" "public-key:env ALIPAY_PUBLIC_KEY=bm90LWEta2V5:public.key" \
    "option:env:bogus" "key-file:env:/nonexistent/public.pem"; do
    IFS=: read -r what envset expect <<<"$bad"
    extra=()
    case $what in
      option) extra=(--bogus x) ;;
      key-file) extra=(--public-key /nonexistent/public.pem) ;;
    esac
    rc=0
    env ALIPAY_PUBLIC_KEY="$public_b64" ALIPAY_AES_KEY="$aes128" ${envset#env} bash -c 'merchant "$@"' - "$lang" "${extra[@]}" \
      >"$tmp/bad.out" 2>"$tmp/bad.err" </dev/null & bad_pid=$!
    ( sleep 20; kill "$bad_pid" 2>/dev/null ) & watchdog=$!
    wait "$bad_pid" || rc=$?
    kill "$watchdog" 2>/dev/null; wait "$watchdog" 2>/dev/null
    if [ "$rc" = 2 ] && [ ! -s "$tmp/bad.out" ] && grep -qiE -- "$expect" "$tmp/bad.err"; then
      pass "$lang.config.$what (exit 2: $(head -n 1 "$tmp/bad.err"))"
    else
      fail "$lang.config.$what" "expected exit 2, nothing on stdout and a message naming '$expect'; got exit $rc, stdout '$(head -c 200 "$tmp/bad.out")', stderr '$(head -c 300 "$tmp/bad.err")'"
    fi
  done
  missing=$(python3 -c 'import json, sys
ids = [f["id"] for f in json.load(open(sys.argv[1]))["files"]]
seen = set(open(sys.argv[2]).read().split())
print(" ".join(i for i in ids if i not in seen))' "$fixtures/manifest.json" "$tmp/$lang.covered")
  if [ -z "$missing" ]; then pass "$lang.every-fixture"; else fail "$lang.every-fixture" "never checked: $missing"; fi
done

# --- 4. timing, 5. the fixture check can fail ----------------------------------------------------
# selftest <name> <expected failing fixture ids> <merchant args...>
selftest() {
  local name=$1 expected=$2 got
  shift 2
  start "selftest.$name" "$harness" merchant --addr 127.0.0.1:0 --keys "$root/keys" "$@" || return
  python3 "$tmp/check_fixtures.py" "$fixtures" "$url" RSA2 128 0 /dev/null "selftest.$name" >"$tmp/selftest.$name.out" 2>&1
  stop
  got=$(sed -n 's/^FAIL selftest\.[a-z-]*\.fixture\.\([^ ]*\) .*/\1/p' "$tmp/selftest.$name.out" | sort | tr '\n' ' ')
  if [ "$got" = "$expected" ]; then
    pass "selftest.$name (fails exactly: ${expected:-nothing})"
  else
    fail "selftest.$name" "expected the fixture check to fail exactly [${expected}], it failed [${got}]"
  fi
}
# Timing (information, not a test): the default-configuration harness run against each merchant,
# as a ratio to the same run against the harness's reference merchant, measured here and now.
if start reference.rsa2-128 "$harness" merchant --addr 127.0.0.1:0 --keys "$root/keys"; then
  harness_check reference.rsa2-128 RSA2 128 platform.success.mainland
  stop
  python3 - "$tmp/timings" <<'PY'
import sys
ms = dict(line.split() for line in open(sys.argv[1]))
base = int(ms["reference.rsa2-128"])
for lang in ("java", "go", "php"):
    if lang + ".rsa2-128" in ms:
        t = int(ms[lang + ".rsa2-128"])
        print("# timing: %-4s %5d ms for the default-configuration harness run = %.1fx the reference merchant (%d ms, same run)" % (lang, t, t / base, base))
PY
fi
selftest reference ""
selftest busy-final "platform.busy.20000 platform.busy.20000-unencrypted " --broken busy-final
selftest empty-mobile-ok "platform.success.empty-mobile platform.success.mobile-absent " --broken empty-mobile-ok

finish
