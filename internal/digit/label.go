package digit

import "image"

// A run is the pixels [x0, x1) of row y, all of them ink.
type run struct{ y, x0, x1 int32 }

// A component is a set of 8-connected ink pixels.
type component struct {
	area           int
	x0, y0, x1, y1 int // bounding box, maxima exclusive
}

func (c component) rect() image.Rectangle { return image.Rect(c.x0, c.y0, c.x1, c.y1) }

// extent returns the longer side of c's bounding box.
func (c component) extent() int { return max(c.x1-c.x0, c.y1-c.y0) }

// label finds the 8-connected components of the pixels of the W×H image g
// brighter than t. It works on runs, so its memory is proportional to the ink's
// outline rather than the image: it returns the runs in row-major order, the
// index in comps of each run's component, and the components. It gives up,
// returning ok false, beyond maxRuns runs.
func label(g []uint8, W, H int, t uint8, maxRuns int) (runs []run, ids []int32, comps []component, ok bool) {
	var parent []int32
	find := func(i int32) int32 {
		for parent[i] != i {
			parent[i] = parent[parent[i]] // path halving
			i = parent[i]
		}
		return i
	}
	prev0, prev1 := 0, 0 // runs of the previous row: runs[prev0:prev1]
	for y := range H {
		row := g[y*W : (y+1)*W]
		cur0 := len(runs)
		for x := 0; x < W; {
			if row[x] <= t {
				x++
				continue
			}
			x0 := x
			for x < W && row[x] > t {
				x++
			}
			if len(runs) == maxRuns {
				return nil, nil, nil, false
			}
			runs = append(runs, run{int32(y), int32(x0), int32(x)})
			parent = append(parent, int32(len(parent)))
		}
		// A run touches a run of the previous row when their columns
		// overlap or meet diagonally: p.x1 >= c.x0 and p.x0 <= c.x1.
		j := prev0
		for c := cur0; c < len(runs); c++ {
			for j < prev1 && runs[j].x1 < runs[c].x0 {
				j++
			}
			for k := j; k < prev1 && runs[k].x0 <= runs[c].x1; k++ {
				if a, b := find(int32(c)), find(int32(k)); a != b {
					parent[max(a, b)] = min(a, b)
				}
			}
		}
		prev0, prev1 = cur0, len(runs)
	}

	ids = make([]int32, len(runs))
	index := make(map[int32]int32)
	for i, r := range runs {
		root := find(int32(i))
		id, ok := index[root]
		if !ok {
			id = int32(len(comps))
			index[root] = id
			comps = append(comps, component{x0: int(r.x0), y0: int(r.y), x1: int(r.x1), y1: int(r.y) + 1})
		}
		ids[i] = id
		c := &comps[id]
		c.area += int(r.x1 - r.x0)
		c.x0 = min(c.x0, int(r.x0))
		c.x1 = max(c.x1, int(r.x1))
		c.y1 = max(c.y1, int(r.y)+1)
	}
	return runs, ids, comps, true
}
