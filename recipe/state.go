package recipe

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/digitnet/digitnet/internal/model"
	"github.com/digitnet/digitnet/optim"
	"github.com/digitnet/digitnet/train"
)

// StateVersion is the version of State this package writes: 4 records the
// convolution algorithm and precision in the recipe (older states leave them empty:
// Run.FillProducts); 3 keeps the best validation epoch
// (and the file its weights); 2 added the partial epoch; 1 wrote no "version" key. All
// four are read. A newer version is refused with a message naming
// it, since its fields may mean what this digitnet cannot know.
const StateVersion = 4

// State is what a checkpoint holds of a run besides the weights and the optimizer's
// buffers, as JSON under the file's metadata key "digitnet.checkpoint". Its keys are a
// file format: never rename them.
type State struct {
	Version int           `json:"version"`
	Recipe  Recipe        `json:"config"` // the run's settings ("config" since version 1)
	History []train.Epoch `json:"history"`
	// Partial is the epoch an interruption (Ctrl-C, SIGTERM) cut short, if any.
	Partial *train.Partial `json:"partial,omitempty"`
	RNG     []byte         `json:"rng"` // the random source's state (rand.PCG.MarshalBinary)
	Steps   int            `json:"optimizer_steps"`
	Augment uint64         `json:"augment_calls,omitempty"` // the augmenter's state
	// The best validation epoch so far, with validation (its weights are the file's
	// best/<tensor> tensors when the run keeps them).
	BestEpoch       int     `json:"best_epoch,omitempty"`
	BestValAccuracy float64 `json:"best_val_accuracy,omitempty"`
}

// check refuses a state whose version this package does not know.
func (st *State) check() error {
	switch st.Version {
	case 0: // version 1 wrote no version
		if st.Partial != nil {
			return fmt.Errorf("state without a version holds a partial epoch; the file is corrupt")
		}
	case 2, 3, StateVersion:
	default:
		return fmt.Errorf("state version %d, this digitnet reads versions 1 to %d (was it written by a newer digitnet?)", st.Version, StateVersion)
	}
	return nil
}

func readCheckpoint(path string) (*model.Checkpoint, State, error) {
	ck, err := model.LoadCheckpoint(path)
	if err != nil {
		return nil, State{}, err
	}
	var st State
	if err := json.Unmarshal(ck.State, &st); err != nil {
		return nil, State{}, fmt.Errorf("checkpoint %s: state: %w", path, err)
	}
	if err := st.check(); err != nil {
		return nil, State{}, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return ck, st, nil
}

// Resume restores the run checkpointed at path: its recipe, network, optimizer state,
// random source, augmenter state and history, so that Train continues it as if it had
// never stopped, to the same weights, bit for bit. The run's Recipe is the one saved;
// changing it before Train would make another run.
func Resume(path string) (*Run, error) {
	ck, st, err := readCheckpoint(path)
	if err != nil {
		return nil, err
	}
	r := st.Recipe
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if fmt.Sprint(ck.Model.Arch) != fmt.Sprint(r.Spec()) {
		return nil, fmt.Errorf("checkpoint %s: weights for %v, settings for %v", path, ck.Model.Arch, r.Spec())
	}
	run := &Run{Recipe: r, Net: ck.Model.Net, source: &rand.PCG{}, history: st.History, partial: st.Partial, augState: st.Augment}
	if err := run.source.UnmarshalBinary(st.RNG); err != nil {
		return nil, fmt.Errorf("checkpoint %s: random state: %w", path, err)
	}
	run.Net.SetRandomSource(run.source) // dropout goes on from the saved state, as the run would have
	run.setProducts()
	if st.BestEpoch > 0 {
		run.best = &train.Best{Epoch: st.BestEpoch, ValAccuracy: st.BestValAccuracy}
		if len(ck.Best) > 0 {
			for _, p := range run.Net.State() {
				w, ok := ck.Best[p.Name]
				if !ok || len(w) != p.Value.Len() {
					return nil, fmt.Errorf("checkpoint %s: the best epoch's %s is missing or of another size", path, p.Name)
				}
				run.best.Weights = append(run.best.Weights, w)
			}
		}
	}
	if run.Opt, err = optim.NewDecay(r.Optimizer, r.LR, r.Decay); err != nil {
		return nil, err
	}
	if err := run.Opt.SetState(run.Net.Params(), optim.State{Steps: st.Steps, Buffers: ck.Buffers}); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return run, nil
}
