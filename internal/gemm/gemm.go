package gemm

import (
	"runtime"
	"sync"

	"github.com/qkv-dev/qkv/internal/team"
)

// Float is the element type of a product.
type Float interface{ float32 | float64 }

// kernelFunc computes the MR×NR tile c = a·b (acc false) or c += a·b (acc
// true), where a is an MR×k sliver whose element (i, p) is a[i·rsA + p·csA]
// and b a k×NR sliver whose row p starts at b[p·csB]. A packed A sliver has
// rsA = 1, csA = MR; a packed B sliver csB = NR; rows of a row-major A or B
// can be read in place with their leading dimension as stride. c holds rows
// of NR elements ldc apart. flags choose the epilogue, applied in this order:
// flagAcc adds the old c, flagBias adds bias[j] to column j, flagReLU
// replaces v by v <= 0 ? +0 : v (a NaN stays NaN, as in torch.relu).
type kernelFunc[T Float] func(k int, a []T, rsA, csA int, b []T, csB int, c []T, ldc int, flags int, bias []T)

const (
	flagAcc = 1 << iota
	flagBias
	flagReLU
)

// impl is one element type's blocking and micro-kernel.
type impl[T Float] struct {
	mr, nr     int
	mc, kc, nc int
	kern       kernelFunc[T]
	pool       sync.Pool // *buffers[T]
}

type buffers[T Float] struct {
	a, b []T
	tile []T
}

func (im *impl[T]) buffers() *buffers[T] {
	if b, ok := im.pool.Get().(*buffers[T]); ok {
		return b
	}
	return &buffers[T]{tile: make([]T, im.mr*im.nr)}
}

func grow[T Float](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// minParallel is the number of multiply-adds from which a product is split
// over two or more goroutines; below it (about 20 µs of work) waking another
// thread costs more than it saves.
var minParallel = 1 << 22

// threads is how many goroutines a large product is split over.
var threads = runtime.GOMAXPROCS(0)

// Gemm computes c = op(a)·op(b), or c += op(a)·op(b) with acc, where op(a)
// is m×k (a is k×m when transA), op(b) is k×n (b is n×k when transB) and c is
// m×n, all row-major with leading dimensions lda, ldb and ldc.
func Gemm[T Float](transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, acc bool, c []T, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	checkArgs(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	im := implFor[T](n)
	if k <= 0 {
		if !acc {
			for i := 0; i < m; i++ {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}
	p := Args[T]{TransA: transA, TransB: transB, M: m, N: n, K: k, A: a, LDA: lda, B: b, LDB: ldb, C: c, LDC: ldc, Acc: acc}
	if m*n*k < minParallel || threads < 2 || m < 2*im.mr {
		im.serial(&p)
		return
	}
	im.parallel(&p)
}

// Linear computes c = op(a)·op(b) + bias, bias added to every row, and
// with relu c = max(that, 0) as v <= 0 ? +0 : v (so a NaN stays NaN, as in
// torch.relu, and −0 becomes +0), in the
// micro-kernel's epilogue rather than in passes of their own. The shapes
// are those of Gemm; bias has n elements.
func Linear[T Float](transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, bias []T, relu bool, c []T, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	checkArgs(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if len(bias) < n {
		panic("gemm: bias is shorter than n")
	}
	im := implFor[T](n)
	p := Args[T]{TransA: transA, TransB: transB, M: m, N: n, K: k, A: a, LDA: lda, B: b, LDB: ldb, C: c, LDC: ldc, Bias: bias[:n], ReLU: relu}
	if k <= 0 {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			copy(row, p.Bias)
			if relu {
				for j, v := range row {
					if v <= 0 {
						row[j] = 0
					}
				}
			}
		}
		return
	}
	if m*n*k < minParallel || threads < 2 || m < 2*im.mr {
		im.serial(&p)
		return
	}
	im.parallel(&p)
}

// Args is one product for Batch: C = op(A)·op(B), or C += with Acc.
type Args[T Float] struct {
	TransA, TransB bool
	M, N, K        int
	A              []T
	LDA            int
	B              []T
	LDB            int
	C              []T
	LDC            int
	Acc            bool
	Bias           []T  // if not nil, added to every row of the product (length N)
	ReLU           bool // clamp the result at zero: v <= 0 ? +0 : v
}

// Batch computes count independent products, the i-th described by at(i),
// spreading them over the cores. It is meant for many small products such as
// the per-head matrices of attention; each is done by one goroutine.
func Batch[T Float](count int, at func(i int) Args[T]) {
	if count <= 0 {
		return
	}
	first := at(0)
	im := implFor[T](first.N) // the products of a batch are alike
	run := func(lo, hi int) {
		buf := im.buffers()
		defer im.pool.Put(buf)
		for i := lo; i < hi; i++ {
			p := at(i)
			if p.M <= 0 || p.N <= 0 {
				continue
			}
			checkArgs(p.TransA, p.TransB, p.M, p.N, p.K, len(p.A), p.LDA, len(p.B), p.LDB, len(p.C), p.LDC)
			if p.K <= 0 {
				if !p.Acc {
					for r := 0; r < p.M; r++ {
						clear(p.C[r*p.LDC : r*p.LDC+p.N])
					}
				}
				continue
			}
			im.serialWith(buf, &p)
		}
	}
	if threads < 2 || count < 2 || count*first.M*first.N*max(first.K, 1) < minParallel {
		run(0, count)
		return
	}
	chunk := max(1, count/(4*threads))
	team.Run(threads, (count+chunk-1)/chunk, func(i int) {
		run(i*chunk, min((i+1)*chunk, count))
	})
}

func checkArgs(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if k > 0 && (lda < max(ac, 1) || la < (ar-1)*lda+ac) {
		panic("gemm: a is too short for its shape and stride")
	}
	if k > 0 && (ldb < max(bc, 1) || lb < (br-1)*ldb+bc) {
		panic("gemm: b is too short for its shape and stride")
	}
	if ldc < max(n, 1) || lc < (m-1)*ldc+n {
		panic("gemm: c is too short for its shape and stride")
	}
}

// serial computes one product on the calling goroutine.
//
// Slivers of a non-transposed A are read in place: their rows are
// contiguous, so packing would only copy them. So are those of a transposed
// A (six adjacent elements per step of k) when the product is too narrow to
// reuse a packed block over many column slivers, and those of a
// non-transposed B when it has few row slivers to reuse a packed panel over.
// Partial slivers at the edges are always packed, padded with zeros.
func (im *impl[T]) serial(p *Args[T]) {
	buf := im.buffers()
	im.serialWith(buf, p)
	im.pool.Put(buf)
}

// serialWith is serial with the packing buffers given.
func (im *impl[T]) serialWith(buf *buffers[T], p *Args[T]) {
	directB := !p.TransB && p.M <= directBMaxM
	for jc := 0; jc < p.N; jc += im.nc {
		nc := min(im.nc, p.N-jc)
		for pc := 0; pc < p.K; pc += im.kc {
			kc := min(im.kc, p.K-pc)
			buf.b = im.packPanel(buf.b, p, directB, jc, nc, pc, kc)
			for ic := 0; ic < p.M; ic += im.mc {
				im.block(buf, buf.b, p, directB, ic, min(im.mc, p.M-ic), jc, nc, pc, kc)
			}
		}
	}
}

// parallel is serial with each packed panel of B shared by goroutines that
// take its row blocks in turns.
func (im *impl[T]) parallel(p *Args[T]) {
	directB := !p.TransB && p.M <= directBMaxM
	own := im.buffers()
	defer im.pool.Put(own)
	// Row blocks of a multiple of MR rows, about four per goroutine, at
	// most MC.
	rowsPer := (p.M + 4*threads - 1) / (4 * threads)
	rowsPer = min(im.mc, max(im.mr, (rowsPer+im.mr-1)/im.mr*im.mr))
	blocks := (p.M + rowsPer - 1) / rowsPer
	for jc := 0; jc < p.N; jc += im.nc {
		nc := min(im.nc, p.N-jc)
		for pc := 0; pc < p.K; pc += im.kc {
			kc := min(im.kc, p.K-pc)
			own.b = im.packPanelShared(own.b, p, directB, jc, nc, pc, kc)
			panel := own.b
			team.Run(threads, blocks, func(i int) {
				buf := im.buffers()
				ic := i * rowsPer
				im.block(buf, panel, p, directB, ic, min(rowsPer, p.M-ic), jc, nc, pc, kc)
				im.pool.Put(buf)
			})
		}
	}
}

// packPanel packs op(b)[pc:pc+kc, jc:jc+nc] into dst (grown as needed), or
// with directB only its last, partial sliver.
func (im *impl[T]) packPanel(dst []T, p *Args[T], directB bool, jc, nc, pc, kc int) []T {
	nr := im.nr
	dst = grow(dst, (nc+nr-1)/nr*nr*kc)
	if directB {
		if full := nc / nr * nr; full < nc {
			packB(dst[full*kc:], p.B, p.LDB, p.TransB, pc, kc, jc+full, nc-full, nr)
		}
	} else {
		packB(dst, p.B, p.LDB, p.TransB, pc, kc, jc, nc, nr)
	}
	return dst
}

// minSharedPack is the number of elements of a panel of B from which
// parallel packs it on all the cores rather than on one while the others
// wait: about 0.1 ms of copying, several times what waking them costs.
var minSharedPack = 1 << 16

// packPanelShared is packPanel with a large panel's slivers dealt out to
// the cores, a contiguous run of whole slivers each.
func (im *impl[T]) packPanelShared(dst []T, p *Args[T], directB bool, jc, nc, pc, kc int) []T {
	slivers := (nc + im.nr - 1) / im.nr
	if directB || threads < 2 || nc*kc < minSharedPack || slivers < 2*threads {
		return im.packPanel(dst, p, directB, jc, nc, pc, kc)
	}
	nr := im.nr
	dst = grow(dst, slivers*nr*kc)
	pieces := 2 * threads
	team.Run(threads, pieces, func(i int) {
		s0, s1 := i*slivers/pieces, (i+1)*slivers/pieces
		packB(dst[s0*nr*kc:], p.B, p.LDB, p.TransB, pc, kc, jc+s0*nr, min(s1*nr, nc)-s0*nr, nr)
	})
	return dst
}

// block multiplies rows [ic, ic+mc) of op(a)[:, pc:pc+kc] by the packed
// panel into c, packing the A block into buf as needed.
func (im *impl[T]) block(buf *buffers[T], panel []T, p *Args[T], directB bool, ic, mc, jc, nc, pc, kc int) {
	mr, nr := im.mr, im.nr
	flags := 0
	if p.Acc || pc > 0 {
		flags |= flagAcc
	}
	var bias []T
	if pc+kc == p.K { // the epilogue belongs to the last block of k
		if p.Bias != nil {
			flags |= flagBias
			bias = p.Bias[jc:]
		}
		if p.ReLU {
			flags |= flagReLU
		}
	}
	directA := !p.TransA || p.N <= directAMaxN
	buf.a = grow(buf.a, (mc+mr-1)/mr*mr*kc)
	if directA {
		if full := mc / mr * mr; full < mc {
			packA(buf.a[full*kc:], p.A, p.LDA, p.TransA, ic+full, mc-full, pc, kc, mr)
		}
	} else {
		packA(buf.a, p.A, p.LDA, p.TransA, ic, mc, pc, kc, mr)
	}
	for jr := 0; jr < nc; jr += nr {
		nrr := min(nr, nc-jr)
		bs, csB := panel[jr*kc:(jr+nr)*kc], nr
		if directB && nrr == nr {
			bs, csB = p.B[pc*p.LDB+jc+jr:], p.LDB
		}
		for ir := 0; ir < mc; ir += mr {
			mrr := min(mr, mc-ir)
			as, rsA, csA := buf.a[ir*kc:(ir+mr)*kc], 1, mr
			if directA && mrr == mr {
				if p.TransA {
					as, rsA, csA = p.A[pc*p.LDA+ic+ir:], 1, p.LDA
				} else {
					as, rsA, csA = p.A[(ic+ir)*p.LDA+pc:], p.LDA, 1
				}
			}
			off := (ic+ir)*p.LDC + jc + jr
			var bj []T
			if bias != nil {
				bj = bias[jr:]
			}
			if mrr == mr && nrr == nr {
				im.kern(kc, as, rsA, csA, bs, csB, p.C[off:], p.LDC, flags, bj)
				continue
			}
			// An edge tile: compute it whole into the scratch tile, then
			// apply the epilogue to the part that exists, in the kernel's
			// order.
			im.kern(kc, as, rsA, csA, bs, csB, buf.tile, nr, 0, nil)
			for i := 0; i < mrr; i++ {
				dst := p.C[off+i*p.LDC : off+i*p.LDC+nrr]
				src := buf.tile[i*nr : i*nr+nrr]
				switch flags {
				case 0:
					copy(dst, src)
					continue
				case flagAcc:
					for j, v := range src {
						dst[j] += v
					}
					continue
				}
				for j, v := range src {
					if flags&flagAcc != 0 {
						v += dst[j]
					}
					if flags&flagBias != 0 {
						v += bj[j]
					}
					if flags&flagReLU != 0 && v <= 0 {
						v = 0
					}
					dst[j] = v
				}
			}
		}
	}
}

// directBMaxM is the largest m for which B is read in place rather than
// packed.
var directBMaxM = 64

// directAMaxN is the largest n for which a transposed A is read in place.
var directAMaxN = 128

// packA copies op(a)[i0:i0+mc, p0:p0+kc] into dst as MR-tall slivers, each
// stored column after column, padding the last sliver with zeros.
func packA[T Float](dst, a []T, lda int, trans bool, i0, mc, p0, kc, mr int) {
	for ir := 0; ir < mc; ir += mr {
		mrr := min(mr, mc-ir)
		d := dst[ir*kc : (ir+mr)*kc]
		if trans { // op(a)(i, p) = a[p, i]: each column of the sliver is contiguous
			if mrr == 6 && mr == 6 {
				// The usual sliver, its six elements a step moved with one
				// bounds check each side rather than a loop.
				for p := 0; p < kc; p++ {
					src := a[(p0+p)*lda+i0+ir:][:6:6]
					col := d[p*6 : p*6+6 : p*6+6]
					col[0], col[1], col[2], col[3], col[4], col[5] = src[0], src[1], src[2], src[3], src[4], src[5]
				}
				continue
			}
			for p := 0; p < kc; p++ {
				// Element loops, not copy: a call to memmove costs more
				// than moving six elements.
				src := a[(p0+p)*lda+i0+ir:][:mrr]
				col := d[p*mr : p*mr+mr]
				for i, v := range src {
					col[i] = v
				}
				for i := mrr; i < mr; i++ {
					col[i] = 0
				}
			}
			continue
		}
		for i := 0; i < mrr; i++ {
			src := a[(i0+ir+i)*lda+p0 : (i0+ir+i)*lda+p0+kc]
			for p, v := range src {
				d[p*mr+i] = v
			}
		}
		for i := mrr; i < mr; i++ {
			for p := 0; p < kc; p++ {
				d[p*mr+i] = 0
			}
		}
	}
}

// packB copies op(b)[p0:p0+kc, j0:j0+nc] into dst as NR-wide slivers, each
// stored row after row, padding the last sliver with zeros.
func packB[T Float](dst, b []T, ldb int, trans bool, p0, kc, j0, nc, nr int) {
	if !trans {
		// op(b)(p, j) = b[p, j]: walk b row after row, so the reads stream
		// (a sliver at a time would stride by ldb, often a power of two
		// that defeats the prefetcher and the cache's sets), and deal each
		// row out to the slivers.
		full := nc / nr * nr
		for p := 0; p < kc; p++ {
			row := b[(p0+p)*ldb+j0 : (p0+p)*ldb+j0+nc]
			for jr := 0; jr < full; jr += nr {
				copy(dst[jr*kc+p*nr:jr*kc+p*nr+nr], row[jr:jr+nr])
			}
			if full < nc {
				d := dst[full*kc+p*nr : full*kc+p*nr+nr]
				for j, v := range row[full:] {
					d[j] = v
				}
				for j := nc - full; j < nr; j++ {
					d[j] = 0
				}
			}
		}
		return
	}
	for jr := 0; jr < nc; jr += nr {
		nrr := min(nr, nc-jr)
		d := dst[jr*kc : (jr+nr)*kc]
		if !trans { // op(b)(p, j) = b[p, j]: each row of the sliver is contiguous
			for p := 0; p < kc; p++ {
				row := d[p*nr : p*nr+nr]
				src := b[(p0+p)*ldb+j0+jr:][:nrr]
				for j, v := range src {
					row[j] = v
				}
				for j := nrr; j < nr; j++ {
					row[j] = 0
				}
			}
			continue
		}
		// op(b)(p, j) = b[j, p]: rows of b become columns of the sliver,
		// four at a time to share the loop and bounds checks.
		j := 0
		for ; j+4 <= nrr; j += 4 {
			r := (j0 + jr + j) * ldb
			s0 := b[r+p0 : r+p0+kc]
			s1 := b[r+ldb+p0 : r+ldb+p0+kc]
			s2 := b[r+2*ldb+p0 : r+2*ldb+p0+kc]
			s3 := b[r+3*ldb+p0 : r+3*ldb+p0+kc]
			for p := range s0 {
				dd := d[p*nr+j : p*nr+j+4]
				dd[0], dd[1], dd[2], dd[3] = s0[p], s1[p], s2[p], s3[p]
			}
		}
		for ; j < nrr; j++ {
			src := b[(j0+jr+j)*ldb+p0 : (j0+jr+j)*ldb+p0+kc]
			for p, v := range src {
				d[p*nr+j] = v
			}
		}
		for j := nrr; j < nr; j++ {
			for p := 0; p < kc; p++ {
				d[p*nr+j] = 0
			}
		}
	}
}

// kernelGo is the portable micro-kernel over the same sliver layout.
func kernelGo[T Float](mr, nr int) kernelFunc[T] {
	return func(k int, a []T, rsA, csA int, b []T, csB int, c []T, ldc int, flags int, bias []T) {
		var accum [8 * 16]T
		t := accum[:mr*nr]
		for p := 0; p < k; p++ {
			bp := b[p*csB : p*csB+nr]
			for i := 0; i < mr; i++ {
				av := a[i*rsA+p*csA]
				row := t[i*nr : i*nr+nr]
				for j, bv := range bp {
					row[j] += av * bv
				}
			}
		}
		for i := 0; i < mr; i++ {
			dst := c[i*ldc : i*ldc+nr]
			for j, v := range t[i*nr : i*nr+nr] {
				if flags&flagAcc != 0 {
					v += dst[j]
				}
				if flags&flagBias != 0 {
					v += bias[j]
				}
				if flags&flagReLU != 0 && v <= 0 {
					v = 0
				}
				dst[j] = v
			}
		}
	}
}

// kernelSet is a pair of micro-kernels, float32 and float64, with the
// blocking that suits them.
type kernelSet struct {
	name string
	f32  *impl[float32]
	f64  *impl[float64]
	// narrow, if not nil, is a set of narrower tiles for products no wider
	// than its own tile (n ≤ its NR), which would leave half of each of
	// this set's tiles empty: the small models' per-head products with
	// d_k = 16 run twice as fast on AVX2's 16-wide tiles as on AVX-512's
	// 32-wide ones. It must give the same bits (TestAsmKernelsAgree).
	narrow *kernelSet
}

// portable is the Go kernel, with the AVX2 kernels' blocking: the fallback
// and the tests' reference.
var portable = kernelSet{
	name: "go",
	f32:  &impl[float32]{mr: 6, nr: 16, mc: 144, kc: 256, nc: 3072, kern: kernelGo[float32](6, 16)},
	f64:  &impl[float64]{mr: 6, nr: 8, mc: 96, kc: 256, nc: 2048, kern: kernelGo[float64](6, 8)},
}

// kernelSets are the sets this machine and build can run, fastest first;
// the last is the portable one.
var kernelSets = append(asmKernelSets(), portable)

// active is the set every product uses: the fastest, unless a test
// chooses another.
var active = &kernelSets[0]

// implFor returns the kernels for products n columns wide.
func implFor[T Float](n int) *impl[T] {
	im := pick[T](active)
	if active.narrow != nil {
		if nim := pick[T](active.narrow); n <= nim.nr {
			return nim
		}
	}
	return im
}

func pick[T Float](ks *kernelSet) *impl[T] {
	var z T
	if _, ok := any(z).(float32); ok {
		return any(ks.f32).(*impl[T])
	}
	return any(ks.f64).(*impl[T])
}

// Accelerated reports whether the assembly micro-kernels are in use.
func Accelerated() bool { return len(kernelSets) > 1 }

// Kernel names the micro-kernels in use: "avx512" (6×32 float32, 6×16
// float64), "avx2" (6×16, 6×8) or "go" (the portable kernel).
func Kernel() string { return kernelSets[0].name }
