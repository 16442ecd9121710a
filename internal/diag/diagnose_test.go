package diag

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/train"
)

func mnist(t *testing.T) (tr, te *train.Bytes) {
	t.Helper()
	a, b, err := dataset.Load(context.Background(), dataset.Options{Dataset: "mnist"})
	if err != nil {
		t.Fatalf("loading MNIST: %v", err)
	}
	d := func(s *dataset.Set) *train.Bytes {
		return &train.Bytes{Pixels: s.Images, Labels: s.Labels, ExampleShape: []int{784}, Scale: 1.0 / 255}
	}
	return d(a), d(b)
}

func healthySetup(tr, te train.Data) Setup {
	return Setup{Arch: nn.MLP{Sizes: []int{784, 100, 10}, Activation: "relu", Output: "softmax", Loss: "ce", Init: nn.InitHeNormal}.Spec(),
		Optimizer: "adam", LR: 1e-3, Batch: 64, Input: "unit", Train: tr, Test: te, Classes: 10, Seed: 1, Steps: 150}
}

// relabel changes a data set's labels.
type relabel struct {
	train.Data
	f func(i, label int) int
}

func (r *relabel) Batch(idx []int, x []float32, labels []int) {
	r.Data.Batch(idx, x, labels)
	for j, i := range idx {
		labels[j] = r.f(i, labels[j])
	}
}

func ids(r Report) map[string]Severity {
	m := map[string]Severity{}
	for _, f := range r.Findings {
		m[f.ID] = f.Severity
	}
	return m
}

// TestDataRules: each data fault is named, and the clean data raises nothing.
func TestDataRules(t *testing.T) {
	tr, te := mnist(t)
	perm := rand.New(rand.NewPCG(3, 3)).Perm(1 << 16)
	rawTest := *te
	rawTest.Scale = 1 // test set left at 0..255
	cases := []struct {
		name  string
		train train.Data
		test  train.Data
		want  string // finding id, "" for none
	}{
		{"clean", tr, te, ""},
		{"shuffled labels", &relabel{tr, func(i, l int) int { return perm[i] % 10 }}, te, "labels-inconsistent"},
		{"shifted train labels", &relabel{tr, func(i, l int) int { return (l + 1) % 10 }}, te, "labels-train-test-mismatch"},
		{"test scaled differently", tr, &rawTest, "train-test-scale"},
		{"class imbalance", &relabel{tr, func(i, l int) int {
			if l == 3 && i%10 != 0 {
				return 5 // nine in ten 3s become 5s: 3 is rare
			}
			return l
		}}, te, "class-imbalance"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep, err := Diagnose(context.Background(), healthySetup(c.train, c.test))
			if err != nil {
				t.Fatal(err)
			}
			got := ids(rep)
			if c.want == "" {
				if !rep.Healthy() {
					t.Errorf("clean data: findings %+v, want none above info", rep.Findings)
				}
				return
			}
			if sev, ok := got[c.want]; !ok || sev == Info {
				t.Errorf("findings %v, want %s as a warning or error", got, c.want)
			}
		})
	}
}

func TestSymmetricInit(t *testing.T) {
	net, _ := nn.MLP{Sizes: []int{784, 20, 10}, Activation: "sigmoid", Output: "softmax", Loss: "ce", Init: nn.InitGlorotUniform}.Build(rand.New(rand.NewPCG(1, 1)))
	d := net.Layers[0].(*nn.Dense)
	for i := range d.W.Value.Data {
		d.W.Value.Data[i] = 0.01
	}
	fs := CheckInit(net, "sigmoid")
	if len(fs) != 1 || fs[0].ID != "init-symmetric" || fs[0].Severity != Error || fmt.Sprint(fs[0].Fix) != "[{init glorot-uniform}]" {
		t.Errorf("CheckInit on equal weights = %+v, want one init-symmetric error", fs)
	}
	healthy, _ := nn.MLP{Sizes: []int{784, 20, 10}, Activation: "relu", Output: "softmax", Loss: "ce", Init: nn.InitHeNormal}.Build(rand.New(rand.NewPCG(1, 1)))
	if fs := CheckInit(healthy, "relu"); len(fs) != 0 {
		t.Errorf("CheckInit on He init = %+v, want nothing", fs)
	}
}

func TestCheckInputsAndBalance(t *testing.T) {
	unit := Stats{Min: 0, Max: 1, Mean: 0.13, Std: 0.31}
	raw := Stats{Min: 0, Max: 255, Mean: 33, Std: 78}
	if fs := CheckInputs(unit, unit, "unit"); len(fs) != 0 {
		t.Errorf("unit inputs: %+v, want nothing", fs)
	}
	if fs := CheckInputs(raw, raw, "raw"); len(fs) != 1 || fs[0].ID != "inputs-scale" || fmt.Sprint(fs[0].Fix) != "[{input unit}]" {
		t.Errorf("raw inputs: %+v, want inputs-scale with --input unit", fs)
	}
	if fs := CheckBalance([]int{100, 90, 110, 95}); len(fs) != 0 {
		t.Errorf("balanced counts: %+v", fs)
	}
	if fs := CheckBalance([]int{100, 20, 110, 95}); len(fs) != 1 || fs[0].ID != "class-imbalance" {
		t.Errorf("imbalanced counts: %+v", fs)
	}
}
