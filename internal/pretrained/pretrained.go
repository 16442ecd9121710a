// Package pretrained holds the model digitnet ships: trained by scripts/pretrain (one
// recorded command, reproducible bit for bit on the machine kind it names) and
// embedded in every binary, so that `digitnet predict`, `digitnet serve` and
// digitnet.Default work before a user has trained anything.
//
// record.json, beside the model, says how it was made and how well it does: the
// command, its training time (kept out of the model file so the file reproduces bit
// for bit), MNIST's test accuracy and the held-out figures.
package pretrained

import (
	"embed"
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/digitnet/digitnet/internal/model"
)

// Name is what the pretrained model is called where a file name would stand.
const Name = "pretrained"

// members are the ensemble's model files, in order.
//
//go:embed member-*.safetensors
var members embed.FS

//go:embed record.json
var recordJSON []byte

// Names are the members' file names.
func Names() []string {
	entries, _ := members.ReadDir(".")
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// File is one member's bytes.
func File(name string) ([]byte, error) { return members.ReadFile(name) }

// Record is how the model was made and what it scores.
type Record struct {
	Command         string             `json:"command"`
	Recipe          string             `json:"recipe"`
	Machine         string             `json:"machine"`
	Date            string             `json:"date"`
	TrainingSeconds float64            `json:"training_seconds"`
	MNISTTest       float64            `json:"mnist_test_accuracy"`
	HeldOut         map[string]float64 `json:"held_out_accuracy,omitempty"`
	SHA256          string             `json:"sha256"`
	// MinConfidence is the ensemble's confidence floor, fitted by scripts/pretrain so
	// that FloorAbstain of the answers on FloorFittedOn (real handwriting that is not
	// held out, or the font digits' test split; never trained on) fall below it.
	MinConfidence float64 `json:"min_confidence"`
	// MemberWeights weigh the members' probabilities in the ensemble's average (in
	// Names' order), fitted by scripts/pretrain on the same digits as the floor; none
	// weighs them equally.
	MemberWeights    []float64 `json:"member_weights,omitempty"`
	FloorAbstain     float64   `json:"floor_abstain"`
	FloorFittedOn    string    `json:"floor_fitted_on"`
	Parameters       int       `json:"parameters"`
	BinaryBytesAdded int       `json:"binary_bytes_added,omitempty"`
}

var (
	once    sync.Once
	parsed  Record
	decoded []*model.Model
	err     error
)

// Info is the embedded record.
func Info() Record { // zero when record.json is broken (Ensemble says so)
	once.Do(load)
	return parsed
}

func load() {
	if err = json.Unmarshal(recordJSON, &parsed); err != nil {
		err = fmt.Errorf("pretrained: record.json: %v", err)
		return
	}
	for _, name := range Names() {
		b, _ := members.ReadFile(name)
		m, derr := model.Decode(b)
		if derr != nil {
			err = fmt.Errorf("pretrained: %s: %w", name, derr)
			return
		}
		decoded = append(decoded, m)
	}
}

// Ensemble is the pretrained model, its own copy of the networks (callers predict
// concurrently with replicas of it).
func Ensemble() (*model.Ensemble, error) {
	once.Do(load)
	if err != nil {
		return nil, err
	}
	var ms []*model.Model
	var names []string
	for i, m := range decoded {
		net, err := m.Replica()
		if err != nil {
			return nil, err
		}
		c := *m
		c.Net = net
		ms = append(ms, &c)
		names = append(names, Name+"-"+Names()[i])
	}
	ens, err := model.NewEnsemble(ms, names)
	if err == nil {
		if werr := ens.SetWeights(parsed.MemberWeights); werr != nil {
			return nil, fmt.Errorf("pretrained: record.json: %w", werr)
		}
	}
	if err == nil && parsed.MinConfidence > 0 {
		f := parsed.MinConfidence
		ens.Floor = &f
	}
	return ens, err
}
