#!/usr/bin/env bash
# The parallel speedup benchmark: `fparticles` with 4 particles and 1000 steps under
# `dualrev-par` and the primal at 1 and 2 threads (whole gradient, reverse pass included, with
# the forward and reverse phases timed apart), `dualrev` and `tape` at 1 thread beside them,
# then the speedup claims of claims.toml decided on the result.
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

"$bin" run --workloads fparticles --sizes 1000 --param particles=4 \
  --strategies primal,dualrev-par,dualrev,tape --threads 1,2 --budget 8 --min-time 5 \
  --out "$out" --force "$@"

verdict=0
"$bin" check --results "$out" --claim '*speedup*' || verdict=$?
exit "$verdict"
