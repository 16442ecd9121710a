package diag

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/recipe"
)

// checkData looks at the data as loaded: pixels that are not numbers, blank and repeated
// training images, how common each class is, and whether the test images look like the
// training images. Each finding's fix is a recipe setting that repairs it.
func checkData(tr, te *dataset.Set, r *recipe.Recipe) []Finding {
	var out []Finding
	withClean := func(what string) []string {
		clean := r.Clean
		if !slices.Contains(strings.Split(clean, ","), what) {
			clean = strings.TrimPrefix(clean+","+what, ",")
		}
		return []string{"clean", clean}
	}
	if n := len(tr.NonFinite) + len(te.NonFinite); n > 0 {
		out = append(out, finding("pixels-not-finite", Error, fmt.Sprintf(
			"%d training and %d test images have NaN or infinite pixels: nothing can be learned from or said about them, and one in a batch makes its loss NaN", len(tr.NonFinite), len(te.NonFinite)),
			map[string]any{"train_images": len(tr.NonFinite), "test_images": len(te.NonFinite), "first_train": firstOf(tr.NonFinite), "first_test": firstOf(te.NonFinite)},
			withClean("nonfinite")...))
	}
	empty, dups := 0, 0
	seen := map[string]bool{}
	for i := range tr.N {
		px := tr.Image(i)
		if recipe.Empty(px) {
			empty++
		}
		if k := string(px); seen[k] {
			dups++
		} else {
			seen[k] = true
		}
	}
	if empty*100 > tr.N && empty >= 10 {
		out = append(out, finding("images-empty", Warning, fmt.Sprintf(
			"%d of the %d training images (%.1f%%) are blank or nearly so: their labels cannot be learned from them, and they teach the network to guess", empty, tr.N, 100*float64(empty)/float64(tr.N)),
			map[string]any{"empty": empty, "images": tr.N}, withClean("empty")...))
	}
	if dups*20 > tr.N {
		out = append(out, finding("images-duplicated", Warning, fmt.Sprintf(
			"%d of the %d training images (%.1f%%) repeat an earlier one: the network sees fewer different images than the count says, and the repeated ones weigh more", dups, tr.N, 100*float64(dups)/float64(tr.N)),
			map[string]any{"repeats": dups, "images": tr.N, "distinct": len(seen)}, withClean("duplicates")...))
	}
	if r.Balance != "oversample" {
		out = append(out, CheckBalance(countLabels(tr))...)
	}
	out = append(out, checkShift(tr, te, r)...)
	return out
}

func firstOf(v []int) any {
	if len(v) == 0 {
		return nil
	}
	return v[0]
}

func countLabels(s *dataset.Set) []int {
	counts := make([]int, max(len(s.Classes), 2))
	for _, l := range s.Labels {
		if int(l) < len(counts) {
			counts[l]++
		}
	}
	return counts
}

// pixelStats are a set's pixel mean and deviation (of byte/255) and its most common
// value, over its first images.
func pixelStats(s *dataset.Set) (mean, std float64, mode int) {
	n := min(s.N, 2000) * s.Rows * s.Cols
	var hist [256]int
	var sum, sq float64
	for _, v := range s.Images[:n] {
		hist[v]++
		f := float64(v) / 255
		sum += f
		sq += f * f
	}
	mean = sum / float64(max(n, 1))
	std = math.Sqrt(max(sq/float64(max(n, 1))-mean*mean, 0))
	for v, c := range hist {
		if c > hist[mode] {
			mode = v
		}
	}
	return mean, std, mode
}

// checkShift compares the test images' pixels with the training images': sets whose
// means differ by half a deviation, or whose deviations by a factor of two, come from
// different places. When inverting the test images makes them alike (ink and paper
// swapped), that is the fix.
func checkShift(tr, te *dataset.Set, r *recipe.Recipe) []Finding {
	if r.InvertTest || tr.N == 0 || te.N == 0 {
		return nil
	}
	m1, s1, mode1 := pixelStats(tr)
	m2, s2, mode2 := pixelStats(te)
	if s1 == 0 {
		return nil
	}
	ratio := s2 / s1
	if math.Abs(m1-m2) <= 0.5*s1 && ratio <= 2 && ratio >= 0.5 {
		return nil
	}
	ev := map[string]any{"train_mean": round(m1), "test_mean": round(m2), "train_std": round(s1), "test_std": round(s2),
		"train_background": mode1, "test_background": mode2}
	msg := fmt.Sprintf("the test images are unlike the training images (pixel means %.3g and %.3g, deviations %.3g and %.3g, backgrounds %d and %d): the network is tested on what it never learned",
		m1, m2, s1, s2, mode1, mode2)
	if math.Abs(m1-(1-m2)) <= 0.25*s1 && math.Abs(float64(mode1)-float64(255-mode2)) < 30 {
		return []Finding{finding("train-test-shift", Error, msg+"; inverted, the test images match: ink and paper are swapped between the sets", ev, "invert_test", "true")}
	}
	return []Finding{finding("train-test-shift", Warning, msg, ev)}
}
