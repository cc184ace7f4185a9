#!/usr/bin/env bash
# Performance tracking against the committed baseline (results/baseline/), for CI:
#
#   scripts/ci-perf.sh [--gate-time]
#
# Runs the quick suite (with instruction counts under callgrind) into a temporary folder,
# compares it with results/baseline/ and prints the Markdown report (also appended to
# $GITHUB_STEP_SUMMARY when set). Exits 3 on a regression of the counters, allocation figures
# or instruction counts, or on a case that stopped finishing; on time only with --gate-time.
# Exits 2 when the comparison itself cannot be made.
set -euo pipefail
cd "$(dirname "$0")/.."

fail_on=counters,instructions
if [[ "${1:-}" == "--gate-time" ]]; then
  fail_on=all
fi

bin=${DUALBENCH:-./target/release/dualbench}
if [[ ! -x "$bin" ]]; then
  cargo build --release --locked -p dualbench
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The same flags as scripts/update-baseline.sh: a 6 s budget keeps cases that finish in
# about 2 s from flipping to `timeout` on a slower machine.
"$bin" run --suite quick --budget 6 --instructions --no-plot --quiet --out "$work/quick" >/dev/null

status=0
"$bin" compare results/baseline "$work/quick" --fail-on "$fail_on" --format markdown \
  > "$work/report.md" || status=$?
cat "$work/report.md"
if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
  cat "$work/report.md" >> "$GITHUB_STEP_SUMMARY"
fi
if [[ -n "${DUALBENCH_PERF_REPORT:-}" ]]; then
  cp "$work/report.md" "$DUALBENCH_PERF_REPORT"
fi
exit "$status"
