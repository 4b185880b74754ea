package nn

import (
	"os"
	"os/exec"
	"sync"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestCompileConcurrently differentiates graphs in several goroutines at
// once, as parallel tests and programs that train two models side by side
// do. Gorgonia's Grad adds a package-level node (onef64, the loss's seed
// gradient) to every graph and caches its hash on first use, from whichever
// goroutine gets there. The race detector sees it only when the goroutines
// interleave past Gorgonia's own locks: one fresh process in three showed
// it before Compile serialised G.Grad, so under -race the body runs in 12
// fresh test processes (each with no hash cached yet by an earlier test),
// which misses an unserialised Grad about once in 130 runs.
func TestCompileConcurrently(t *testing.T) {
	if raceEnabled && os.Getenv("QKV_COMPILE_CONCURRENTLY") == "" {
		for range 12 {
			cmd := exec.Command(os.Args[0], "-test.run=^TestCompileConcurrently$", "-test.count=1")
			cmd.Env = append(os.Environ(), "QKV_COMPILE_CONCURRENTLY=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("compiling in parallel: %v\n%s", err, out)
			}
		}
		return
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := GradCheck(func(g *Graph) (*G.Node, error) {
				rng := newRand(uint64(i))
				x, err := NewParam("x", tensor.Float64, 2, 3)
				if err != nil {
					return nil, err
				}
				if err := Normal(1)(x, rng); err != nil {
					return nil, err
				}
				xn, err := g.Param(x)
				if err != nil {
					return nil, err
				}
				y, err := ReLU(xn)
				if err != nil {
					return nil, err
				}
				return WeightedSum(g, "y", y, rng)
			}, nil, fdStep, fdFloor)
			if err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
}
