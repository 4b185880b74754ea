#!/usr/bin/env bash
# Prints the numerical figures the README's Correctness section and its
# PyTorch paragraph state, each as the worst over the tests that measure
# it, so that they can be refreshed in one go:
#
#   bash scripts/figures.sh
#
# Only Go is needed (the PyTorch fixtures are committed). Timing figures
# are not here: they need an idle machine (bench/compare.sh,
# scripts/tasks.sh, go run ./cmd/study).
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT
go test ./nn ./layers ./train -count=1 -v \
  -run 'Gradients|Parity|TestTorch' >"$log" 2>&1 || {
  cat "$log" >&2
  echo "figures: the tests failed" >&2
  exit 1
}

# worst PATTERN FIELD: the largest number after PATTERN on matching lines.
worst() {
  grep -E "$1" "$log" | grep -oE "$2 [0-9.e+-]+" | awk '{print $NF}' | sort -g | tail -1
}

echo "finite differences, worst relative error per element (float64): $(worst 'worst' 'relative error')"
echo "layers against PyTorch, float64, worst |Go − PyTorch| (outputs and loss): $(worst 'parity_test.go.*float64' 'outputs and loss')"
echo "layers against PyTorch, float64, worst |Go − PyTorch| (gradients): $(worst 'parity_test.go.*float64' 'gradients')"
echo "layers against PyTorch, float32, worst |Go − PyTorch| (outputs, loss, gradients): $(worst 'parity_test.go.*float32' '(outputs and loss|gradients)')"
echo "whole model against PyTorch (logits, loss, all gradients), float64, worst relative: $(worst 'torch_grad_test.*float64' 'max')"
echo "LSTM against PyTorch, float64, worst relative (outputs, loss, gradients): $(worst 'lstm_parity_test.*float64' '(output and loss|gradients)')"
echo "checkpoints' logits against scripts/torch_eval.py, worst |Go − PyTorch|: $(worst 'torch_test.go.*logits of' '=')"
