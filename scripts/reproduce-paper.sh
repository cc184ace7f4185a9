#!/usr/bin/env bash
# The paper's results end to end: build dualbench, run the paper suite, decide the claims of
# claims.toml on the new results, and draw the figures, the table and index.html.
#
#   scripts/reproduce-paper.sh [OUT_DIR] [extra `dualbench run` flags...]
#
# OUT_DIR defaults to results/paper-reproduced (results/paper is the committed run; to
# replace it, pass `results/paper --force`). Exits with `dualbench check`'s code: 0 when no
# claim fails, 1 when one does, 2 when a claim has no data.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-results/paper-reproduced}
shift || true
started=$(date +%s)

cargo build --release --locked -p dualbench
bin=./target/release/dualbench

"$bin" run --suite paper --out "$out" --no-plot --quiet "$@"
echo "measured in $(( $(date +%s) - started )) s"

verdict=0
"$bin" check --results "$out" --format markdown > "$out/claims.md" || verdict=$?
cat "$out/claims.md"

"$bin" plot --results "$out" --claims claims.toml
echo "reproduced in $(( $(date +%s) - started )) s; open $out/index.html"
exit "$verdict"
