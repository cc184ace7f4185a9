#!/usr/bin/env bash
# The tests of the strategies whose code is `unsafe` — `tape` (its blocks and unchecked sweep),
# `dualrev` and the ladder rungs (the node pool and counted Contrib references) and
# `dualrev-par` (its arenas, job states and parallel reverse pass, with the fork-join programs
# that break the rule of `join`) — under valgrind's memcheck, every error fatal:
#
#   scripts/valgrind-tests.sh
#
# Takes about half a minute on a 2-core machine once the test binaries are built.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null 2>&1; then
  echo "valgrind-tests: valgrind is not installed (Debian: apt-get install valgrind)" >&2
  exit 2
fi

# name<TAB>path of each test binary, as cargo built them.
binaries=$(cargo test -p strategies --lib --test par_soundness --locked --no-run \
  --message-format=json | python3 -c 'import json, sys
for m in map(json.loads, sys.stdin):
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["target"]["name"] + "\t" + m["executable"])')

while IFS=$'\t' read -r name path; do
  case "$name" in
    # The library's unit tests of the unsafe modules only (a filter matches by substring:
    # `dualrev` selects both `dualrev::` and `dualrev_par::`).
    strategies) filters=(arena:: tape:: dualrev contrib:: pool::) ;;
    *) filters=() ;;
  esac
  echo "valgrind memcheck: $name ${filters[*]}"
  RUST_BACKTRACE=0 valgrind --error-exitcode=1 --quiet "$path" --quiet "${filters[@]}"
done <<< "$binaries"
