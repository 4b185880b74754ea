// Package bench holds qkv's benchmarks: a training step and an evaluation
// pass of the default model, measured with Go's testing.B. Run them with
//
//	go test ./bench -bench . -benchmem
//
// and compare runs with golang.org/x/perf/cmd/benchstat.
package bench
