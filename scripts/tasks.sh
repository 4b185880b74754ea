#!/usr/bin/env bash
# Trains every task's preset and prints the README's task table rows:
# held-out test accuracy, wall time, and accuracy four positions longer
# than any training sequence. Runs go to a temporary directory.
#
#   bash scripts/tasks.sh                 # every task
#   TASKS="copy lag" bash scripts/tasks.sh
set -euo pipefail
cd "$(dirname "$0")/.."
TASKS=${TASKS:-"reverse copy sort histogram recall parity dyck lag runparity"}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/qkv-train" ./cmd/train
go build -o "$bin/qkv-eval" ./cmd/eval
echo "| task | test token acc. | test sequence acc. | wall time | longer: token / sequence acc. |"
echo "|---|---|---|---|---|"
for task in $TASKS; do
  run="$bin/$task"
  start=$(date +%s.%N)
  "$bin/qkv-train" -task "$task" -out "$run" >"$bin/out" 2>"$bin/err" || { echo "$task: training failed" >&2; tail -3 "$bin/err" >&2; exit 1; }
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  test=$(grep -o 'token accuracy [0-9.]*%, sequence accuracy [0-9.]*%' "$bin/out" | sed 's/token accuracy \([0-9.]*%\), sequence accuracy \([0-9.]*%\)/\1 | \2/')
  len=$(python3 -c "import json;print(json.load(open('$run/config.json'))['len'])")
  longer=$("$bin/qkv-eval" -ckpt "$run" -len $((len + 4)) -n 500 -json 2>/dev/null |
    python3 -c "import json,sys;m=json.load(sys.stdin)['metrics'];print('%.1f%% / %.1f%%'%(100*m['token_accuracy'],100*m['sequence_accuracy']))" || echo "—")
  printf '| `%s` | %s | %.0f s | %s |\n' "$task" "$test" "$secs" "$longer"
done
