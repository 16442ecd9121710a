package main

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/digitnet/digitnet"
	"github.com/digitnet/digitnet/nn"
)

// maxWeight bounds the weights fitWeights tries: every member keeps at least weight 1
// (an ensemble of them all, as shipped) and none outweighs another more than 4 to 1.
const maxWeight = 4

// fitWeights prints the ensemble members' weights that read the test/ pictures of
// dirs best: the most right answers, a withheld one wrong, with the confidence floor
// refitted to each weighing as -floor fits it (its abstain share of the answers falls
// under it). Every weighing of whole numbers 1 to maxWeight with no common factor is
// tried, in lexicographic order; the first of equals wins.
func fitWeights(paths, dirs []string, abstain float64) {
	var members []*digitnet.Model
	for _, p := range paths {
		m, err := digitnet.Open(p)
		if err != nil {
			fail(err)
		}
		members = append(members, m.WithMinConfidence(0))
	}
	var pics []picture
	for _, d := range dirs {
		pics = append(pics, list(filepath.Join(d, "test"), true)...)
	}
	if len(pics) == 0 {
		fail(fmt.Errorf("%s: no pictures", strings.Join(dirs, ", ")))
	}
	probs, several := memberProbs(members, pics) // [member][picture][class], nil where no ink
	K := len(members)
	best, bestRight := []int(nil), -1
	w := make([]int, K)
	var try func(k int)
	try = func(k int) {
		if k < K {
			for v := 1; v <= maxWeight; v++ {
				w[k] = v
				try(k + 1)
			}
			return
		}
		if gcd(w) != 1 {
			return
		}
		if r := weighedRight(w, probs, several, pics, abstain); r > bestRight {
			best, bestRight = slices.Clone(w), r
		}
	}
	try(0)
	parts := make([]string, K)
	for i, v := range best {
		parts[i] = fmt.Sprint(v)
	}
	fmt.Println(strings.Join(parts, ","))
}

// weighedRight counts the pictures the weighed ensemble reads right with its floor
// (the floor over every picture the networks saw, as printFloor's; several digits
// are withheld whatever the confidence).
func weighedRight(w []int, probs [][][]float64, several []bool, pics []picture, abstain float64) int {
	total := 0
	for _, v := range w {
		total += v
	}
	guess := make([]int, len(pics))
	conf := make([]float64, len(pics))
	var ran []float64
	for i := range pics {
		guess[i] = -1
		if probs[0][i] == nil {
			continue
		}
		q := make([]float64, len(probs[0][i]))
		for k, p := range probs {
			for c, v := range p[i] {
				q[c] += float64(w[k]) * v / float64(total)
			}
		}
		guess[i] = nn.Argmax(q)
		conf[i] = q[guess[i]]
		ran = append(ran, conf[i])
	}
	slices.Sort(ran)
	floor := math.Inf(-1)
	if len(ran) > 0 {
		floor = ran[max(0, int(abstain*float64(len(ran)))-1)] // as printFloor
	}
	right := 0
	for i, p := range pics {
		if guess[i] >= 0 && !several[i] && conf[i] >= floor && guess[i] == p.label {
			right++
		}
	}
	return right
}

// memberProbs is each member's probabilities for each picture, preprocessed once (by
// the first member, on every core, as predictAll does; the ensemble preprocesses once
// too); nil where there is nothing to classify (no ink, or a file that does not decode:
// skipped, as -floor skips it). several marks the pictures of several digits side by
// side, which the ensemble withholds whatever its weights.
func memberProbs(members []*digitnet.Model, pics []picture) (out [][][]float64, several []bool) {
	several = make([]bool, len(pics))
	out = make([][][]float64, len(members))
	for k := range out {
		out[k] = make([][]float64, len(pics))
	}
	for i, o := range predictAll(members[0], pics) {
		if o.err != nil || o.pred.Input == nil {
			continue
		}
		px := make([]float32, len(o.pred.Input))
		for j, v := range o.pred.Input {
			px[j] = float32(v) / 255
		}
		out[0][i], several[i] = o.pred.Probs, o.pred.Reason == digitnet.ReasonSeveral
		for k := 1; k < len(members); k++ {
			q, err := members[k].Predict(px)
			if err != nil {
				fail(fmt.Errorf("%s: %w", pics[i].path, err))
			}
			out[k][i] = q.Probs
		}
	}
	return out, several
}

func gcd(w []int) int {
	g := 0
	for _, v := range w {
		for v != 0 {
			g, v = v, g%v
		}
	}
	return g
}
