package nn

import (
	"errors"
	"fmt"
	"reflect"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ErrCorruptProgram is wrapped by Compile and Run when the program Gorgonia
// compiled no longer matches the graph it was compiled from. Gorgonia
// v0.9.18 has done this once in CI (an embedding op read the token ids'
// register as its table, then failed on an id of 0.0546); the cause, in
// its compiler or in the node pool it recycles nodes through, did not
// repeat in hundreds of runs since. A program that fails the check is
// never run, so the fault can stop a run but never change a number.
var ErrCorruptProgram = errors.New("nn: Gorgonia's program does not match its graph")

// buildRounds is how many rounds Rebuild builds a graph in at most.
const buildRounds = 4

// Rebuild returns build(0), or while that fails with ErrCorruptProgram,
// build of the next round, up to round 3. build builds a graph whose nodes
// are named for the round (SetRound) and compiles it.
func Rebuild[T any](build func(round int) (T, error)) (T, error) {
	var v T
	var err error
	for r := range buildRounds {
		if v, err = build(r); !errors.Is(err, ErrCorruptProgram) {
			break
		}
	}
	return v, err
}

// leaf is a node the graph made for an input, a parameter or a constant,
// with the name and the value it gave the node.
type leaf struct {
	node  *G.Node
	name  string
	value *tensor.Dense
}

// checkLeaves checks that every input, parameter and constant of g still
// has the name and the value g gave it. Run calls it before every run (a
// few nanoseconds a leaf, no allocation): a node that Gorgonia hands out
// again while a program still uses it changes under that program.
func (g *Graph) checkLeaves() error {
	for _, l := range g.leaves {
		if got := l.node.Name(); got != l.name {
			return fmt.Errorf("%w: node %s is now named %q", ErrCorruptProgram, l.name, got)
		}
		if v, ok := l.node.Value().(*tensor.Dense); !ok || v != l.value {
			return fmt.Errorf("%w: node %s no longer holds its value", ErrCorruptProgram, l.name)
		}
	}
	return nil
}

// register is where a tape machine keeps a value: a device and a slot.
type register struct{ device, id int64 }

// verify checks the program vm that Gorgonia compiled from g against g,
// with needed the nodes whose values the program reads out (the loss,
// the gradients, the outputs):
//   - every input, parameter and constant still has its name and value
//     (checkLeaves), is a node of its own, and has a register of its own;
//   - every load of one writes the register its readers read;
//   - every op and every needed node has an instruction of its own, and
//     every op reads each operand from the register that operand's
//     instruction writes.
//
// Gorgonia tells nodes apart by a 32-bit hash (FNV-1a of the type, the
// shape, and the name or the op and the operands' hashes) and merges nodes
// whose hashes collide: two inputs whose names collide are loaded into one
// register, and of two ops that collide one is never run and its readers
// read the other's value — silently wrong numbers. Gorgonia keeps the
// program unexported, so verify reads it by reflection; a Gorgonia whose
// program is laid out otherwise fails here, loudly, rather than going
// unchecked.
func verify(g *Graph, vm G.VM, needed []*G.Node) error {
	if err := g.checkLeaves(); err != nil {
		return err
	}
	m := reflect.ValueOf(vm)
	progM, locM := m.MethodByName("Prog"), m.MethodByName("LocMap")
	if !progM.IsValid() || !locM.IsValid() {
		return fmt.Errorf("nn: cannot inspect Gorgonia's %T: no Prog or LocMap", vm)
	}
	loc := locM.Call(nil)[0]
	regOf := func(n *G.Node) (register, bool) {
		r := loc.MapIndex(reflect.ValueOf(n))
		if !r.IsValid() {
			return register{}, false
		}
		return readRegister(r), true
	}
	owner := make(map[register]string, len(g.leaves))
	node := make(map[*G.Node]string, len(g.leaves))
	for _, l := range g.leaves {
		if other, ok := node[l.node]; ok {
			return fmt.Errorf("%w: %s and %s are one node", ErrCorruptProgram, other, l.name)
		}
		node[l.node] = l.name
		r, ok := regOf(l.node)
		if !ok {
			continue // a leaf nothing reads is not loaded
		}
		if other, ok := owner[r]; ok {
			return fmt.Errorf("%w: %s and %s share a register", ErrCorruptProgram, other, l.name)
		}
		owner[r] = l.name
	}

	prog := progM.Call(nil)[0]
	if prog.Kind() == reflect.Pointer {
		prog = prog.Elem()
	}
	instrs := prog.FieldByName("instructions")
	if !instrs.IsValid() || instrs.Kind() != reflect.Slice {
		return fmt.Errorf("nn: cannot inspect Gorgonia's program: no instructions")
	}
	// own: the nodes an instruction computes or loads.
	own := make(map[int64]bool, instrs.Len())
	var ops []reflect.Value
	for i := range instrs.Len() {
		in := instrs.Index(i).Elem()
		if in.Kind() == reflect.Pointer {
			in = in.Elem()
		}
		switch in.Type().Name() {
		case "loadArg":
			id := in.FieldByName("index").Int()
			n, ok := g.g.Node(id).(*G.Node)
			if !ok || !n.IsVar() {
				return fmt.Errorf("%w: instruction %d loads node %d, which is not an input", ErrCorruptProgram, i, id)
			}
			if r, ok := regOf(n); !ok || r != readRegister(in.FieldByName("writeTo")) {
				return fmt.Errorf("%w: instruction %d loads %s into another register than its readers read", ErrCorruptProgram, i, n.Name())
			}
			own[id] = true
		case "execOp":
			own[in.FieldByName("id").Int()] = true
			ops = append(ops, in)
		}
	}
	if len(ops) == 0 || len(own) == len(ops) {
		return fmt.Errorf("nn: cannot inspect Gorgonia's program: %d ops and %d loads found", len(ops), len(own)-len(ops))
	}
	for _, in := range ops {
		id := in.FieldByName("id").Int()
		n, ok := g.g.Node(id).(*G.Node)
		if !ok {
			return fmt.Errorf("%w: an instruction runs node %d, which is not in the graph", ErrCorruptProgram, id)
		}
		reads := in.FieldByName("readFrom")
		operands := g.g.From(id)
		if reads.Len() != operands.Len() {
			return fmt.Errorf("%w: %v reads %d registers for %d operands", ErrCorruptProgram, n.Op(), reads.Len(), operands.Len())
		}
		for j := 0; operands.Next(); j++ {
			c := operands.Node().(*G.Node)
			if !own[c.ID()] {
				return fmt.Errorf("%w: operand %d of %v, %v, was merged into another node", ErrCorruptProgram, j, n.Op(), c)
			}
			if r, ok := regOf(c); !ok || r != readRegister(reads.Index(j)) {
				return fmt.Errorf("%w: %v reads operand %d, %v, from the wrong register", ErrCorruptProgram, n.Op(), j, c)
			}
		}
	}
	for _, n := range needed {
		if !own[n.ID()] {
			return fmt.Errorf("%w: %v, read out after each run, was merged into another node", ErrCorruptProgram, n)
		}
	}
	return nil
}

// readRegister reads one of Gorgonia's registers, {id int; device Device}.
func readRegister(v reflect.Value) register {
	return register{device: v.FieldByName("device").Int(), id: v.FieldByName("id").Int()}
}
