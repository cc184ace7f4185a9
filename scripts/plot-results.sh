#!/usr/bin/env bash
# Draw the figures, tables and index.html of every committed results folder from its
# results.json, with the verdicts of claims.toml:
#
#   scripts/plot-results.sh           redraw results/{reference,paper,perf} in place
#   scripts/plot-results.sh --check   draw them into a temporary folder and fail if any
#                                     committed file differs (what CI runs)
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${DUALBENCH:-./target/release/dualbench}
if [[ ! -x "$bin" ]]; then
  cargo build --release --locked -p dualbench
fi

status=0
for suite in reference paper perf; do
  dir=results/$suite
  if [[ "${1:-}" == "--check" ]]; then
    tmp=$(mktemp -d)
    "$bin" plot --quiet --results "$dir" --claims claims.toml --out "$tmp"
    for item in figures index.html table.md table.tex; do
      if ! diff -r -q "$tmp/$item" "$dir/$item" >/dev/null; then
        echo "$dir/$item is not what \`dualbench plot\` draws from $dir/results.json:" >&2
        diff -r -q "$tmp/$item" "$dir/$item" >&2 || true
        status=1
      fi
    done
    rm -rf "$tmp"
  else
    "$bin" plot --results "$dir" --claims claims.toml
  fi
done
if [[ $status -ne 0 ]]; then
  echo "redraw them with scripts/plot-results.sh and commit the result" >&2
else
  [[ "${1:-}" == "--check" ]] && echo "committed figures match their results files"
fi
exit "$status"
