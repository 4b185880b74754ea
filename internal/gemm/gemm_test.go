package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naive is the reference: a triple loop accumulated in float64.
func naive[T Float](transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, acc bool, c []T, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv T
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			if acc {
				s += float64(c[i*ldc+j])
			}
			c[i*ldc+j] = T(s)
		}
	}
}

type problem struct {
	transA, transB bool
	m, n, k        int
	pad            int // extra columns in every leading dimension
	acc            bool
}

func (p problem) String() string {
	return fmt.Sprintf("tA=%v,tB=%v,%dx%dx%d,pad=%d,acc=%v", p.transA, p.transB, p.m, p.n, p.k, p.pad, p.acc)
}

func random[T Float](rng *rand.Rand, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(rng.Float64()*2 - 1)
	}
	return s
}

// operands draws p's A, B and C at random, each row padded by p.pad, and
// returns them with their leading dimensions.
func operands[T Float](rng *rand.Rand, p problem) (a, b, c []T, lda, ldb, ldc int) {
	ar, ac := p.m, p.k
	if p.transA {
		ar, ac = p.k, p.m
	}
	br, bc := p.k, p.n
	if p.transB {
		br, bc = p.n, p.k
	}
	lda, ldb, ldc = ac+p.pad, bc+p.pad, p.n+p.pad
	a = random[T](rng, max(ar*lda, 1))
	b = random[T](rng, max(br*ldb, 1))
	c = random[T](rng, p.m*ldc)
	return a, b, c, lda, ldb, ldc
}

// check runs one problem through Gemm and compares it with naive, with a
// tolerance of a few ulps of the products' magnitude per accumulated term.
func check[T Float](t *testing.T, rng *rand.Rand, p problem) {
	t.Helper()
	a, b, c, lda, ldb, ldc := operands[T](rng, p)
	want := append([]T(nil), c...)
	naive(p.transA, p.transB, p.m, p.n, p.k, a, lda, b, ldb, p.acc, want, ldc)
	Gemm(p.transA, p.transB, p.m, p.n, p.k, a, lda, b, ldb, p.acc, c, ldc)
	var eps float64 = 1.2e-7
	var z T
	if _, ok := any(z).(float64); ok {
		eps = 2.3e-16
	}
	tol := 4 * eps * float64(p.k+2)
	for i := 0; i < p.m; i++ {
		for j := 0; j < ldc; j++ {
			got, w := float64(c[i*ldc+j]), float64(want[i*ldc+j])
			if j >= p.n { // padding must be untouched
				if got != w {
					t.Fatalf("%v: c[%d,%d] (padding) = %v, want %v untouched", p, i, j, got, w)
				}
				continue
			}
			if math.Abs(got-w) > tol {
				t.Fatalf("%v: c[%d,%d] = %v, want %v (tolerance %g)", p, i, j, got, w, tol)
			}
		}
	}
}

func problems() []problem {
	sizes := [][3]int{
		{1, 1, 1}, {1, 1, 7}, {2, 3, 5}, {6, 16, 1}, {6, 8, 3}, {7, 17, 13}, {5, 15, 31},
		{13, 29, 257}, {37, 53, 11}, {97, 101, 103}, {12, 12, 16}, {150, 40, 260},
		{145, 33, 513}, {300, 7, 3}, {3, 300, 9}, {64, 3100, 5}, {2, 2, 0},
	}
	var ps []problem
	for _, s := range sizes {
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for _, pad := range []int{0, 3} {
					for _, acc := range []bool{false, true} {
						ps = append(ps, problem{tA, tB, s[0], s[1], s[2], pad, acc})
					}
				}
			}
		}
	}
	return ps
}

// eachKernel runs f with every kernel set this machine has (AVX-512,
// AVX2, Go) in use in turn.
func eachKernel(t *testing.T, f func(t *testing.T)) {
	for i := range kernelSets {
		t.Run(kernelSets[i].name, func(t *testing.T) {
			defer useKernels(&kernelSets[i])()
			f(t)
		})
	}
}

// useKernels makes ks the active set and returns what restores the last.
func useKernels(ks *kernelSet) (restore func()) {
	old := active
	active = ks
	return func() { active = old }
}

func TestGemmMatchesNaive(t *testing.T) {
	eachKernel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, p := range problems() {
			check[float32](t, rng, p)
			check[float64](t, rng, p)
		}
	})
}

// TestGemmParallel covers the split over goroutines with more parts than
// the machine has cores, including parts of uneven size, and panels of B
// packed by all of them (the last sliver partial where n is not a multiple
// of NR).
func TestGemmParallel(t *testing.T) {
	defer func(n, m, s int) { threads, minParallel, minSharedPack = n, m, s }(threads, minParallel, minSharedPack)
	minParallel, minSharedPack = 1, 1
	for _, nt := range []int{2, 3, 5} {
		threads = nt
		eachKernel(t, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			for _, p := range []problem{
				{false, false, 200, 70, 90, 1, false}, {true, true, 61, 300, 33, 0, true},
				{false, true, 131, 131, 131, 2, true}, {true, false, 1000, 9, 20, 0, false},
				{false, false, 12, 3000, 300, 1, true}, {true, true, 300, 40, 700, 0, false},
			} {
				check[float32](t, rng, p)
				check[float64](t, rng, p)
			}
		})
	}
}

// TestBatch checks per-head products laid out as attention lays them out:
// head h of item i is the column block [h·dk, (h+1)·dk) of a [T, D] matrix.
func TestBatch(t *testing.T) {
	defer func(n, m int) { threads, minParallel = n, m }(threads, minParallel)
	minParallel, threads = 1, 3
	eachKernel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, acc := range []bool{false, true} {
			nb, heads, tt, dk := 9, 4, 13, 16
			d := heads * dk
			q := random[float32](rng, nb*tt*d)
			k := random[float32](rng, nb*tt*d)
			s := random[float32](rng, nb*heads*tt*tt)
			want := append([]float32(nil), s...)
			for i := 0; i < nb; i++ {
				for h := 0; h < heads; h++ {
					off := i*tt*d + h*dk
					naive(false, true, tt, tt, dk, q[off:], d, k[off:], d, acc, want[(i*heads+h)*tt*tt:], tt)
				}
			}
			Batch(nb*heads, func(j int) Args[float32] {
				i, h := j/heads, j%heads
				off := i*tt*d + h*dk
				return Args[float32]{TransB: true, M: tt, N: tt, K: dk, A: q[off:], LDA: d, B: k[off:], LDB: d, C: s[j*tt*tt:], LDC: tt, Acc: acc}
			})
			for i := range s {
				if math.Abs(float64(s[i]-want[i])) > 1e-5 {
					t.Fatalf("acc=%v: s[%d] = %v, want %v", acc, i, s[i], want[i])
				}
			}
		}
	})
}

func TestShortSlicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Gemm with a too-short c did not panic")
		}
	}()
	a, b, c := make([]float32, 4), make([]float32, 4), make([]float32, 3)
	Gemm(false, false, 2, 2, 2, a, 2, b, 2, false, c, 2)
}

func FuzzGemm(f *testing.F) {
	f.Add(uint8(7), uint8(17), uint8(13), uint8(0), uint8(0), uint64(1))
	f.Add(uint8(1), uint8(1), uint8(1), uint8(15), uint8(2), uint64(2))
	f.Add(uint8(60), uint8(33), uint8(255), uint8(6), uint8(1), uint64(3))
	f.Fuzz(func(t *testing.T, m, n, k, flags, pad uint8, seed uint64) {
		p := problem{
			transA: flags&1 != 0, transB: flags&2 != 0, acc: flags&4 != 0,
			m: int(m%97) + 1, n: int(n%97) + 1, k: int(k), pad: int(pad % 5),
		}
		rng := rand.New(rand.NewPCG(seed, 7))
		defer useKernels(&kernelSets[int(flags>>3)%len(kernelSets)])()
		check[float32](t, rng, p)
		check[float64](t, rng, p)
	})
}

// TestLinear checks the bias and ReLU epilogue against naive, including
// products deeper than one block of k (the epilogue only after the last)
// and split over goroutines.
func TestLinear(t *testing.T) {
	defer func(n, m, s int) { threads, minParallel, minSharedPack = n, m, s }(threads, minParallel, minSharedPack)
	for _, par := range []bool{false, true} {
		if par {
			threads, minParallel, minSharedPack = 3, 1, 1
		}
		eachKernel(t, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 8))
			for _, s := range [][3]int{{1, 1, 1}, {7, 17, 13}, {13, 29, 257}, {37, 53, 600}, {150, 40, 31}, {64, 3100, 3}, {5, 5, 0}} {
				for _, tA := range []bool{false, true} {
					for _, tB := range []bool{false, true} {
						for _, relu := range []bool{false, true} {
							checkLinear[float32](t, rng, tA, tB, s[0], s[1], s[2], relu)
							checkLinear[float64](t, rng, tA, tB, s[0], s[1], s[2], relu)
						}
					}
				}
			}
		})
	}
}

func checkLinear[T Float](t *testing.T, rng *rand.Rand, tA, tB bool, m, n, k int, relu bool) {
	t.Helper()
	ar, ac := m, k
	if tA {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB {
		br, bc = n, k
	}
	a, b := random[T](rng, max(ar*ac, 1)), random[T](rng, max(br*bc, 1))
	bias := random[T](rng, n)
	c := random[T](rng, m*n)
	want := make([]T, m*n)
	naive(tA, tB, m, n, k, a, max(ac, 1), b, max(bc, 1), false, want, n)
	for i := range want {
		v := float64(want[i]) + float64(bias[i%n])
		if relu && !(v > 0) {
			v = 0
		}
		want[i] = T(v)
	}
	Linear(tA, tB, m, n, k, a, max(ac, 1), b, max(bc, 1), bias, relu, c, n)
	var z T
	eps := 1.2e-7
	if _, ok := any(z).(float64); ok {
		eps = 2.3e-16
	}
	tol := 4 * eps * float64(k+3)
	for i := range c {
		if math.Abs(float64(c[i])-float64(want[i])) > tol {
			t.Fatalf("tA=%v tB=%v %dx%dx%d relu=%v: c[%d] = %v, want %v", tA, tB, m, n, k, relu, i, c[i], want[i])
		}
	}
}

// TestAsmKernelsAgree: the assembly kernel sets accumulate every element of
// C in the same order (k in blocks of the same KC, one FMA per term), so
// their products are equal bit for bit, whatever their tile widths.
func TestAsmKernelsAgree(t *testing.T) {
	asm := kernelSets[:len(kernelSets)-1]
	if len(asm) < 2 {
		t.Skipf("%d assembly kernel sets on this machine or build; nothing to compare", len(asm))
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for _, p := range problems() {
		agree[float32](t, rng, p, asm)
		agree[float64](t, rng, p, asm)
	}
}

func agree[T Float](t *testing.T, rng *rand.Rand, p problem, sets []kernelSet) {
	t.Helper()
	a, b, c0, lda, ldb, ldc := operands[T](rng, p)
	bias := random[T](rng, p.n)
	var first []T
	for i := range sets {
		c := append([]T(nil), c0...)
		func() {
			defer useKernels(&sets[i])()
			Gemm(p.transA, p.transB, p.m, p.n, p.k, a, lda, b, ldb, p.acc, c, ldc)
			if p.acc { // and once more through the bias and ReLU epilogue
				Linear(p.transA, p.transB, p.m, p.n, p.k, a, lda, b, ldb, bias, true, c, ldc)
			}
		}()
		if i == 0 {
			first = c
			continue
		}
		for j := range c {
			if math.Float64bits(float64(c[j])) != math.Float64bits(float64(first[j])) {
				t.Fatalf("%v: %s gives c[%d] = %v, %s %v", p, sets[i].name, j, c[j], sets[0].name, first[j])
			}
		}
	}
}

// TestNarrowProducts: a set with narrower tiles beside it hands them the
// products no wider than those tiles, and keeps the wider ones.
func TestNarrowProducts(t *testing.T) {
	for i := range kernelSets {
		ks := &kernelSets[i]
		if ks.narrow == nil {
			continue
		}
		defer useKernels(ks)()
		n32, n64 := ks.narrow.f32.nr, ks.narrow.f64.nr
		if got := implFor[float32](n32); got != ks.narrow.f32 {
			t.Errorf("%s: float32 n=%d: tiles %d wide, want the narrow set's %d", ks.name, n32, got.nr, n32)
		}
		if got := implFor[float32](n32 + 1); got != ks.f32 {
			t.Errorf("%s: float32 n=%d: tiles %d wide, want %d", ks.name, n32+1, got.nr, ks.f32.nr)
		}
		if got := implFor[float64](n64); got != ks.narrow.f64 {
			t.Errorf("%s: float64 n=%d: tiles %d wide, want the narrow set's %d", ks.name, n64, got.nr, n64)
		}
		if got := implFor[float64](n64 + 1); got != ks.f64 {
			t.Errorf("%s: float64 n=%d: tiles %d wide, want %d", ks.name, n64+1, got.nr, ks.f64.nr)
		}
	}
}
