#!/usr/bin/env bash
# The parallel speedup benchmark: the fork-join workloads whose parallelism is known, under the
# parallel strategies (`primal`, `dualrev-par`, `tape-par`) at 1 and 2 threads and the
# sequential `dualrev` and `tape` beside them (whole gradient, reverse pass included, with the
# forward and reverse phases timed apart), merged into one results file whose summary has the
# parallel table (measured speedups next to the bound of the job graph, docs/parallel.md), then
# the speedup claims of claims.toml decided on it:
#
# - `fparticles`, 4 particles forked as a chain, 1000 steps: the JFP paper's configuration;
# - `fparticles`, 16 particles forked as a balanced tree, 20 000 steps (tasks of about 1.4 ms);
# - `par-tree`, 16 384 elements in leaves of 1024 (work 64: leaves of about 2 ms or more).
#
#   scripts/parallel-speedup.sh [OUT_DIR] [extra `dualbench run` flags...]
#
# OUT_DIR defaults to results/parallel-speedup. Run it on an otherwise idle machine with at
# least two cores: the speedup is a wall-clock measurement. Exits with `dualbench check`'s code.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-results/parallel-speedup}
shift || true

cargo build --release --locked -p dualbench
bin=./target/release/dualbench

parts=$(mktemp -d)
trap 'rm -rf "$parts"' EXIT
common=(--strategies primal,dualrev-par,tape-par,dualrev,tape --threads 1,2 --budget 10
  --min-time 3 --no-plot --quiet)

"$bin" run --workloads fparticles --sizes 1000 --param particles=4 --param fork=chain \
  "${common[@]}" --out "$parts/paper-configuration" "$@" >/dev/null
"$bin" run --workloads fparticles --sizes 20000 --param particles=16 --param fork=balanced \
  "${common[@]}" --out "$parts/balanced" "$@" >/dev/null
"$bin" run --workloads par-tree --sizes 16384 --param work=64 --param grain=1024 \
  "${common[@]}" --out "$parts/par-tree" "$@" >/dev/null

# The three runs differ in their options (their parameters), so the merge needs --force; each
# input's options are kept in the merged file's `merged_from`.
"$bin" merge "$parts/paper-configuration" "$parts/balanced" "$parts/par-tree" --out "$out" \
  --force

verdict=0
"$bin" check --results "$out" --claim '*speedup*' || verdict=$?
exit "$verdict"
