// Package layers holds the nouns of a transformer encoder built on package
// nn: Linear, Embedding, PositionalEncoding, MultiHeadAttention,
// FeedForward, LayerNorm, EncoderLayer and Encoder, following
// "Attention Is All You Need" (Vaswani et al., 2017).
//
// Every layer is a struct of *nn.Param and sub-layers made by a constructor
// NewX(name, cfg, rng) that validates its configuration and returns an error
// rather than panicking (NewLayerNorm, whose γ and β start at one and zero,
// takes no generator). Choices are typed: Activation, Positional and
// NormPlacement read and write the strings of a config file. Params lists its parameters explicitly, with
// hierarchical names (encoder.layers.0.attn.q.weight). Forward adds the
// layer's computation to an nn.Graph and never mutates the layer, so one set
// of weights serves a training graph and any number of evaluation graphs.
//
// Semantics match PyTorch 1.13 (torch.nn.Linear, LayerNorm,
// MultiheadAttention with batch_first and a key padding mask,
// TransformerEncoderLayer with norm_first false or true), so the same weights
// give the same outputs; testdata/ holds fixtures that prove it.
//
// LSTM, the recurrent baseline, computes what torch.nn.LSTM(batch_first=True)
// computes on packed sequences, with PyTorch's parameter names and layout.
package layers
