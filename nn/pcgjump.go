package nn

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
)

// PCG's state is a 128-bit linear congruential generator, state = state·mul + inc mod
// 2¹²⁸, and each Uint64 is one step of it. So k steps fold into one multiply-add, found
// in log₂ k squarings (Brown 1994, "Random number generation with arbitrary strides"),
// and a worker can start exactly where the serial stream would be after k draws.
// math/rand/v2 offers no jump-ahead, so this copies its constants (pcg.go, next); a
// test pins the result against stepping a rand.PCG.
const (
	pcgMulHi = 2549297995355413924
	pcgMulLo = 4865540595714422341
	pcgIncHi = 6364136223846793005
	pcgIncLo = 1442695040888963407
)

type u128 struct{ hi, lo uint64 }

func (a u128) mul(b u128) u128 {
	hi, lo := bits.Mul64(a.lo, b.lo)
	return u128{hi + a.hi*b.lo + a.lo*b.hi, lo}
}

func (a u128) add(b u128) u128 {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	hi, _ := bits.Add64(a.hi, b.hi, c)
	return u128{hi, lo}
}

// pcgState reads src's state.
func pcgState(src *rand.PCG) u128 {
	b, _ := src.MarshalBinary() // "pcg:" hi lo, big-endian
	return u128{binary.BigEndian.Uint64(b[4:12]), binary.BigEndian.Uint64(b[12:20])}
}

// pcgStride is k steps of the generator as one map, state ↦ state·mul + inc.
func pcgStride(k uint64) (mul, inc u128) {
	mul = u128{0, 1}
	curMul, curInc := u128{pcgMulHi, pcgMulLo}, u128{pcgIncHi, pcgIncLo}
	for ; k > 0; k >>= 1 {
		if k&1 == 1 {
			mul = mul.mul(curMul)
			inc = inc.mul(curMul).add(curInc)
		}
		curInc = curMul.add(u128{0, 1}).mul(curInc)
		curMul = curMul.mul(curMul)
	}
	return mul, inc
}

// pcgJump returns the state k draws after s.
func pcgJump(s u128, k uint64) u128 {
	mul, inc := pcgStride(k)
	return mul.mul(s).add(inc)
}

// pcgOutput is the draw PCG.Uint64 returns on stepping to state s (its DXSM output).
func pcgOutput(s u128) uint64 {
	const cheapMul = 0xda942042e4dd58b5
	hi := s.hi
	hi ^= hi >> 32
	hi *= cheapMul
	hi ^= hi >> 48
	return hi * (s.lo | 1)
}

// pcgLanes draws a stream's values in four interleaved lanes: lane j holds the state of
// draws j, j+4, j+8, …, each a stride of four steps from its last. Stepping one state
// is a chain of dependent multiplies, so one lane leaves the CPU waiting; four run
// side by side, 2-3× faster, and give the same values in the same order.
type pcgLanes struct {
	s        [4]u128
	mul, inc u128 // four steps
}

// newPCGLanes starts at the draw that follows state s.
func newPCGLanes(s u128) *pcgLanes {
	l := &pcgLanes{}
	l.mul, l.inc = pcgStride(4)
	for j := range l.s {
		l.s[j] = pcgJump(s, uint64(j+1))
	}
	return l
}

// next4 returns the next four draws.
func (l *pcgLanes) next4() (a, b, c, d uint64) {
	a, b, c, d = pcgOutput(l.s[0]), pcgOutput(l.s[1]), pcgOutput(l.s[2]), pcgOutput(l.s[3])
	l.s[0] = l.mul.mul(l.s[0]).add(l.inc)
	l.s[1] = l.mul.mul(l.s[1]).add(l.inc)
	l.s[2] = l.mul.mul(l.s[2]).add(l.inc)
	l.s[3] = l.mul.mul(l.s[3]).add(l.inc)
	return a, b, c, d
}
