#!/usr/bin/env bash
# Tests of alipay-sim-miniprogram (the `my` runtime for mini-program page code).
#
# Installs the package's npm dependencies (npm ci, from the committed package-lock.json), finds or
# builds the alipay-sim and alipay-harness binaries, then runs:
#   1. the package's own tests and the node:test examples under Node's test runner
#      (test/*.test.mjs, examples/node/*.test.mjs, examples/login/*.test.mjs): the document's
#      sample page in six flows against the reference merchant and four against the official-SDK
#      merchant (interop/node/merchant.mjs; its npm ci is done here when missing), my.getAuthCode's
#      and my.getRunData's callbacks, the login page example (getAuthCode, getPhoneNumber,
#      POST /login) against the official-SDK merchant's login, my.request's wire behaviour, the
#      runtime's errors;
#   2. the Jest example (examples/jest, native ES modules);
#   3. the Vitest example (examples/vitest);
#   4. the example of README.md here ("Testing your mini-program page") in a fresh project that
#      installs the packed package.
# Each test file starts its own alipay-sim serve and merchants on 127.0.0.1:0 and stops them.
# Prints `N passed, M failed` as its last line. Exit 0 when everything passed, 1 when a test
# failed, 2 when the set-up failed (no node, npm ci or cargo build failed).
#
# Environment: ALIPAY_SIM (or SIM_BIN) and ALIPAY_HARNESS, prebuilt binaries (default: built with
# interop/cargo-bin.sh); ALIPAY_SIM_SEED_DOC, the API document the sample was copied from
# (default: shared/seeds/ beside the repository).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/alipay-sim-miniprogram.XXXXXX")
trap 'rm -rf "$work"' EXIT

die() { echo "test.sh: $*" >&2; echo "0 passed, 1 failed"; exit 2; }

command -v node >/dev/null || die "node is not installed (Debian: apt-get install -y nodejs npm)"
command -v npm >/dev/null || die "npm is not installed (Debian: apt-get install -y npm)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 18 ] || die "node $(node --version) is too old: Node 18 or later is needed"

cd "$here"
if [ ! -d node_modules/htmlparser2 ] || [ ! -d node_modules/jest ] || [ ! -d node_modules/vitest ] ||
  ! cmp -s package-lock.json node_modules/.package-lock.json.ci 2>/dev/null; then
  echo "# npm ci"
  npm ci --ignore-scripts --no-audit --no-fund >"$work/npm.log" 2>&1 || { cat "$work/npm.log" >&2; die "npm ci failed"; }
  cp package-lock.json node_modules/.package-lock.json.ci
fi

# The official Alipay Node SDK, for the merchant written on it (interop/node/merchant.mjs).
if [ ! -f "$root/interop/node/node_modules/alipay-sdk/package.json" ]; then
  echo "# npm ci in interop/node (alipay-sdk)"
  (cd "$root/interop/node" && npm ci --prefer-offline --ignore-scripts --no-audit --no-fund) >"$work/npm-sdk.log" 2>&1 ||
    { cat "$work/npm-sdk.log" >&2; die "npm ci in interop/node failed"; }
fi
export MINIPROGRAM_REQUIRE_SDK=1

if [ -z "${ALIPAY_SIM:-}" ] && [ -n "${SIM_BIN:-}" ]; then ALIPAY_SIM=$SIM_BIN; fi
if [ -z "${ALIPAY_SIM:-}" ]; then
  ALIPAY_SIM=$(bash "$root/interop/cargo-bin.sh" alipay-sim) || die "cargo build of alipay-sim failed"
fi
if [ -z "${ALIPAY_HARNESS:-}" ]; then
  ALIPAY_HARNESS=$(bash "$root/interop/cargo-bin.sh" alipay-harness) || die "cargo build of alipay-harness failed"
fi
[ -x "$ALIPAY_SIM" ] || die "no alipay-sim binary at $ALIPAY_SIM"
[ -x "$ALIPAY_HARNESS" ] || die "no alipay-harness binary at $ALIPAY_HARNESS"
export ALIPAY_SIM ALIPAY_HARNESS
echo "# alipay-sim $ALIPAY_SIM, alipay-harness $ALIPAY_HARNESS, node $(node --version)"

passed=0
failed=0
add() { passed=$((passed + ${1:-0})); failed=$((failed + ${2:-0})); }

# node_counts FILE STATUS: the passed/failed test counts of a `node --test` run's output.
node_counts() {
  local p f
  p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$1" 2>/dev/null | tail -n1)
  f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$1" 2>/dev/null | tail -n1)
  if [ -z "$p" ]; then p=0; f=1; fi
  if [ "$2" -ne 0 ] && [ "${f:-0}" = "0" ]; then f=1; fi
  echo "$p ${f:-0}"
}

# 1. Node's test runner.
echo "== node --test"
node --test test/*.test.mjs examples/node/*.test.mjs examples/login/*.test.mjs >"$work/node.out" 2>&1
node_status=$?
cat "$work/node.out"
read -r p f < <(node_counts "$work/node.out" "$node_status")
add "$p" "$f"

# counts FILE STATUS: the passed/failed test counts of a Jest-format JSON report.
counts() {
  node -e 'const fs = require("fs");
    try { const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
      let f = (r.numFailedTests || 0) + (r.numRuntimeErrorTestSuites || 0);
      if (process.argv[2] !== "0" && f === 0) f = 1;
      console.log(Number(r.numPassedTests) || 0, f);
    } catch { console.log(0, 1); }' "$1" "$2"
}

# 2. Jest (native ES modules need --experimental-vm-modules).
echo "== jest"
NODE_OPTIONS=--experimental-vm-modules npx --no-install jest --ci --json --outputFile="$work/jest.json" 2>&1 |
  grep -v -e 'ExperimentalWarning: VM Modules' -e 'node --trace-warnings'
jest_status=${PIPESTATUS[0]}
read -r p f < <(counts "$work/jest.json" "$jest_status")
add "$p" "$f"

# 3. Vitest.
echo "== vitest"
npx --no-install vitest run --dir examples/vitest --testTimeout=30000 --hookTimeout=30000 --reporter=default --reporter=json --outputFile="$work/vitest.json"
vitest_status=$?
read -r p f < <(counts "$work/vitest.json" "$vitest_status")
add "$p" "$f"

# 4. The example of README.md here, as a user runs it: the packed package installed into a fresh
#    project holding the document's sample page, the README's test file copied from the README.
echo "== README example (npm pack, npm install in a fresh project, node --test)"
readme_example() {
  local project=$work/project tarball block
  mkdir -p "$project/pages/phone" "$project/test" || return 1
  npm pack --pack-destination "$work" >"$work/pack.out" 2>&1 || { cat "$work/pack.out"; return 1; }
  tarball=$(tail -n1 "$work/pack.out")
  grep -qF "npm install --save-dev /tmp/$tarball" "$here/README.md" ||
    { echo "simulator/miniprogram/README.md does not install /tmp/$tarball (the name npm pack gives)"; return 1; }
  node -e 'const fs = require("fs");
    const readme = fs.readFileSync(process.argv[1], "utf8");
    const at = readme.indexOf("\n## Testing your mini-program page\n");
    if (at < 0) { console.error("simulator/miniprogram/README.md has no section \"Testing your mini-program page\""); process.exit(1); }
    const start = readme.indexOf("```js\n", at);
    if (start < 0) { console.error("no js block in the README section"); process.exit(1); }
    const body = start + 6;
    fs.writeFileSync(process.argv[2], readme.slice(body, readme.indexOf("```\n", body)));' \
    "$here/README.md" "$project/test/phone.test.mjs" || return 1
  cp "$here/test/fixtures/seed/index.js" "$here/test/fixtures/seed/index.axml" "$project/pages/phone/" || return 1
  (cd "$project" && npm init -y >/dev/null &&
    npm install --save-dev --prefer-offline --no-audit --no-fund "$work/$tarball" >"$work/install.out" 2>&1) ||
    { cat "$work/install.out"; return 1; }
  (cd "$project" && node --test) >"$work/readme.out" 2>&1
  local status=$?
  cat "$work/readme.out"
  return $status
}
readme_example
readme_status=$?
read -r p f < <(node_counts "$work/readme.out" "$readme_status")
add "$p" "$f"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
