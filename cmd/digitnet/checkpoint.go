package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/digitnet/digitnet/recipe"
)

// checkpointFile is the file a checkpoint directory holds; each epoch replaces it
// atomically, so a run killed at any moment leaves the last complete epoch's state.
const checkpointFile = "checkpoint.safetensors"

// resumeRun restores the run checkpointed in c.Resume. Its recipe replaces c's; a flag
// of the recipe given on the command line that differs from it is an error.
func resumeRun(fs *flag.FlagSet, c *trainConfig) (*recipe.Run, error) {
	path := filepath.Join(c.Resume, checkpointFile)
	run, err := recipe.Resume(path)
	if err != nil {
		return nil, err
	}
	saved, _ := json.Marshal(run.Recipe)
	given, _ := json.Marshal(c.Recipe)
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
	// A checkpoint from before the recipe kept the products' settings takes them from
	// the flags, as it did then.
	if err := run.FillProducts(c.Conv, c.Precision); err != nil {
		return nil, flagError(err)
	}
	c.Recipe = run.Recipe
	if c.Checkpoint == "" {
		c.Checkpoint = c.Resume // keep checkpointing where we resumed from
	}
	return run, nil
}
