package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"time"

	"github.com/digitnet/digitnet/augment"
	"github.com/digitnet/digitnet/internal/model"
	"github.com/digitnet/digitnet/nn"
	"github.com/digitnet/digitnet/optim"
	"github.com/digitnet/digitnet/train"
)

// checkpointFile is the file a checkpoint directory holds; each epoch replaces it
// atomically, so a run killed at any moment leaves the last complete epoch's state.
const checkpointFile = "checkpoint.safetensors"

// checkpointVersion is the version of checkpointState this digitnet writes. Version 1
// (no "version" key) had no partial epoch; it is still read. A newer version is refused
// with a message naming it, since its fields may mean what this digitnet cannot know.
const checkpointVersion = 2

// checkpointState is the training loop's state stored in a checkpoint.
type checkpointState struct {
	Version int           `json:"version"`
	Config  trainConfig   `json:"config"`
	History []train.Epoch `json:"history"`
	// Partial is the epoch an interruption (Ctrl-C, SIGTERM) cut short, if any.
	Partial *train.Partial `json:"partial,omitempty"`
	RNG     []byte         `json:"rng"` // the PCG source's state when the checkpoint was taken
	Steps   int            `json:"optimizer_steps"`
	Augment uint64         `json:"augment_calls,omitempty"` // the augmenter's state
}

// checkState refuses a state whose version this digitnet does not know.
func checkState(path string, st *checkpointState) error {
	switch st.Version {
	case 0: // version 1 wrote no version
		if st.Partial != nil {
			return fmt.Errorf("checkpoint %s: state without a version holds a partial epoch; the file is corrupt", path)
		}
	case checkpointVersion:
	default:
		return fmt.Errorf("checkpoint %s: state version %d, this digitnet reads versions 1 to %d (was it written by a newer digitnet?)", path, st.Version, checkpointVersion)
	}
	return nil
}

// trainRun is what a training run is made of, fresh or resumed.
type trainRun struct {
	net      *nn.Network
	opt      optim.Optimizer
	pcg      *rand.PCG
	history  []train.Epoch  // epochs already done (resume)
	partial  *train.Partial // the epoch a resumed run was interrupted in
	aug      *augment.Data  // the augmenter when training distorts its images
	augState uint64         // its state to resume from
}

// newRun builds the network, optimizer and random source for a fresh run.
func newRun(c *trainConfig) (*trainRun, error) {
	pcg := rand.NewPCG(c.Seed, 0x9e3779b97f4a7c15)
	net, err := c.spec().BuildFrom(pcg)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	opt, err := optim.NewDecay(c.Optimizer, c.LR, c.Decay)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	return &trainRun{net: net, opt: opt, pcg: pcg}, nil
}

// resumeRun restores a run from the checkpoint in c.Resume. The checkpoint's settings
// replace c's; a run flag given on the command line that differs is an error.
func resumeRun(fs *flag.FlagSet, c *trainConfig) (*trainRun, error) {
	path := filepath.Join(c.Resume, checkpointFile)
	ck, err := model.LoadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	var st checkpointState
	if err := json.Unmarshal(ck.State, &st); err != nil {
		return nil, fmt.Errorf("checkpoint %s: state: %w", path, err)
	}
	if err := checkState(path, &st); err != nil {
		return nil, err
	}
	saved, _ := json.Marshal(st.Config)
	given, _ := json.Marshal(c)
	var savedM, givenM map[string]any
	_ = json.Unmarshal(saved, &savedM)
	_ = json.Unmarshal(given, &givenM)
	var conflict error
	fs.Visit(func(f *flag.Flag) {
		key := strings.ReplaceAll(f.Name, "-", "_")
		sv, ok := savedM[key]
		if ok && conflict == nil && fmt.Sprint(sv) != fmt.Sprint(givenM[key]) {
			conflict = usageErr("--%s %v differs from the checkpoint's %v (%s); drop the flag to resume", f.Name, f.Value, sv, path)
		}
	})
	if conflict != nil {
		return nil, conflict
	}
	keep := *c
	*c = st.Config
	c.Threads, c.Data, c.JSON, c.History, c.Progress = keep.Threads, keep.Data, keep.JSON, keep.History, keep.Progress
	c.CPUProfile, c.Out, c.Checkpoint, c.Resume, c.Report = keep.CPUProfile, keep.Out, keep.Checkpoint, keep.Resume, keep.Report
	c.Conv = keep.Conv
	if c.Checkpoint == "" {
		c.Checkpoint = c.Resume // keep checkpointing where we resumed from
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if fmt.Sprint(ck.Model.Arch) != fmt.Sprint(c.spec()) {
		return nil, fmt.Errorf("checkpoint %s: weights for %v, settings for %v", path, ck.Model.Arch, c.spec())
	}
	r := &trainRun{net: ck.Model.Net, pcg: &rand.PCG{}, history: st.History, partial: st.Partial, augState: st.Augment}
	if err := r.pcg.UnmarshalBinary(st.RNG); err != nil {
		return nil, fmt.Errorf("checkpoint %s: random state: %w", path, err)
	}
	r.net.SetRandomSource(r.pcg) // dropout goes on from the saved state, as the run would have
	if r.opt, err = optim.NewDecay(c.Optimizer, c.LR, c.Decay); err != nil {
		return nil, err
	}
	if err := r.opt.SetState(r.net.Params(), optim.State{Steps: st.Steps, Buffers: ck.Buffers}); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return r, nil
}

// saveCheckpoint writes c.Checkpoint/checkpoint.safetensors: the weights, optimizer and
// random state now, after the epochs in hist and, if an interruption cut one short, the
// partial epoch. It tells log where it went: a line a caller may wait for.
func (r *trainRun) saveCheckpoint(c *trainConfig, classes []string, hist []train.Epoch, partial *train.Partial, log io.Writer) error {
	path := filepath.Join(c.Checkpoint, checkpointFile)
	rngState, err := r.pcg.MarshalBinary()
	if err != nil {
		return err
	}
	ost := r.opt.State(r.net.Params())
	st := checkpointState{Version: checkpointVersion, Config: *c, History: hist, Partial: partial, RNG: rngState, Steps: ost.Steps}
	if r.aug != nil {
		st.Augment = r.aug.State()
	}
	state, err := json.Marshal(st)
	if err != nil {
		return err
	}
	var last train.Epoch
	if len(hist) > 0 {
		last = hist[len(hist)-1]
	}
	m := r.model(c, classes, len(hist), last.TrainAccuracy, last.TestAccuracy)
	if err := model.SaveCheckpoint(path, &model.Checkpoint{Model: m, Buffers: ost.Buffers, State: state}); err != nil {
		return fmt.Errorf("--checkpoint %s: %w", c.Checkpoint, err)
	}
	if partial != nil {
		fmt.Fprintf(log, "checkpoint: epoch %d stopped after %d examples, saved to %s\n", partial.Epoch, partial.Done, path)
	} else {
		fmt.Fprintf(log, "checkpoint: epoch %d saved to %s\n", len(hist), path)
	}
	return nil
}

// model wraps the run's network with its metadata.
func (r *trainRun) model(c *trainConfig, classes []string, epochs int, trainAcc, testAcc float64) *model.Model {
	scale, offset := c.scaling()
	return &model.Model{Arch: c.spec(), Net: r.net, Input: model.Input{Scale: scale, Offset: offset},
		Dataset: c.Dataset, Classes: classes,
		Training: model.Summary{Preset: c.Preset, Epochs: epochs, Seed: c.Seed, TrainAccuracy: trainAcc,
			TestAccuracy: testAcc, Date: time.Now().UTC().Format(time.RFC3339), Optimizer: r.opt.String()}}
}
