# interop/tally.sh -- `tally`, shared by run.sh and cert.sh; sourced, never run. Needs $tmp, the
# counters $passed and $failed, and a fail NAME MESSAGE function in the sourcing script.

# tally <name> <command...>: runs a checker whose last line is "N passed, M failed" and adds it up.
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
