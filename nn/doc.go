// Package nn is qkv's small framework over Gorgonia's automatic
// differentiation (gorgonia.org/gorgonia).
//
// A Param is a named, shaped tensor whose value lives outside any graph; a
// Graph binds parameters into one Gorgonia expression graph on demand, so a
// training graph and any number of evaluation graphs share the same
// weights. A Module lists its parameters explicitly. Compile turns a Graph
// into a Program: a tape machine that computes a loss, the gradients of
// every bound parameter, and any outputs asked for, without rebuilding the
// graph between runs.
//
// Primitives (prim*.go) are differentiable operations with their
// derivative written once beside each: MatMul, Plus/Minus/Times/Divide with
// broadcasting, Neg, Scale, Shift, Exp, Log, Sqrt, Rsqrt, Tanh, Sigmoid,
// Erf, Step, ReLU, GELU, Softmax, LogSoftmax, Sum, Mean, Max, BroadcastTo,
// Reshape, Permute, Transpose, Slice, Concat, Where, MaskedFill, Gather,
// OneHot and Graph.Dropout. A layer composed of them needs no backward code.
// One table-driven test checks every primitive's gradient by finite
// differences.
//
// The operations the models run most are also fused ops with hand-written
// backward passes: fast paths, which Graph.Ops selects by default. In a
// graph set to composed (Graph.SetComposed) Ops gives their composed twins
// (twin.go) instead, proven equal in values and gradients. Each fused op is
// checked against finite differences (GradCheck) and against PyTorch:
//
//   - Linear: y = x·Wᵀ + b (torch.nn.Linear's layout)
//   - LayerNorm: y = (x − E[x]) / √(Var[x] + ε) · γ + β (Ba et al., 2016);
//     Gorgonia's InverseSqrt has a wrong gradient
//   - MaskedSoftmax: softmax(scale·s) over unpadded keys, exactly zero on
//     padded ones, no NaN on a fully padded row (Vaswani et al., 2017, eq. 1)
//   - HeadScores, HeadMix: per-head QKᵀ and weights·V on the heads' column
//     blocks, composed with MaskedSoftmax into ScaledDotProductAttention
//     (softmax(QKᵀ/√d_k)·V for all heads, no reshape or transpose)
//   - CrossEntropy: mean −log softmax(z)[t] over counted targets; a target
//     IgnoreTarget counts nowhere (train fails to build if data.Ignore, the
//     value's home, ever differs)
//   - GELU: x·Φ(x) (Hendrycks & Gimpel, 2016)
//   - Embed, AddTrailing, SumTo, MaskedMean
//   - LSTM: one direction of torch.nn.LSTM over a padded batch (Hochreiter &
//     Schmidhuber, 1997), the recurrence one op with backpropagation through time
//
// Dropout (Srivastava et al., 2014) is a mask fed as an input and drawn
// from an explicit generator, because Gorgonia's Dropout op has a wrong
// gradient. Weights are (de)serialised in the safetensors format.
//
// Gorgonia's compiler merges nodes whose 32-bit hashes collide, and it
// hashed the reads a Program copies its results out by from memory
// addresses, so any compile could go wrong by chance (it did, once, in
// CI). Compile gives each read a hash of its own, checks every program
// against its graph before it runs (verify.go, ErrCorruptProgram), and
// Rebuild builds a graph whose names collide again under other names.
package nn
