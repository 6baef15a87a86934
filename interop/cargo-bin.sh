#!/usr/bin/env bash
# interop/cargo-bin.sh PACKAGE [--release] -- builds PACKAGE's binary of the same name and prints
# its path (read from cargo's JSON messages, so CARGO_TARGET_DIR and profiles are honoured).
# Exits non-zero when the build fails or no such binary was produced.
set -euo pipefail
package=$1
shift
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
path=$(cd "$root" && cargo build "$@" -p "$package" --bin "$package" --message-format=json-render-diagnostics |
  python3 -c 'import json, sys
name = sys.argv[1]
for line in sys.stdin:
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    if msg.get("reason") == "compiler-artifact" and msg.get("executable") and msg["target"]["name"] == name:
        print(msg["executable"])' "$package" | tail -n 1)
[ -x "$path" ] || { echo "cargo-bin.sh: no $package binary after the build" >&2; exit 1; }
echo "$path"
