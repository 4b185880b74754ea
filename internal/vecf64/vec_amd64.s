//go:build amd64 && !purego

#include "textflag.h"

// func expSum4(dst, s, keep *float64, n4 int, scale, m float64, c *float64, acc *[4]float64)
// n4 is a positive multiple of 4. Mirrors exp and the lane sums of ExpSum.
TEXT ·expSum4(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ s+8(FP), SI
	MOVQ keep+16(FP), DX
	MOVQ n4+24(FP), CX
	VBROADCASTSD scale+32(FP), Y0
	VBROADCASTSD m+40(FP), Y1
	MOVQ c+48(FP), R8
	MOVQ acc+56(FP), R9
	VMOVUPD (R9), Y6          // lane sums
	VBROADCASTSD 0(R8), Y2    // lower clamp
	VBROADCASTSD 8(R8), Y3    // upper clamp
	VBROADCASTSD 16(R8), Y4   // log₂e
	VBROADCASTSD 96(R8), Y5   // 1
	VXORPD Y7, Y7, Y7         // zero
	MOVQ $1023, AX
	MOVQ AX, X15
	VPBROADCASTQ X15, Y15     // exponent bias in each lane
loop:
	VMULPD (SI), Y0, Y8       // scale·s
	VSUBPD Y1, Y8, Y8         // x = scale·s − m
	VMAXPD Y8, Y2, Y8         // max(lo, x), x if NaN
	VMINPD Y8, Y3, Y8         // min(hi, x), x if NaN
	VMULPD Y4, Y8, Y9         // x·log₂e
	VROUNDPD $0, Y9, Y9       // n, to nearest even
	VBROADCASTSD 24(R8), Y10
	VMULPD Y10, Y9, Y10
	VSUBPD Y10, Y8, Y8        // r = x − n·C1
	VBROADCASTSD 32(R8), Y10
	VMULPD Y10, Y9, Y10
	VSUBPD Y10, Y8, Y8        // r = r − n·C2
	VMULPD Y8, Y8, Y12        // r²
	VBROADCASTSD 40(R8), Y11  // P0
	VMULPD Y12, Y11, Y11
	VBROADCASTSD 48(R8), Y10
	VADDPD Y10, Y11, Y11
	VMULPD Y12, Y11, Y11
	VBROADCASTSD 56(R8), Y10
	VADDPD Y10, Y11, Y11
	VMULPD Y8, Y11, Y11       // p = r·P(r²)
	VBROADCASTSD 64(R8), Y13  // Q0
	VMULPD Y12, Y13, Y13
	VBROADCASTSD 72(R8), Y10
	VADDPD Y10, Y13, Y13
	VMULPD Y12, Y13, Y13
	VBROADCASTSD 80(R8), Y10
	VADDPD Y10, Y13, Y13
	VMULPD Y12, Y13, Y13
	VBROADCASTSD 88(R8), Y10
	VADDPD Y10, Y13, Y13      // q = Q(r²)
	VSUBPD Y11, Y13, Y13      // q − p
	VDIVPD Y13, Y11, Y11      // p/(q − p)
	VADDPD Y11, Y11, Y11      // 2·
	VADDPD Y5, Y11, Y11       // 1 + 2·p/(q − p)
	VCVTPD2DQY Y9, X9         // n as int32 (exact: n is integral)
	VPSRAD $1, X9, X10        // k1 = n >> 1
	VPSUBD X10, X9, X9        // k2 = n − k1
	VPMOVSXDQ X10, Y10
	VPMOVSXDQ X9, Y9
	VPADDQ Y15, Y10, Y10
	VPSLLQ $52, Y10, Y10      // 2^k1
	VPADDQ Y15, Y9, Y9
	VPSLLQ $52, Y9, Y9        // 2^k2
	VMULPD Y10, Y11, Y11
	VMULPD Y9, Y11, Y11
	VCMPPD $4, (DX), Y7, Y13  // keep ≠ 0
	VANDPD Y13, Y11, Y11
	VMOVUPD Y11, (DI)
	VADDPD Y11, Y6, Y6
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $4, CX
	JNZ loop
	VMOVUPD Y6, (R9)
	VZEROUPPER
	RET

// func addRows4(out, x *float64, n4, rows, strideBytes int)
// out[j] += row[j] for each row in turn, four columns at a time.
TEXT ·addRows4(SB), NOSPLIT, $0-40
	MOVQ x+8(FP), SI
	MOVQ rows+24(FP), CX
	MOVQ strideBytes+32(FP), R8
rowloop:
	MOVQ out+0(FP), DI
	MOVQ SI, R9
	MOVQ n4+16(FP), DX
colloop:
	VMOVUPD (R9), Y0
	VADDPD (DI), Y0, Y0
	VMOVUPD Y0, (DI)
	ADDQ $32, R9
	ADDQ $32, DI
	SUBQ $4, DX
	JNZ colloop
	ADDQ R8, SI
	DECQ CX
	JNZ rowloop
	VZEROUPPER
	RET

// func sum4(x *float64, n4 int, lanes *[4]float64)
// lanes[j mod 4] += x[j], four elements at a time.
TEXT ·sum4(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n4+8(FP), CX
	MOVQ lanes+16(FP), DI
	VMOVUPD (DI), Y0
sumloop:
	VADDPD (SI), Y0, Y0
	ADDQ $32, SI
	SUBQ $4, CX
	JNZ sumloop
	VMOVUPD Y0, (DI)
	VZEROUPPER
	RET

// func sqDev4(x *float64, n4 int, mean float64, lanes *[4]float64)
// lanes[j mod 4] += (x[j] − mean)², the square rounded before the sum (no
// fused multiply-add), four elements at a time.
TEXT ·sqDev4(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n4+8(FP), CX
	VBROADCASTSD mean+16(FP), Y2
	MOVQ lanes+24(FP), DI
	VMOVUPD (DI), Y0
sqloop:
	VMOVUPD (SI), Y1
	VSUBPD Y2, Y1, Y1
	VMULPD Y1, Y1, Y1
	VADDPD Y1, Y0, Y0
	ADDQ $32, SI
	SUBQ $4, CX
	JNZ sqloop
	VMOVUPD Y0, (DI)
	VZEROUPPER
	RET

// func norm4(y, x, gamma, beta *float64, n4 int, mean, rstd float64)
// y[j] = ((x[j] − mean)·rstd)·g[j] + b[j], each operation rounded on its
// own, four elements at a time.
TEXT ·norm4(SB), NOSPLIT, $0-56
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ gamma+16(FP), R8
	MOVQ beta+24(FP), R9
	MOVQ n4+32(FP), CX
	VBROADCASTSD mean+40(FP), Y2
	VBROADCASTSD rstd+48(FP), Y3
normloop:
	VMOVUPD (SI), Y1
	VSUBPD Y2, Y1, Y1
	VMULPD Y3, Y1, Y1
	VMULPD (R8), Y1, Y1
	VADDPD (R9), Y1, Y1
	VMOVUPD Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, R8
	ADDQ $32, R9
	SUBQ $4, CX
	JNZ normloop
	VZEROUPPER
	RET

// func maskedMax4(s, keep *float64, n4 int, scale float64, m *float64)
// *m = max(*m, scale·s[j] for kept j), four at a time. A lane takes a
// candidate only if it is greater (so never a NaN), as the Go loop does.
TEXT ·maskedMax4(SB), NOSPLIT, $0-40
	MOVQ s+0(FP), SI
	MOVQ keep+8(FP), DX
	MOVQ n4+16(FP), CX
	VBROADCASTSD scale+24(FP), Y0
	MOVQ m+32(FP), DI
	VBROADCASTSD (DI), Y1     // running maxima
	VXORPD Y7, Y7, Y7
maxloop:
	VMULPD (SI), Y0, Y3
	VCMPPD $4, (DX), Y7, Y4   // keep ≠ 0
	VBLENDVPD Y4, Y3, Y1, Y3  // kept ? scale·s : running maximum
	VMAXPD Y1, Y3, Y1         // candidate > maximum ? candidate : maximum
	ADDQ $32, SI
	ADDQ $32, DX
	SUBQ $4, CX
	JNZ maxloop
	VEXTRACTF128 $1, Y1, X3
	VMAXPD X1, X3, X1
	VPERMILPD $1, X1, X3
	VMAXPD X1, X3, X1
	VMOVSD X1, (DI)
	VZEROUPPER
	RET

// func scale4(x *float64, n4 int, c float64)
TEXT ·scale4(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ n4+8(FP), CX
	VBROADCASTSD c+16(FP), Y0
scaleloop:
	VMULPD (DI), Y0, Y1
	VMOVUPD Y1, (DI)
	ADDQ $32, DI
	SUBQ $4, CX
	JNZ scaleloop
	VZEROUPPER
	RET

// func passNonzero4(dst, y, grad *float64, n4 int)
// dst = y ≠ 0 (unordered: NaN ≠ 0) ? grad : +0, four at a time.
TEXT ·passNonzero4(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ y+8(FP), SI
	MOVQ grad+16(FP), DX
	MOVQ n4+24(FP), CX
	VXORPD Y7, Y7, Y7
passloop:
	VCMPPD $4, (SI), Y7, Y0
	VANDPD (DX), Y0, Y0
	VMOVUPD Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $4, CX
	JNZ passloop
	VZEROUPPER
	RET

// func normGradSums4(x, gamma, gy *float64, n4 int, mean, rstd float64, lanes *[8]float64)
// lanes[0:4] += ĝ, lanes[4:8] += (ĝ·(x − mean))·rstd with ĝ = gy·gamma,
// each operation rounded on its own, four elements at a time.
TEXT ·normGradSums4(SB), NOSPLIT, $0-56
	MOVQ x+0(FP), SI
	MOVQ gamma+8(FP), R8
	MOVQ gy+16(FP), DX
	MOVQ n4+24(FP), CX
	VBROADCASTSD mean+32(FP), Y2
	VBROADCASTSD rstd+40(FP), Y3
	MOVQ lanes+48(FP), DI
	VMOVUPD (DI), Y0
	VMOVUPD 32(DI), Y1
gsumloop:
	VMOVUPD (DX), Y4
	VMULPD (R8), Y4, Y4       // ĝ
	VADDPD Y4, Y0, Y0
	VMOVUPD (SI), Y5
	VSUBPD Y2, Y5, Y5         // x − mean
	VMULPD Y5, Y4, Y4         // ĝ·(x − mean)
	VMULPD Y3, Y4, Y4         // ·rstd
	VADDPD Y4, Y1, Y1
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, DX
	SUBQ $4, CX
	JNZ gsumloop
	VMOVUPD Y0, (DI)
	VMOVUPD Y1, 32(DI)
	VZEROUPPER
	RET

// func normGrad4(gx, x, gamma, gy *float64, n4 int, mean, rstd, mg, mgx float64)
// gx = rstd·((ĝ − mg) − x̂·mgx), x̂ = (x − mean)·rstd, four at a time.
TEXT ·normGrad4(SB), NOSPLIT, $0-72
	MOVQ gx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ gamma+16(FP), R8
	MOVQ gy+24(FP), DX
	MOVQ n4+32(FP), CX
	VBROADCASTSD mean+40(FP), Y2
	VBROADCASTSD rstd+48(FP), Y3
	VBROADCASTSD mg+56(FP), Y6
	VBROADCASTSD mgx+64(FP), Y7
gradloop:
	VMOVUPD (SI), Y1
	VSUBPD Y2, Y1, Y1
	VMULPD Y3, Y1, Y1         // x̂
	VMULPD Y7, Y1, Y1         // x̂·mgx
	VMOVUPD (DX), Y4
	VMULPD (R8), Y4, Y4       // ĝ
	VSUBPD Y6, Y4, Y4         // ĝ − mg
	VSUBPD Y1, Y4, Y4         // − x̂·mgx
	VMULPD Y3, Y4, Y4         // ·rstd
	VMOVUPD Y4, (DI)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $4, CX
	JNZ gradloop
	VZEROUPPER
	RET

// func dot4(w, gw *float64, n4 int, lanes *[4]float64)
// lanes[j mod 4] += w[j]·gw[j], the product rounded before the sum.
TEXT ·dot4(SB), NOSPLIT, $0-32
	MOVQ w+0(FP), SI
	MOVQ gw+8(FP), DX
	MOVQ n4+16(FP), CX
	MOVQ lanes+24(FP), DI
	VMOVUPD (DI), Y0
dotloop:
	VMOVUPD (SI), Y1
	VMULPD (DX), Y1, Y1
	VADDPD Y1, Y0, Y0
	ADDQ $32, SI
	ADDQ $32, DX
	SUBQ $4, CX
	JNZ dotloop
	VMOVUPD Y0, (DI)
	VZEROUPPER
	RET

// func softmaxGrad4(gs, w, gw *float64, n4 int, scale, dot float64)
// gs = (scale·w)·(gw − dot), four at a time.
TEXT ·softmaxGrad4(SB), NOSPLIT, $0-48
	MOVQ gs+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ gw+16(FP), DX
	MOVQ n4+24(FP), CX
	VBROADCASTSD scale+32(FP), Y3
	VBROADCASTSD dot+40(FP), Y4
sgradloop:
	VMOVUPD (SI), Y1
	VMULPD Y3, Y1, Y1
	VMOVUPD (DX), Y2
	VSUBPD Y4, Y2, Y2
	VMULPD Y2, Y1, Y1
	VMOVUPD Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $4, CX
	JNZ sgradloop
	VZEROUPPER
	RET

// func expSum8(dst, s, keep *float64, n8 int, scale, m float64, c *float64, acc *[4]float64)
// expSum4 with AVX-512, eight elements at a time: n8 is a positive multiple
// of 8, and the lower four of each eight are added to the lane sums before
// the upper four, as the Go loop adds them.
TEXT ·expSum8(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ s+8(FP), SI
	MOVQ keep+16(FP), DX
	MOVQ n8+24(FP), CX
	VBROADCASTSD scale+32(FP), Z0
	VBROADCASTSD m+40(FP), Z1
	MOVQ c+48(FP), R8
	MOVQ acc+56(FP), R9
	VMOVUPD (R9), Y6          // lane sums
	VBROADCASTSD 0(R8), Z2    // lower clamp
	VBROADCASTSD 8(R8), Z3    // upper clamp
	VBROADCASTSD 16(R8), Z4   // log₂e
	VBROADCASTSD 96(R8), Z5   // 1
	VBROADCASTSD 24(R8), Z16  // C1
	VBROADCASTSD 32(R8), Z17  // C2
	VBROADCASTSD 40(R8), Z18  // P0
	VBROADCASTSD 48(R8), Z19
	VBROADCASTSD 56(R8), Z20
	VBROADCASTSD 64(R8), Z21  // Q0
	VBROADCASTSD 72(R8), Z22
	VBROADCASTSD 80(R8), Z23
	VBROADCASTSD 88(R8), Z24
	VPXORQ Z7, Z7, Z7         // zero
	MOVQ $1023, AX
	VPBROADCASTQ AX, Z15      // exponent bias in each lane
loop8:
	VMULPD (SI), Z0, Z8       // scale·s
	VSUBPD Z1, Z8, Z8         // x = scale·s − m
	VMAXPD Z8, Z2, Z8         // max(lo, x), x if NaN
	VMINPD Z8, Z3, Z8         // min(hi, x), x if NaN
	VMULPD Z4, Z8, Z9         // x·log₂e
	VRNDSCALEPD $0, Z9, Z9    // n, to nearest even
	VMULPD Z16, Z9, Z10
	VSUBPD Z10, Z8, Z8        // r = x − n·C1
	VMULPD Z17, Z9, Z10
	VSUBPD Z10, Z8, Z8        // r = r − n·C2
	VMULPD Z8, Z8, Z12        // r²
	VMULPD Z12, Z18, Z11
	VADDPD Z19, Z11, Z11
	VMULPD Z12, Z11, Z11
	VADDPD Z20, Z11, Z11
	VMULPD Z8, Z11, Z11       // p = r·P(r²)
	VMULPD Z12, Z21, Z13
	VADDPD Z22, Z13, Z13
	VMULPD Z12, Z13, Z13
	VADDPD Z23, Z13, Z13
	VMULPD Z12, Z13, Z13
	VADDPD Z24, Z13, Z13      // q = Q(r²)
	VSUBPD Z11, Z13, Z13      // q − p
	VDIVPD Z13, Z11, Z11      // p/(q − p)
	VADDPD Z11, Z11, Z11      // 2·
	VADDPD Z5, Z11, Z11       // 1 + 2·p/(q − p)
	VCVTPD2DQ Z9, Y9          // n as int32 (exact: n is integral)
	VPSRAD $1, Y9, Y10        // k1 = n >> 1
	VPSUBD Y10, Y9, Y9        // k2 = n − k1
	VPMOVSXDQ Y10, Z10
	VPMOVSXDQ Y9, Z9
	VPADDQ Z15, Z10, Z10
	VPSLLQ $52, Z10, Z10      // 2^k1
	VPADDQ Z15, Z9, Z9
	VPSLLQ $52, Z9, Z9        // 2^k2
	VMULPD Z10, Z11, Z11
	VMULPD Z9, Z11, Z11
	VCMPPD $4, (DX), Z7, K1   // keep ≠ 0
	VMOVAPD.Z Z11, K1, Z11    // +0 where masked
	VMOVUPD Z11, (DI)
	VADDPD Y11, Y6, Y6        // elements 0–3 into lanes 0–3
	VEXTRACTF64X4 $1, Z11, Y12
	VADDPD Y12, Y6, Y6        // then elements 4–7
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $8, CX
	JNZ loop8
	VMOVUPD Y6, (R9)
	VZEROUPPER
	RET
