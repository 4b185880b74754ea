// Package data provides qkv's tasks and datasets as plain token sequences:
// vocabularies, synthetic task generators, seeded held-out splits,
// resumable training streams, user data files, and fixed-shape batches with
// padding and masks. It imports only the standard library.
//
// # Tasks
//
// Every vocabulary starts with "<pad>" (PadID) and "<unk>" (UnkID). An
// Example holds IDs into a task's InVocab (inputs) and OutVocab (targets).
// Tagging tasks have one target per position, Ignore where nothing counts;
// classification tasks have one label per sequence. NewTask makes:
//
//   - copy, reverse, sort: the target is the input, reversed, or sorted
//     ascending. Copying is the first end-to-end test of The Annotated
//     Transformer (Rush, 2018) for Vaswani et al. (2017), "Attention Is All
//     You Need"; copy and sort are also tasks of Graves et al. (2014),
//     "Neural Turing Machines", and reverse and sort of Weiss et al. (2021),
//     "Thinking Like Transformers".
//   - histogram: the target at each position is how often that position's
//     token occurs in the sequence, spelled "1" … "64" (Weiss et al., 2021).
//   - recall: associative recall (Graves et al., 2014; Ba et al., 2016,
//     "Using Fast Weights to Attend to the Recent Past", whose letter keys
//     and digit values this follows). An input of length L >= 3 is
//     "k1 v1 … kn vn . … . q" with n = min((L-1)/2, symbols) distinct keys
//     a, b, …, values 0, 1, … (repeats allowed), filler "." up to the query,
//     and the query q one of the keys. Only the last position has a target,
//     q's value; the rest are Ignore. Once L exceeds 2·symbols+1 the filler
//     puts every pair far from the query, so the lookup is long-range.
//   - lag: the target at position i is the input at i−k, Ignore for i < k,
//     over uniformly random symbols: one dependency at a fixed distance k,
//     to sweep how far back a model carries a token. "lag" has k =
//     LagDefault; "lag<k>" (or NewLag) any k >= 1; the length must exceed k.
//   - runparity: a bit string tagged at each position with the parity of
//     the 1s up to it ("even", "odd"): a running parity, one bit of state
//     for a recurrent network, a known weakness of self-attention (Hahn,
//     2020; Bhattamishra et al., 2020, below).
//   - parity: a bit string labelled by the parity of its 1s, and dyck:
//     a bracket string labelled by membership of the Dyck-1 language of
//     balanced brackets, whose unbalanced examples are near misses. Both are
//     studied as limits of self-attention by Hahn (2020), "Theoretical
//     Limitations of Self-Attention in Neural Sequence Models", and
//     Bhattamishra et al. (2020), "On the Ability and Limitations of
//     Transformers to Recognize Formal Languages". Balanced strings are drawn
//     uniformly by the cycle lemma (Dvoretzky and Motzkin, 1947).
//
// # Splits
//
// NewSplits draws validation and test sets from their own generators,
// rand.NewPCG(seed, stream) with a distinct stream constant each,
// deduplicates them and keeps test disjoint from validation. Splits.Train
// streams training examples from a third generator and rejects every input
// sequence held out, so held-out data is disjoint from training by
// construction; the tests check it by drawing. A sequence space too small
// for the requested counts is an error (ErrSpaceTooSmall) after a bounded
// number of draws, never a hang. A Source's MarshalBinary holds its
// generator's state and its position, so a restored stream continues
// exactly where the saved one stood.
//
// # Files
//
// A data file has one example per line: input tokens, a TAB, target tokens,
// tokens separated by spaces. Blank lines and lines starting with "#" are
// skipped. A target as long as the input makes a tagging file, a single
// token a classification file, and a file must be one kind; a file whose
// every line is one input token and one target token is read as tagging.
// Errors name "file:line". ReadFile builds vocabularies from a training
// file; ReadFileWithVocab reads further files against them, mapping unseen
// tokens to UnkID and counting them.
//
// # Alignment
//
// AlignerOf gives, for copy, reverse, recall and lag, the input position
// each counted target is copied from (an Aligner): the ground truth
// against which an attention head's weights can be scored.
package data
