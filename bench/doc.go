// Package bench measures qkv's speed: Go benchmarks of a training step and
// of an evaluation forward pass at the three sizes of the comparison with
// PyTorch (Sizes), in tokens per second and allocations per step, and of
// the matrix products of a step, in GFLOP/s, against gonum:
//
//	go test ./bench -run XXX -bench . -benchmem
//
// cmd/qkvbench runs one size and mode for a fixed time, torch_bench.py does
// the same in PyTorch, and compare.sh runs the two interleaved and prints
// the table of the README's Speed section.
package bench
