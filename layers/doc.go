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
//
// GRU (Cho et al., 2014; torch.nn.GRU's names and gate order), Attend
// (attention with a mask value — PaddingMask, CausalMask or their product —
// from queries to keys of any lengths) and Rotary (rotary position
// embeddings, Su et al., 2021) are written in nn's primitives alone and
// have no backward code: a layer needs only its forward pass.
// MultiHeadAttention uses Attend for a causal mask or rotary positions and
// nn's fused attention otherwise.
package layers
