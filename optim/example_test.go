package optim_test

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/qkv-dev/qkv/nn"
	"github.com/qkv-dev/qkv/optim"
)

// Minimize f(w) = ½‖w − (1, 2)‖² with AdamW, warmup and cosine decay, and
// gradient clipping. The gradient is w − (1, 2); in a model it comes from the
// graph after a backward pass. The decoupled weight decay pulls w slightly
// towards 0.
func Example() {
	w, err := nn.NewParam("w", tensor.Float64, 2)
	if err != nil {
		panic(err)
	}
	opt, err := optim.NewAdam(optim.DefaultAdamW())
	if err != nil {
		panic(err)
	}
	sched, err := optim.NewSchedule("cosine", 0.1, 0.001, 10, 200, 0)
	if err != nil {
		panic(err)
	}
	grad := tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(2))
	for step := int64(1); step <= 200; step++ {
		v := w.Float64s()
		nn.FromFloat64s(grad, []float64{v[0] - 1, v[1] - 2})
		norm := optim.ClipGradNorm([]*tensor.Dense{grad}, 1.0)
		lr := sched.LR(step)
		if err := opt.Step([]*nn.Param{w}, []*tensor.Dense{grad}, lr); err != nil {
			panic(err)
		}
		if step == 1 || step%50 == 0 {
			fmt.Printf("step %3d  lr %.4f  grad norm %.4f  w %.3f\n", step, lr, norm, w.Float64s())
		}
	}
	// Output:
	// step   1  lr 0.0100  grad norm 2.2361  w [0.010 0.010]
	// step  50  lr 0.0896  grad norm 0.0766  w [1.020 2.055]
	// step 100  lr 0.0546  grad norm 0.0047  w [0.996 2.002]
	// step 150  lr 0.0170  grad norm 0.0073  w [0.998 1.993]
	// step 200  lr 0.0010  grad norm 0.0064  w [0.999 1.994]
}
