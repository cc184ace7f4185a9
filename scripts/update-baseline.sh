#!/usr/bin/env bash
# Regenerate results/baseline/ on purpose, after a change that is meant to alter counters,
# allocations or instruction counts: the quick suite with instruction counts, with the flags
# scripts/ci-perf.sh uses. Build from a clean checkout of the commit the baseline is for, then
# commit the new results/baseline/ with that change.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -p dualbench
./target/release/dualbench run --suite quick --budget 6 --instructions --no-plot --quiet \
  --out results/baseline --force >/dev/null
echo "wrote results/baseline/; review it with: dualbench compare <old baseline> results/baseline"
