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

// pcgJump returns the state k draws after s.
func pcgJump(s u128, k uint64) u128 {
	accMul, accInc := u128{0, 1}, u128{}
	curMul, curInc := u128{pcgMulHi, pcgMulLo}, u128{pcgIncHi, pcgIncLo}
	for ; k > 0; k >>= 1 {
		if k&1 == 1 {
			accMul = accMul.mul(curMul)
			accInc = accInc.mul(curMul).add(curInc)
		}
		curInc = curMul.add(u128{0, 1}).mul(curInc)
		curMul = curMul.mul(curMul)
	}
	return accMul.mul(s).add(accInc)
}
