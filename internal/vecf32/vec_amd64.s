//go:build amd64 && !purego

#include "textflag.h"

// func expSum8(dst, s, keep *float32, n int, scale, m float32, c *float32, acc *[8]float32)
// n is a positive multiple of 8. Mirrors exp and the lane sums of ExpSum.
TEXT ·expSum8(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ s+8(FP), SI
	MOVQ keep+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS scale+32(FP), Y0
	VBROADCASTSS m+36(FP), Y1
	MOVQ c+40(FP), R8
	MOVQ acc+48(FP), R9
	VMOVUPS (R9), Y6          // lane sums
	VXORPS Y7, Y7, Y7         // zero
	MOVL $127, AX
	MOVQ AX, X15
	VPBROADCASTD X15, Y15     // 127 in each lane
loop:
	VMULPS (SI), Y0, Y8       // scale·s
	VSUBPS Y1, Y8, Y8         // x = scale·s − m
	VBROADCASTSS 0(R8), Y9
	VMAXPS Y8, Y9, Y8         // max(x, lo); NaN stays x (a NaN operand gives the second source)
	VBROADCASTSS 4(R8), Y9
	VMINPS Y8, Y9, Y8         // min(x, hi); likewise
	VBROADCASTSS 8(R8), Y9
	VMULPS Y9, Y8, Y9         // x·log₂e
	VROUNDPS $0, Y9, Y9       // n, to nearest even
	VBROADCASTSS 12(R8), Y10
	VMULPS Y10, Y9, Y10
	VSUBPS Y10, Y8, Y8        // r = x − n·c3
	VBROADCASTSS 16(R8), Y10
	VMULPS Y10, Y9, Y10
	VSUBPS Y10, Y8, Y8        // r = r − n·c4
	VBROADCASTSS 20(R8), Y11  // p = p0
	VMULPS Y8, Y11, Y11
	VBROADCASTSS 24(R8), Y10
	VADDPS Y10, Y11, Y11
	VMULPS Y8, Y11, Y11
	VBROADCASTSS 28(R8), Y10
	VADDPS Y10, Y11, Y11
	VMULPS Y8, Y11, Y11
	VBROADCASTSS 32(R8), Y10
	VADDPS Y10, Y11, Y11
	VMULPS Y8, Y11, Y11
	VBROADCASTSS 36(R8), Y10
	VADDPS Y10, Y11, Y11
	VMULPS Y8, Y11, Y11
	VBROADCASTSS 40(R8), Y10
	VADDPS Y10, Y11, Y11
	VMULPS Y8, Y8, Y12        // r·r
	VMULPS Y12, Y11, Y11      // p·r²
	VADDPS Y8, Y11, Y11       // + r
	VBROADCASTSS 44(R8), Y10
	VADDPS Y10, Y11, Y11      // + 1
	VCVTPS2DQ Y9, Y9          // n as int32 (exact: n is integral)
	VPADDD Y15, Y9, Y9
	VPSLLD $23, Y9, Y9        // 2ⁿ
	VMULPS Y9, Y11, Y11
	VCMPPS $4, (DX), Y7, Y13  // keep ≠ 0
	VANDPS Y13, Y11, Y11
	VMOVUPS Y11, (DI)
	VADDPS Y11, Y6, Y6
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ loop
	VMOVUPS Y6, (R9)
	VZEROUPPER
	RET

// func addRows8(out, x *float32, n8, rows, strideBytes int)
// out[j] += row[j] for each row in turn, eight columns at a time.
TEXT ·addRows8(SB), NOSPLIT, $0-40
	MOVQ x+8(FP), SI
	MOVQ rows+24(FP), CX
	MOVQ strideBytes+32(FP), R8
rowloop:
	MOVQ out+0(FP), DI
	MOVQ SI, R9
	MOVQ n8+16(FP), DX
colloop:
	VMOVUPS (R9), Y0
	VADDPS (DI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, R9
	ADDQ $32, DI
	SUBQ $8, DX
	JNZ colloop
	ADDQ R8, SI
	DECQ CX
	JNZ rowloop
	VZEROUPPER
	RET

// func sum4F64(x *float32, n4 int, lanes *[4]float64)
// lanes[j mod 4] += float64(x[j]), four elements at a time.
TEXT ·sum4F64(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n4+8(FP), CX
	MOVQ lanes+16(FP), DI
	VMOVUPD (DI), Y0
sumloop:
	VCVTPS2PD (SI), Y1
	VADDPD Y1, Y0, Y0
	ADDQ $16, SI
	SUBQ $4, CX
	JNZ sumloop
	VMOVUPD Y0, (DI)
	VZEROUPPER
	RET

// func sqDev4F64(x *float32, n4 int, mean float64, lanes *[4]float64)
// lanes[j mod 4] += (float64(x[j]) − mean)², the square rounded before the
// sum (no fused multiply-add), four elements at a time.
TEXT ·sqDev4F64(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n4+8(FP), CX
	VBROADCASTSD mean+16(FP), Y2
	MOVQ lanes+24(FP), DI
	VMOVUPD (DI), Y0
sqloop:
	VCVTPS2PD (SI), Y1
	VSUBPD Y2, Y1, Y1
	VMULPD Y1, Y1, Y1
	VADDPD Y1, Y0, Y0
	ADDQ $16, SI
	SUBQ $4, CX
	JNZ sqloop
	VMOVUPD Y0, (DI)
	VZEROUPPER
	RET

// func norm4(y, x, gamma, beta *float32, n4 int, mean, rstd float64)
// y[j] = float32((float64(x[j]) − mean)·rstd)·g[j] + b[j], each operation
// rounded on its own, four elements at a time.
TEXT ·norm4(SB), NOSPLIT, $0-56
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ gamma+16(FP), R8
	MOVQ beta+24(FP), R9
	MOVQ n4+32(FP), CX
	VBROADCASTSD mean+40(FP), Y2
	VBROADCASTSD rstd+48(FP), Y3
normloop:
	VCVTPS2PD (SI), Y1
	VSUBPD Y2, Y1, Y1
	VMULPD Y3, Y1, Y1
	VCVTPD2PSY Y1, X1
	VMULPS (R8), X1, X1
	VADDPS (R9), X1, X1
	VMOVUPS X1, (DI)
	ADDQ $16, SI
	ADDQ $16, DI
	ADDQ $16, R8
	ADDQ $16, R9
	SUBQ $4, CX
	JNZ normloop
	VZEROUPPER
	RET

// func maskedMax8(s, keep *float32, n8 int, scale float32, m *float32)
// *m = max(*m, scale·s[j] for kept j), eight at a time; masked lanes hold −∞.
TEXT ·maskedMax8(SB), NOSPLIT, $0-40
	MOVQ s+0(FP), SI
	MOVQ keep+8(FP), DX
	MOVQ n8+16(FP), CX
	VBROADCASTSS scale+24(FP), Y0
	MOVQ m+32(FP), DI
	VBROADCASTSS (DI), Y1     // running maximum, −∞ to start
	VMOVAPS Y1, Y2            // −∞ for masked lanes
	VXORPS Y7, Y7, Y7
maxloop:
	VMULPS (SI), Y0, Y3
	VCMPPS $4, (DX), Y7, Y4   // keep ≠ 0
	VBLENDVPS Y4, Y3, Y2, Y3  // kept ? scale·s : −∞
	VMAXPS Y1, Y3, Y1         // t > m ? t : m, as the Go loop: a NaN t leaves m
	ADDQ $32, SI
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ maxloop
	VEXTRACTF128 $1, Y1, X3
	VMAXPS X3, X1, X1
	VPERMILPS $0x4e, X1, X3
	VMAXPS X3, X1, X1
	VPERMILPS $0xb1, X1, X3
	VMAXPS X3, X1, X1
	VMOVSS X1, (DI)
	VZEROUPPER
	RET

// func scale8(x *float32, n8 int, c float32)
TEXT ·scale8(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n8+8(FP), CX
	VBROADCASTSS c+16(FP), Y0
scaleloop:
	VMULPS (DI), Y0, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ scaleloop
	VZEROUPPER
	RET

// func passNonzero8(dst, y, grad *float32, n8 int)
// dst = y ≠ 0 (unordered: NaN ≠ 0) ? grad : +0, eight at a time.
TEXT ·passNonzero8(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ y+8(FP), SI
	MOVQ grad+16(FP), DX
	MOVQ n8+24(FP), CX
	VXORPS Y7, Y7, Y7
passloop:
	VCMPPS $4, (SI), Y7, Y0
	VANDPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ passloop
	VZEROUPPER
	RET

// func normGradSums4(x, gamma, gy *float32, n4 int, mean, rstd float64, lanes *[8]float64)
// lanes[0:4] += ĝ, lanes[4:8] += (ĝ·(x − mean))·rstd with ĝ = gy·gamma in
// float64, each operation rounded on its own, four elements at a time.
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
	VCVTPS2PD (DX), Y4
	VCVTPS2PD (R8), Y5
	VMULPD Y5, Y4, Y4         // ĝ
	VADDPD Y4, Y0, Y0
	VCVTPS2PD (SI), Y5
	VSUBPD Y2, Y5, Y5         // x − mean
	VMULPD Y5, Y4, Y4         // ĝ·(x − mean)
	VMULPD Y3, Y4, Y4         // ·rstd
	VADDPD Y4, Y1, Y1
	ADDQ $16, SI
	ADDQ $16, R8
	ADDQ $16, DX
	SUBQ $4, CX
	JNZ gsumloop
	VMOVUPD Y0, (DI)
	VMOVUPD Y1, 32(DI)
	VZEROUPPER
	RET

// func normGrad4(gx, x, gamma, gy *float32, n4 int, mean, rstd, mg, mgx float64)
// gx = float32(rstd·((ĝ − mg) − x̂·mgx)), x̂ = (x − mean)·rstd, four at a time.
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
	VCVTPS2PD (SI), Y1
	VSUBPD Y2, Y1, Y1
	VMULPD Y3, Y1, Y1         // x̂
	VMULPD Y7, Y1, Y1         // x̂·mgx
	VCVTPS2PD (DX), Y4
	VCVTPS2PD (R8), Y5
	VMULPD Y5, Y4, Y4         // ĝ
	VSUBPD Y6, Y4, Y4         // ĝ − mg
	VSUBPD Y1, Y4, Y4         // − x̂·mgx
	VMULPD Y3, Y4, Y4         // ·rstd
	VCVTPD2PSY Y4, X4
	VMOVUPS X4, (DI)
	ADDQ $16, SI
	ADDQ $16, R8
	ADDQ $16, DX
	ADDQ $16, DI
	SUBQ $4, CX
	JNZ gradloop
	VZEROUPPER
	RET

// func dot4F64(w, gw *float32, n4 int, lanes *[4]float64)
// lanes[j mod 4] += w[j]·gw[j] in float64, the product rounded before the sum.
TEXT ·dot4F64(SB), NOSPLIT, $0-32
	MOVQ w+0(FP), SI
	MOVQ gw+8(FP), DX
	MOVQ n4+16(FP), CX
	MOVQ lanes+24(FP), DI
	VMOVUPD (DI), Y0
dotloop:
	VCVTPS2PD (SI), Y1
	VCVTPS2PD (DX), Y2
	VMULPD Y2, Y1, Y1
	VADDPD Y1, Y0, Y0
	ADDQ $16, SI
	ADDQ $16, DX
	SUBQ $4, CX
	JNZ dotloop
	VMOVUPD Y0, (DI)
	VZEROUPPER
	RET

// func softmaxGrad4(gs, w, gw *float32, n4 int, scale, dot float64)
// gs = float32((scale·w)·(gw − dot)) in float64, four at a time.
TEXT ·softmaxGrad4(SB), NOSPLIT, $0-48
	MOVQ gs+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ gw+16(FP), DX
	MOVQ n4+24(FP), CX
	VBROADCASTSD scale+32(FP), Y3
	VBROADCASTSD dot+40(FP), Y4
sgradloop:
	VCVTPS2PD (SI), Y1
	VMULPD Y3, Y1, Y1
	VCVTPS2PD (DX), Y2
	VSUBPD Y4, Y2, Y2
	VMULPD Y2, Y1, Y1
	VCVTPD2PSY Y1, X1
	VMOVUPS X1, (DI)
	ADDQ $16, SI
	ADDQ $16, DX
	ADDQ $16, DI
	SUBQ $4, CX
	JNZ sgradloop
	VZEROUPPER
	RET
