package diag

import (
	"fmt"
	"math"
	"strings"

	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/tensor"
	"github.com/digitnet/digitnet/train"
)

// Severity grades a finding.
type Severity string

// Severities, mildest first.
const (
	Info    Severity = "info"
	Warning Severity = "warning"
	Error   Severity = "error"
)

// Finding is one thing diagnose has to say, with its evidence in numbers and the
// settings that fix it.
type Finding struct {
	ID       string         `json:"id"`
	Severity Severity       `json:"severity"`
	Message  string         `json:"message"`
	Evidence map[string]any `json:"evidence"`
	Fix      Fix            `json:"fix,omitempty"` // nil when no setting fixes it
	// Tried is the fix's short run: how the setup did without it and with it.
	Tried *Tried `json:"tried,omitempty"`
	// certain marks a finding that stands on its own evidence (a reference network that
	// cannot fit the labels), not only when the run is broken.
	certain bool
	// atInit marks a measurement of the network before training.
	atInit bool
}

// measured reports a finding about how a trained network's units look (dead or
// saturated units after training): a measurement, not a cause.
func (f *Finding) measured() bool {
	return (f.ID == "dead-relu" || f.ID == "saturated-units") && !f.atInit
}

// Setting is one training setting and the value a fix gives it. Key is a recipe's key
// (recipe.Recipe's JSON names: "input", "init", "lr", "train_limit", …).
type Setting struct {
	Key, Value string
}

// Fix is the settings that fix a finding.
type Fix []Setting

// String writes a fix as key=value pairs.
func (f Fix) String() string {
	var parts []string
	for _, s := range f {
		parts = append(parts, s.Key+"="+s.Value)
	}
	return strings.Join(parts, " ")
}

// fix makes a Fix from key, value pairs.
func fix(kv ...string) Fix {
	var f Fix
	for i := 0; i+1 < len(kv); i += 2 {
		f = append(f, Setting{kv[i], kv[i+1]})
	}
	return f
}

func finding(id string, sev Severity, msg string, ev map[string]any, kv ...string) Finding {
	return Finding{ID: id, Severity: sev, Message: msg, Evidence: ev, Fix: fix(kv...)}
}

// Stats summarizes input values.
type Stats struct {
	Min, Max, Mean, Std float64
}

// InputStats measures the values the network receives for the first n examples of d.
func InputStats(d train.Data, n int) Stats {
	n = min(n, d.Len())
	dim := tensor.Size(d.Shape())
	x := make([]float32, n*dim)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	d.Batch(idx, x, make([]int, n))
	s := Stats{Min: math.Inf(1), Max: math.Inf(-1)}
	var sum, sq float64
	for _, v := range x {
		f := float64(v)
		s.Min, s.Max = min(s.Min, f), max(s.Max, f)
		sum += f
		sq += f * f
	}
	N := float64(len(x))
	s.Mean = sum / N
	s.Std = math.Sqrt(max(sq/N-s.Mean*s.Mean, 0))
	return s
}

// CheckInputs flags inputs far from order 1 and train/test inputs scaled differently.
func CheckInputs(trainStats, testStats Stats, input string) []Finding {
	var out []Finding
	ev := map[string]any{"min": trainStats.Min, "max": trainStats.Max, "mean": round(trainStats.Mean), "std": round(trainStats.Std)}
	switch {
	case trainStats.Std == 0:
		out = append(out, finding("inputs-constant", Error, "every input value is the same: the network sees nothing to learn from", ev))
	case math.Max(math.Abs(trainStats.Min), math.Abs(trainStats.Max)) > 20 || trainStats.Std > 10:
		flag := "unit"
		if input == "unit" {
			flag = "standard"
		}
		out = append(out, finding("inputs-scale", Error, fmt.Sprintf(
			"inputs range from %.3g to %.3g (std %.3g): a unit's weighted sum is then hundreds of times too large, so sigmoid/tanh units saturate and gradient steps are scaled up as much; networks want inputs of order 1", trainStats.Min, trainStats.Max, trainStats.Std),
			ev, "input", flag))
	}
	return out
}

// recommendedStd is the weight deviation that keeps activations and gradients of
// order 1 through a layer: He for ReLU, Glorot otherwise.
func recommendedStd(fanIn, fanOut int, act string) (float64, string) {
	if act == "relu" {
		return math.Sqrt(2 / float64(fanIn)), "he-normal"
	}
	return math.Sqrt(2 / float64(fanIn+fanOut)), "glorot-uniform"
}

// CheckInit flags weights far from the scale their fan-in needs, and layers whose
// weights are all equal (symmetric: every unit stays identical).
func CheckInit(net *nn.Network, act string) []Finding {
	var out []Finding
	for i, l := range net.Layers {
		var w []float32
		var fanIn, fanOut int
		switch d := l.(type) {
		case *nn.Dense:
			w, fanIn, fanOut = d.W.Value.Data, d.In, d.Out
		case *nn.Conv2D:
			k := d.Kernel * d.Kernel
			w, fanIn, fanOut = d.W.Value.Data, d.In*k, d.Out*k
		default:
			continue
		}
		lo, hi, sum, sq := w[0], w[0], 0.0, 0.0
		for _, v := range w {
			lo, hi = min(lo, v), max(hi, v)
			sum += float64(v)
			sq += float64(v) * float64(v)
		}
		n := float64(len(w))
		std := math.Sqrt(max(sq/n-(sum/n)*(sum/n), 0))
		d := l
		rec, init := recommendedStd(fanIn, fanOut, act)
		ev := map[string]any{"layer": i, "name": d.String(), "std": round(std), "recommended_std": round(rec), "ratio": round(std / rec)}
		switch {
		case hi == lo && fanOut > 1:
			out = append(out, finding("init-symmetric", Error, fmt.Sprintf(
				"all weights of %s start equal (%g): every unit computes the same function and receives the same gradient, so the units never become different", d, lo), ev, "init", init))
		case std > 4*rec:
			sev := Warning
			if std > 10*rec {
				sev = Error
			}
			out = append(out, finding("init-too-large", sev, fmt.Sprintf(
				"%s starts with weights of std %.3g, %.0f× the %.3g its fan-in of %d calls for: weighted sums start %.0f× too large", d, std, std/rec, rec, fanIn, std/rec), ev, "init", init))
		case std < rec/10:
			out = append(out, finding("init-too-small", Warning, fmt.Sprintf(
				"%s starts with weights of std %.3g, 1/%.0f of the %.3g its fan-in calls for: signals and gradients shrink through the layer", d, std, rec/std, rec), ev, "init", init))
		}
	}
	return out
}

// CheckActivity flags saturated sigmoid/tanh layers and dead ReLU layers on a batch;
// fix is the settings that cure it (at initialization the init and input scale, after
// training the learning rate).
func CheckActivity(acts []Activity, when string, cure Fix) []Finding {
	var out []Finding
	for _, a := range acts {
		ev := map[string]any{"layer": a.Layer, "units": a.Units, "when": when, "mean_abs_preactivation": round(a.MeanAbs)}
		switch a.Name {
		case "Sigmoid", "Tanh":
			ev["saturated_fraction"] = round(a.Saturated)
			if a.Saturated > 0.2 {
				sev := Warning
				if a.Saturated > 0.5 {
					sev = Error
				}
				f := finding("saturated-units", sev, fmt.Sprintf(
					"%.0f%% of the %s layer's pre-activations are beyond |z| > %d %s: there the derivative is below 0.007, so almost no gradient flows and those weights barely change", 100*a.Saturated, a.Name, SaturationLimit, when), ev)
				f.Fix = cure
				out = append(out, f)
			}
		case "ReLU":
			ev["dead_fraction"] = round(a.Dead)
			if a.Dead > 0.2 {
				sev := Warning
				if a.Dead > 0.5 {
					sev = Error
				}
				f := finding("dead-relu", sev, fmt.Sprintf(
					"%.0f%% of the ReLU units never fire on a batch of examples %s: they pass no gradient and stay dead", 100*a.Dead, when), ev)
				f.Fix = cure
				out = append(out, f)
			}
		}
	}
	return out
}

// CheckOutputLoss flags output activations that do not fit the loss.
func CheckOutputLoss(arch nn.Spec) []Finding {
	ev := map[string]any{"output": arch.Output, "loss": arch.Loss}
	K := arch.Outputs()
	switch {
	case arch.Output == "softmax" && arch.Loss == "mse":
		return []Finding{finding("output-loss-mismatch", Warning,
			"squared error on softmax outputs: when an output is confidently wrong the softmax is flat there, so the gradient vanishes exactly when it is needed; cross-entropy cancels that flatness", ev, "loss", "ce")}
	case arch.Output == "sigmoid" && arch.Loss == "ce":
		return []Finding{finding("output-loss-mismatch", Warning,
			"categorical cross-entropy on sigmoid outputs: they are not a distribution, so only the true class's output is pushed up and nothing pushes the wrong ones down", ev, "output", "softmax")}
	case arch.Output == "softmax" && arch.Loss == "bce":
		return []Finding{finding("output-loss-mismatch", Warning,
			"binary cross-entropy treats the softmax outputs as independent yes/no answers, which they are not", ev, "loss", "ce")}
	case arch.Output == "sigmoid" && arch.Loss == "bce" && K > 2:
		return []Finding{finding("output-loss-pairing", Info,
			"independent sigmoid outputs with binary cross-entropy learn, but for one class out of several softmax with cross-entropy is the usual and slightly better pairing", ev, "output", "softmax", "loss", "ce")}
	case arch.Output == "linear":
		return []Finding{finding("output-loss-pairing", Info,
			"linear outputs with squared error treat classes as numbers to regress; softmax with cross-entropy is made for classes", ev, "output", "softmax", "loss", "ce")}
	}
	return nil
}

// CheckBalance flags a training set whose classes are far from equally common.
func CheckBalance(counts []int) []Finding {
	lo, hi := math.MaxInt, 0
	for _, c := range counts {
		lo, hi = min(lo, c), max(hi, c)
	}
	if len(counts) == 0 || hi == 0 {
		return nil
	}
	ratio := float64(hi) / math.Max(float64(lo), 1)
	if ratio <= 3 {
		return nil
	}
	sev := Warning
	if lo == 0 {
		sev = Error
	}
	return []Finding{finding("class-imbalance", sev, fmt.Sprintf(
		"the most common class has %.1f× the examples of the rarest (%d vs %d): the network can score well by favouring common classes", ratio, hi, lo),
		map[string]any{"counts": counts, "ratio": round(ratio)}, "balance", "oversample")}
}

func round(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) || v == 0 {
		return v
	}
	p := math.Pow(10, 4-math.Ceil(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}
