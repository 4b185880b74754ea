package nn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ErrCorruptProgram is wrapped by Compile and Run when the program Gorgonia
// compiled does not match the graph it was compiled from.
//
// Gorgonia v0.9.18 tells nodes apart by a 32-bit FNV-1a hash (of the type,
// the shape, and the name or the op and the operands' hashes) and its
// compiler merges nodes whose hashes collide. Most hashes are fixed by the
// graph, but a Read node (one per output, gradient and loss) is hashed by
// the address it reads into, so every compile is a fresh draw: the chance
// that a read collides with another node is reads × nodes / 2³², 5 in 10⁷
// for a training graph of the tests' tiny model (20 reads, 104 nodes) and
// 5 in 10⁶ at the benchmark's large size (68, 341). A read merged into an input made before it gives that input a
// statement's register, the zero register, the first input's; the input is
// then loaded over the first input while an op still has to read it. That
// failed CI at 2ef4463: the embedding's table was loaded over the token
// ids, and the embedding read a token id of 0.0546
// (TestVerifyReadCollision rebuilds that fault).
//
// Compile now draws each read's address until its hash is new to the graph
// (readInto), which leaves only the collisions a graph's names and ops fix
// (inputs named x522789 and x739192 collide, say). verify finds every
// program a collision spoils, and Rebuild builds the graph again with new
// names; a program that fails the check is never run, so a collision can
// cost a rebuild but never change a number.
var ErrCorruptProgram = errors.New("nn: Gorgonia's program does not match its graph")

// nodeHashes returns the hashes of g's nodes.
func nodeHashes(g *Graph) map[uint32]bool {
	nodes := g.g.AllNodes()
	taken := make(map[uint32]bool, len(nodes))
	for _, n := range nodes {
		taken[n.Hashcode()] = true
	}
	return taken
}

// readInto adds to n's graph a Read of n's value after each run into a new
// holder of v (for a tensor v, into v itself), and returns the holder. The
// holder is allocated anew until the read's hash is not in taken, to which
// it is then added: Gorgonia hashes a read by the address it reads into,
// so this draws the address instead of leaving a collision to chance (see
// ErrCorruptProgram). readHash says what the hash will be; should it ever
// disagree with Gorgonia's, verify still finds the merged nodes.
func readInto(n *G.Node, v G.Value, taken map[uint32]bool) *G.Value {
	for {
		at := newHolder()
		*at = v
		if h := readHash(n, at); !taken[h] {
			taken[h] = true
			G.Read(n, at)
			return at
		}
	}
}

// newHolder allocates readInto's holders; tests replace it.
var newHolder = func() *G.Value { return new(G.Value) }

// readHash is the hash Gorgonia v0.9.18 gives G.Read(n, at): FNV-1a of its
// type and shape (none), its op ("print" and the address), the number of
// its operands (one) and n's hash.
func readHash(n *G.Node, at *G.Value) uint32 {
	h := fnv.New32a()
	fmt.Fprintf(h, "%v%vprint %p", nil, tensor.Shape(nil), at)
	h.Write([]byte{1})
	h.Write(binary.LittleEndian.AppendUint32(nil, n.Hashcode()))
	return h.Sum32()
}

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
// few nanoseconds a leaf, no allocation): the program loads whatever value
// a node holds when it runs, and Gorgonia's nodes can be renamed and
// rebound (G.Let) by anyone who holds the graph (ExprGraph).
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
//   - every load writes the register its readers read;
//   - every op and every needed node has an instruction of its own, reads
//     each operand from the register that operand's instruction writes,
//     and writes a register no other instruction writes (unless it is one
//     of Gorgonia's ops that overwrite an operand in place).
//
// Gorgonia keeps the program unexported, so verify reads it by reflection;
// a Gorgonia whose program is laid out otherwise fails here, loudly,
// rather than going unchecked.
func verify(g *Graph, vm G.VM, needed []*G.Node) error {
	if err := g.checkLeaves(); err != nil {
		return err
	}
	loc, instrs, err := programOf(vm)
	if err != nil {
		return err
	}
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

	// own: the nodes an instruction computes or loads; writer: what each
	// register was written by.
	own := make(map[int64]bool, len(instrs))
	writer := make(map[register]string, len(instrs))
	var ops []reflect.Value
	for i, in := range instrs {
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
			writer[readRegister(in.FieldByName("writeTo"))] = n.Name()
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
		w := readRegister(in.FieldByName("writeTo"))
		if other, ok := writer[w]; ok && !inPlace(n.Op(), reads, w) {
			return fmt.Errorf("%w: %v writes the register of %s", ErrCorruptProgram, n.Op(), other)
		}
		writer[w] = fmt.Sprint(n.Op())
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

// programOf reads Gorgonia's program vm: its map from each node to its
// register, and its instructions, each the struct itself (loadArg,
// execOp, and others).
func programOf(vm G.VM) (loc reflect.Value, instrs []reflect.Value, err error) {
	m := reflect.ValueOf(vm)
	progM, locM := m.MethodByName("Prog"), m.MethodByName("LocMap")
	if !progM.IsValid() || !locM.IsValid() {
		return loc, nil, fmt.Errorf("nn: cannot inspect Gorgonia's %T: no Prog or LocMap", vm)
	}
	prog := progM.Call(nil)[0]
	if prog.Kind() == reflect.Pointer {
		prog = prog.Elem()
	}
	all := prog.FieldByName("instructions")
	if !all.IsValid() || all.Kind() != reflect.Slice {
		return loc, nil, fmt.Errorf("nn: cannot inspect Gorgonia's program: no instructions")
	}
	for i := range all.Len() {
		in := all.Index(i).Elem()
		if in.Kind() == reflect.Pointer {
			in = in.Elem()
		}
		instrs = append(instrs, in)
	}
	return locM.Call(nil)[0], instrs, nil
}

// inPlace reports whether op, reading reads, writes w because it
// overwrites its operand there, as Gorgonia lets some of its own ops do
// (never qkv's).
func inPlace(op G.Op, reads reflect.Value, w register) bool {
	k := op.OverwritesInput()
	return k >= 0 && k < reads.Len() && readRegister(reads.Index(k)) == w
}

// readRegister reads one of Gorgonia's registers, {id int; device Device}.
func readRegister(v reflect.Value) register {
	return register{device: v.FieldByName("device").Int(), id: v.FieldByName("id").Int()}
}
