// Package optim updates a model's parameters from their gradients: the Adam
// and AdamW optimizers, learning-rate schedules and global-norm gradient
// clipping.
//
// Adam follows Kingma & Ba, "Adam: A Method for Stochastic Optimization"
// (ICLR 2015), Algorithm 1, with bias-corrected moments m and v. AdamW follows
// Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (ICLR 2019):
// the weights decay by a factor (1 − lr·λ) before the Adam update instead of
// λ·θ being added to the gradient. Both reproduce torch.optim.Adam and
// torch.optim.AdamW (PyTorch 1.13, single-tensor path) operation by operation,
// fused multiply-adds included, so float64 trajectories agree with PyTorch's
// to the last bit or two; the tests check this against recorded PyTorch runs
// (scripts/optim_fixtures.py writes them into testdata).
//
// The optimizer's state (m, v and the step count) is kept by parameter name,
// not by position, so that a checkpoint can save it next to the weights and a
// resumed run continues exactly where the interrupted one stopped.
//
// The schedules are a constant rate, linear warmup followed by cosine decay
// (Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm
// Restarts", ICLR 2017, without restarts), and the inverse-square-root
// schedule of Vaswani et al., "Attention Is All You Need" (NeurIPS 2017),
// equation (3).
//
// ClipGradNorm rescales all gradients together when their global L2 norm
// exceeds a threshold (Pascanu, Mikolov & Bengio, "On the difficulty of
// training recurrent neural networks", ICML 2013), as
// torch.nn.utils.clip_grad_norm_ does.
package optim
