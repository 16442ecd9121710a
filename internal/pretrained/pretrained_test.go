package pretrained

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"
)

// The record describes the embedded files: scripts/pretrain writes both, and a model
// replaced without its record (or the reverse) fails here.
func TestRecordMatchesModel(t *testing.T) {
	h := sha256.New()
	for _, name := range Names() {
		b, err := File(name)
		if err != nil {
			t.Fatal(err)
		}
		h.Write(b)
	}
	r := Info()
	if got := hex.EncodeToString(h.Sum(nil)); got != r.SHA256 {
		t.Fatalf("the members' SHA-256 is %s, record.json says %q: run scripts/pretrain", got, r.SHA256)
	}
	if r.MNISTTest < 0.99 || r.TrainingSeconds <= 0 || r.Command == "" {
		t.Errorf("record %+v: want the command, its training time and MNIST test accuracy", r)
	}
}

func TestEnsemble(t *testing.T) {
	a, err := Ensemble()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Ensemble()
	if len(a.Models) != len(Names()) || len(a.Models) == 0 {
		t.Fatalf("%d members, want %d", len(a.Models), len(Names()))
	}
	for i, m := range a.Models {
		if m.Calibration == nil || m.Calibration.Temperature <= 0 || m.Calibration.MinConfidence <= 0 {
			t.Errorf("member %s: calibration %+v, want a fitted temperature and floor", a.Names[i], m.Calibration)
		}
		if m.Net == b.Models[i].Net {
			t.Errorf("member %s: two ensembles share a network; callers predict concurrently", a.Names[i])
		}
	}
}

// The record's weights are the ensemble's: one per member, and they change its average.
func TestWeights(t *testing.T) {
	r := Info()
	e, err := Ensemble()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.MemberWeights) != len(Names()) || !slices.Equal(e.Weights, r.MemberWeights) {
		t.Fatalf("record.json weighs the members %v, the ensemble %v; want one weight per member (%d)", r.MemberWeights, e.Weights, len(Names()))
	}
}
