package diag

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/recipe"
	"github.com/digitnet/digitnet/train"
)

// Setup is the training run diagnose examines: a recipe and its data as loaded (the
// recipe's data fixes not yet applied).
type Setup struct {
	Recipe      recipe.Recipe
	Train, Test *dataset.Set
	// Steps is the length of each probe run (default 300); a run of small batches gets
	// enough steps to see minExamples examples.
	Steps int
}

// minExamples is the fewest training examples a probe sees: 300 steps of per-example
// SGD would see too few to tell a fix that helps from one that does not.
const minExamples = 5000

// Report is what diagnose found, worst first.
type Report struct {
	Findings []Finding `json:"findings"`
	// Suggested is the learning rate the range test suggests for this setup.
	Suggested float64 `json:"suggested_lr,omitempty"`
	// Fix is every helping finding's fix together, Tried its short run.
	Fix   Fix    `json:"-"`
	Tried *Tried `json:"-"`
	// Initial is what enters each hidden activation layer at initialization, on a batch
	// of training examples, for histograms.
	Initial []Sample `json:"-"`
}

// Healthy reports whether nothing rose above info.
func (r Report) Healthy() bool {
	for _, f := range r.Findings {
		if f.Severity != Info {
			return false
		}
	}
	return true
}

// Tried is a fix tried in a short run from the same seed: the outcome without it and
// with it.
type Tried struct {
	Steps  int     `json:"steps"`
	Before Outcome `json:"before"`
	After  Outcome `json:"after"`
}

// Outcome is a short run's result: its mean training loss over the last tenth of its
// steps, and its mean accuracy over classes (so that a rare class counts as much as a
// common one) on the first 1,000 test images. Every run is measured on the same images,
// which no fix of the training data changes. A run that could not start (data refused) or whose
// loss diverged has loss NaN, written null in JSON.
type Outcome struct {
	Loss     float64 `json:"loss"`
	Accuracy float64 `json:"accuracy"`
}

// MarshalJSON writes a loss that is not finite as null.
func (o Outcome) MarshalJSON() ([]byte, error) {
	var loss any = round(o.Loss)
	if math.IsNaN(o.Loss) || math.IsInf(o.Loss, 0) {
		loss = nil
	}
	return json.Marshal(struct {
		Loss     any     `json:"loss"`
		Accuracy float64 `json:"accuracy"`
	}{loss, round(o.Accuracy)})
}

// broken reports an outcome of a run that did not learn: it did not start, its loss
// diverged, or its accuracy is near chance.
func (o Outcome) broken(chance float64) bool {
	return math.IsNaN(o.Loss) || math.IsInf(o.Loss, 0) || o.Accuracy <= chance+0.05
}

// Thresholds for "a fix helps": it raises the held-out accuracy by at least minGain and
// removes at least minErrorCut of the errors. A healthy run's short-run accuracy moves
// by a point or two with any reasonable change; a real fault costs far more.
const (
	minGain     = 0.03
	minErrorCut = 0.25
	// errorGain: a fix that gains this much marks its finding an error, not a warning.
	errorGain = 0.15
)

// minCleanGain is what a fix that only drops or repeats training images (clean,
// balance) must gain: it changes no setting of the network, so any clear gain shows the
// images were doing harm.
const minCleanGain = 0.01

// helps judges a tried fix.
func (t *Tried) helps(chance float64, f Fix) bool {
	// A run that did not learn and now learns (halfway from chance to perfect, at least).
	if t.Before.broken(chance) && t.After.Accuracy >= chance+(1-chance)/2 {
		return true
	}
	gain := t.After.Accuracy - t.Before.Accuracy
	if !slices.ContainsFunc(f, func(st Setting) bool { return !slices.Contains(dataKeys, st.Key) }) {
		return gain >= minCleanGain
	}
	return gain >= minGain && gain >= minErrorCut*(1-t.Before.Accuracy)
}

// dataKeys are the settings that only drop or repeat training images.
var dataKeys = []string{"clean", "balance"}

// Diagnose checks the data and the configuration, runs a learning-rate range test and a
// short probe of the run, and tries each fix it would suggest in a short run of its own
// from the same seed: a finding is a warning or an error only when its fix helps (or, for
// one without a fix, when the run is broken), and only fixes that help are kept.
func Diagnose(ctx context.Context, s Setup) (Report, error) {
	if s.Steps <= 0 {
		s.Steps = 300
	}
	s.Steps = max(s.Steps, (minExamples+s.Recipe.Batch-1)/max(s.Recipe.Batch, 1))
	d := &doctor{ctx: ctx, s: s, tried: map[string]*probeResult{}}
	K := max(len(s.Train.Classes), 2)
	d.chance = 1 / float64(K)
	var rep Report

	// The data as it is, before the recipe's own fixes.
	rep.Findings = append(rep.Findings, checkData(s.Train, s.Test, &s.Recipe)...)

	base, err := d.run(s.Recipe)
	if err != nil {
		return rep, err
	}
	if base.refused != nil {
		// The recipe cannot even start on this data; every data finding above says why.
		d.judge(&rep, base)
		return rep, nil
	}
	net, arch := base.initial, s.Recipe.Spec()
	add := func(fs ...Finding) { rep.Findings = append(rep.Findings, fs...) }
	add(CheckInputs(base.trainStats, base.testStats, s.Recipe.Input)...)
	add(CheckInit(net, arch.HiddenActivation())...)
	initFix := fix("init", initFor(arch.HiddenActivation()))
	if hasID(rep.Findings, "inputs-scale") {
		initFix = append(fix("input", "unit"), initFix...)
	}
	add(CheckActivity(Activities(net, base.probeX), "at initialization", initFix)...)
	for i := range rep.Findings { // the activity seen in a network that has not trained yet
		rep.Findings[i].atInit = true
	}
	rep.Initial = PreActivations(net, base.probeX, 1<<16)
	add(CheckOutputLoss(arch)...)

	lrf, suggested := rangeTest(ctx, base)
	rep.Suggested, d.suggested = suggested, suggested
	add(base.findings(s, suggested, lrf)...)
	lrFix := fix("lr", fmt.Sprintf("%.2g", s.Recipe.LR/10)) // units died during training: steps too large
	if !hasID(rep.Findings, "saturated-units") && !hasID(rep.Findings, "dead-relu") {
		add(CheckActivity(Activities(base.trained, base.probeX), fmt.Sprintf("after %d training steps", s.Steps), lrFix)...)
	}
	add(d.checkLabels(base, hasID(rep.Findings, "train-test-shift"))...)
	d.judge(&rep, base)
	return rep, nil
}

// doctor runs the probes of one diagnosis, each recipe once.
type doctor struct {
	ctx       context.Context
	s         Setup
	chance    float64
	suggested float64
	tried     map[string]*probeResult // by the recipe's JSON
	// refAcc is the reference network's accuracy on the test images (checkLabels), 0
	// when it was not trained.
	refAcc float64
}

// run probes r (once: a recipe tried again gives the same result).
func (d *doctor) run(r recipe.Recipe) (*probeResult, error) {
	key, _ := json.Marshal(r)
	if pr, ok := d.tried[string(key)]; ok {
		return pr, nil
	}
	pr, err := probe(d.ctx, r, d.s.Train, d.s.Test, d.s.Steps)
	if err != nil {
		return nil, err
	}
	d.tried[string(key)] = pr
	return pr, nil
}

// apply is the setup's recipe with fix's settings; changed is false when it sets nothing
// new, ok false when the recipe refuses a setting.
func (d *doctor) apply(f Fix) (r recipe.Recipe, changed, ok bool) {
	r = d.s.Recipe
	for _, st := range f {
		if r.Setting(st.Key) == st.Value {
			continue
		}
		next, err := r.With(st.Key, st.Value)
		if err != nil {
			return r, false, false
		}
		r, changed = next, true
	}
	return r, changed, true
}

// try runs the setup with on's settings, then with on's and add's, and compares the two;
// nil when add changes nothing over on, or a setting is refused.
func (d *doctor) try(on, add Fix) (*Tried, error) {
	before, _, ok1 := d.apply(on)
	after, changed, ok2 := d.apply(append(slices.Clone(on), add...))
	if !ok1 || !ok2 || !changed || mustJSON(before) == mustJSON(after) {
		return nil, nil
	}
	pb, err := d.run(before)
	if err != nil {
		return nil, err
	}
	pa, err := d.run(after)
	if err != nil {
		return nil, err
	}
	return &Tried{Steps: d.s.Steps, Before: pb.outcome(), After: pa.outcome()}, nil
}

func mustJSON(r recipe.Recipe) string {
	b, _ := json.Marshal(r)
	return string(b)
}

// listKeys are the settings whose value is a list: fixes add to it, not replace it.
var listKeys = []string{"clean"}

// without is f less drop's settings (for a list, less drop's items).
func without(f Fix, drop Fix) Fix {
	out := slices.Clone(f)
	for _, x := range drop {
		i := slices.IndexFunc(out, func(st Setting) bool { return st.Key == x.Key })
		if i < 0 {
			continue
		}
		if slices.Contains(listKeys, x.Key) {
			items := slices.DeleteFunc(strings.Split(out[i].Value, ","), func(v string) bool { return slices.Contains(strings.Split(x.Value, ","), v) })
			if len(items) > 0 {
				out[i].Value = strings.Join(items, ",")
				continue
			}
		}
		out = slices.Delete(out, i, i+1)
	}
	return out
}

// merge adds to all the settings of f whose keys it does not have yet (for a list, the
// items it lacks).
func merge(all, f Fix) Fix {
	for _, st := range f {
		i := slices.IndexFunc(all, func(a Setting) bool { return a.Key == st.Key })
		switch {
		case i < 0:
			all = append(all, st)
		case slices.Contains(listKeys, st.Key):
			items := strings.Split(all[i].Value, ",")
			for _, v := range strings.Split(st.Value, ",") {
				if !slices.Contains(items, v) {
					items = append(items, v)
				}
			}
			all[i].Value = strings.Join(items, ",")
		}
	}
	return all
}

// covers reports whether all already sets every setting of f (every item of a list).
func covers(all, f Fix) bool {
	return len(without(f, all)) == 0
}

// judge tries the findings' fixes and sets their severities by the outcome, sorts them
// worst first, and tries every helping fix together. A fix is first tried alone; one
// that does not help alone is tried with every other fix applied (causes that only show
// once another is fixed: weights too large for inputs that are no longer too large,
// labels off by one tested on images that are also inverted): added to them, or, when
// they set it already, left out of them. A finding whose evidence stands on its own
// (certain) keeps its severity when no fix of it helps.
func (d *doctor) judge(rep *Report, base *probeResult) {
	broken := base.outcome().broken(d.chance)
	// A run that learns at least as well as the reference network is not hurt by how
	// its units look after training: those measurements need no trial.
	learns := d.refAcc > 0 && base.outcome().Accuracy >= d.refAcc
	var failed []int
	for i := range rep.Findings {
		f := &rep.Findings[i]
		f.Fix = d.withSuggestedLR(f.Fix)
		if learns && f.measured() {
			f.Fix, f.Severity = nil, Info
			f.Evidence["learns_anyway"] = map[string]any{"test_accuracy": round(base.outcome().Accuracy), "reference_network": round(d.refAcc)}
			continue
		}
		if len(f.Fix) == 0 {
			if !broken && !f.certain {
				f.Severity = Info
			}
			continue
		}
		t, err := d.try(nil, f.Fix)
		if err == nil && t != nil && t.helps(d.chance, f.Fix) {
			d.keep(f, t)
			continue
		}
		if t != nil {
			f.Evidence["tried_alone"] = map[string]any{"fix": f.Fix.String(), "before": t.Before, "after": t.After}
		}
		failed = append(failed, i)
	}
	// Every candidate fix together: the helping ones first, then the others.
	var every Fix
	for _, f := range d.byGain(rep.Findings) {
		every = merge(every, f.Fix)
	}
	for _, i := range failed {
		every = merge(every, rep.Findings[i].Fix)
	}
	for _, i := range failed {
		f := &rep.Findings[i]
		var t *Tried
		if covers(every, f.Fix) {
			t, _ = d.try(without(every, f.Fix), f.Fix) // the others set it: left out of them
		} else {
			t, _ = d.try(every, f.Fix) // new settings: added to the others
		}
		if t != nil && t.helps(d.chance, f.Fix) {
			d.keep(f, t)
			continue
		}
		f.Fix = nil
		if !f.certain || !broken {
			f.Severity = Info
		}
	}
	var all Fix
	for _, f := range d.byGain(rep.Findings) {
		all = merge(all, f.Fix)
	}
	slices.SortStableFunc(rep.Findings, func(a, b Finding) int {
		if r := rank(b.Severity) - rank(a.Severity); r != 0 {
			return r
		}
		return cmpGain(b.Tried, a.Tried)
	})
	if len(all) == 0 {
		return
	}
	t, err := d.try(nil, all)
	if err != nil || t == nil {
		return
	}
	// When all of them together do worse than the best one alone, suggest that one.
	if best := rep.Findings[0].Tried; best != nil && t.After.Accuracy < best.After.Accuracy-0.01 && best.Before == t.Before {
		all, t = rep.Findings[0].Fix, best
	}
	rep.Fix, rep.Tried = all, t
}

// keep marks f's fix as helping, t its trial: an error when it gains much or the run was
// broken without it, else a warning.
func (d *doctor) keep(f *Finding, t *Tried) {
	f.Tried, f.Severity = t, Warning
	if t.After.Accuracy-t.Before.Accuracy >= errorGain || t.Before.broken(d.chance) {
		f.Severity = Error
	}
}

// byGain are the findings with a helping fix, the most helpful first.
func (d *doctor) byGain(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Tried != nil {
			out = append(out, f)
		}
	}
	slices.SortStableFunc(out, func(a, b Finding) int { return cmpGain(b.Tried, a.Tried) })
	return out
}

func cmpGain(a, b *Tried) int {
	ga, gb := -1.0, -1.0
	if a != nil {
		ga = a.After.Accuracy - a.Before.Accuracy
	}
	if b != nil {
		gb = b.After.Accuracy - b.Before.Accuracy
	}
	switch {
	case ga < gb:
		return -1
	case ga > gb:
		return 1
	}
	return 0
}

// withSuggestedLR puts the range test's learning rate in any fix that sets one, so that
// no fix contradicts it.
func (d *doctor) withSuggestedLR(f Fix) Fix {
	if d.suggested <= 0 {
		return f
	}
	out := slices.Clone(f)
	for i, st := range out {
		if st.Key == "lr" {
			out[i].Value = fmt.Sprintf("%.2g", d.suggested)
		}
	}
	return out
}

func rank(s Severity) int { return map[Severity]int{Info: 0, Warning: 1, Error: 2}[s] }

func hasID(fs []Finding, id string) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.ID == id })
}

func initFor(act string) string {
	if act == "relu" {
		return "he-normal"
	}
	return "glorot-uniform"
}

// balancedAccuracy is the mean over classes present of the fraction of their examples
// classified right.
func balancedAccuracy(conf [][]int) float64 {
	var sum float64
	n := 0
	for k, row := range conf {
		total := 0
		for _, c := range row {
			total += c
		}
		if total > 0 {
			sum += float64(row[k]) / float64(total)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// netOf builds r's network with weights from its seed.
func netOf(r recipe.Recipe) (*nn.Network, *rand.PCG, error) {
	src := rand.NewPCG(r.Seed, 0x9e3779b97f4a7c15)
	net, err := r.Spec().BuildFrom(src)
	return net, src, err
}

// evaluate is a network's outcome on d: the balanced accuracy.
func evaluate(net *nn.Network, d train.Data) float64 {
	return balancedAccuracy(train.Evaluate(net, d, 1000).Confusion)
}
