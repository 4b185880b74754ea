package nn

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	"github.com/nlpodyssey/safetensors"
	"gorgonia.org/tensor"
)

// EncodeSafetensors serialises named float32 or float64 tensors in the
// safetensors format (https://github.com/huggingface/safetensors), which
// PyTorch reads with safetensors.torch.load_file. meta is stored in the
// header; PyTorch's loaders expect "format": "pt", which is added if absent.
// If as is tensor.Float32 or tensor.Float64 every tensor is converted to it;
// otherwise each keeps its own dtype.
func EncodeSafetensors(ts map[string]*tensor.Dense, meta map[string]string, as tensor.Dtype) ([]byte, error) {
	views := make(map[string]safetensors.TensorView, len(ts))
	for name, t := range ts {
		dt := t.Dtype()
		if as == tensor.Float32 || as == tensor.Float64 {
			dt = as
		}
		shape := make([]uint64, t.Dims())
		for i, d := range t.Shape() {
			shape[i] = uint64(d)
		}
		var raw []byte
		var st safetensors.DType
		switch dt {
		case tensor.Float32:
			st = safetensors.F32
			raw = appendFloat32s(make([]byte, 0, 4*t.Shape().TotalSize()), t)
		case tensor.Float64:
			st = safetensors.F64
			raw = appendFloat64s(make([]byte, 0, 8*t.Shape().TotalSize()), t)
		default:
			return nil, fmt.Errorf("nn: safetensors: tensor %q has unsupported dtype %v", name, dt)
		}
		if len(shape) == 0 { // a scalar: store it as a vector of one
			shape = []uint64{1}
		}
		v, err := safetensors.NewTensorView(st, shape, raw)
		if err != nil {
			return nil, fmt.Errorf("nn: safetensors: tensor %q: %w", name, err)
		}
		views[name] = v
	}
	m := map[string]string{"format": "pt"}
	for k, v := range meta {
		m[k] = v
	}
	return safetensors.Serialize(views, m)
}

// appendFloat32s appends t's elements as little-endian float32s, straight
// from its own slice: a checkpoint's tensors pass through no float64 copy.
func appendFloat32s(raw []byte, t *tensor.Dense) []byte {
	switch d := t.Data().(type) {
	case []float32:
		for _, v := range d {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
		}
	case []float64:
		for _, v := range d {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(float32(v)))
		}
	default:
		for _, v := range ToFloat64s(t) {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(float32(v)))
		}
	}
	return raw
}

// appendFloat64s appends t's elements as little-endian float64s.
func appendFloat64s(raw []byte, t *tensor.Dense) []byte {
	switch d := t.Data().(type) {
	case []float32:
		for _, v := range d {
			raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(float64(v)))
		}
	case []float64:
		for _, v := range d {
			raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(v))
		}
	default:
		for _, v := range ToFloat64s(t) {
			raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(v))
		}
	}
	return raw
}

// DecodeSafetensors parses a safetensors file holding F32 or F64 tensors.
// Every tensor comes back as float64; any malformation is an error.
func DecodeSafetensors(buf []byte) (map[string]*tensor.Dense, map[string]string, error) {
	_, header, err := safetensors.ReadMetadata(buf)
	if err != nil {
		return nil, nil, fmt.Errorf("nn: safetensors: %w", err)
	}
	st, err := safetensors.Deserialize(buf)
	if err != nil {
		return nil, nil, fmt.Errorf("nn: safetensors: %w", err)
	}
	out := make(map[string]*tensor.Dense, st.Len())
	for _, nv := range st.Tensors() {
		tv := nv.TensorView
		shape := make([]int, len(tv.Shape()))
		n := 1
		for i, d := range tv.Shape() {
			if d == 0 || d > math.MaxInt32 {
				return nil, nil, fmt.Errorf("nn: safetensors: tensor %q has shape %v", nv.Name, tv.Shape())
			}
			shape[i] = int(d)
			n *= int(d)
		}
		if len(shape) == 0 {
			shape = []int{1}
		}
		raw := tv.Data()
		vals := make([]float64, n)
		switch tv.DType() {
		case safetensors.F32:
			if len(raw) != 4*n {
				return nil, nil, fmt.Errorf("nn: safetensors: tensor %q holds %d bytes, want %d", nv.Name, len(raw), 4*n)
			}
			for i := range vals {
				vals[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
			}
		case safetensors.F64:
			if len(raw) != 8*n {
				return nil, nil, fmt.Errorf("nn: safetensors: tensor %q holds %d bytes, want %d", nv.Name, len(raw), 8*n)
			}
			for i := range vals {
				vals[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		default:
			return nil, nil, fmt.Errorf("nn: safetensors: tensor %q has dtype %v, want F32 or F64", nv.Name, tv.DType())
		}
		out[nv.Name] = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(vals))
	}
	return out, header.Metadata(), nil
}

// ParamTensors maps each parameter's name to its value.
func ParamTensors(ps []*Param) map[string]*tensor.Dense {
	m := make(map[string]*tensor.Dense, len(ps))
	for _, p := range ps {
		m[p.name] = p.value
	}
	return m
}

// LoadTensors copies ts into the parameters with the same names, converting
// the dtype. A missing, extra or differently shaped tensor is an error that
// names it, and then no parameter is changed.
func LoadTensors(ts map[string]*tensor.Dense, ps []*Param) error {
	want := make(map[string]bool, len(ps))
	for _, p := range ps {
		want[p.name] = true
		t, ok := ts[p.name]
		if !ok {
			return fmt.Errorf("nn: no tensor for parameter %q", p.name)
		}
		if !t.Shape().Eq(p.Shape()) {
			return fmt.Errorf("nn: tensor %q has shape %v, parameter wants %v", p.name, t.Shape(), p.Shape())
		}
	}
	var extra []string
	for name := range ts {
		if !want[name] {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return fmt.Errorf("nn: tensor %q matches no parameter", extra[0])
	}
	for _, p := range ps {
		FromFloat64s(p.value, ToFloat64s(ts[p.name]))
	}
	return nil
}
