package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"

	"github.com/digitnet/digitnet/recipe"
)

// checkpointFile is the file a checkpoint directory holds; each epoch replaces it
// atomically, so a run killed at any moment leaves the last complete epoch's state.
const checkpointFile = "checkpoint.safetensors"

// recipeKeys are the JSON keys of recipe.Recipe's fields: the settings a checkpoint
// records.
var recipeKeys = sync.OnceValue(func() map[string]bool {
	keys := map[string]bool{}
	t := reflect.TypeFor[recipe.Recipe]()
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			keys[name] = true
		}
	}
	return keys
})

// resumeRun restores the run checkpointed in c.Resume. Its recipe replaces c's; a flag
// of the recipe given on the command line that differs from it is an error.
func resumeRun(fs *flag.FlagSet, c *trainConfig) (*recipe.Run, error) {
	path := filepath.Join(c.Resume, checkpointFile)
	if fi, err := os.Stat(c.Resume); err != nil {
		return nil, fmt.Errorf("--resume: %w", err)
	} else if !fi.IsDir() { // the checkpoint file itself
		path, c.Resume = c.Resume, filepath.Dir(c.Resume)
	}
	run, err := recipe.Resume(path)
	if err != nil {
		return nil, fmt.Errorf("--resume %s: %w", c.Resume, err)
	}
	saved, _ := json.Marshal(run.Recipe)
	given, _ := json.Marshal(c.Recipe)
	var savedM, givenM map[string]any
	_ = json.Unmarshal(saved, &savedM)
	_ = json.Unmarshal(given, &givenM)
	var conflict error
	fs.Visit(func(f *flag.Flag) {
		key := strings.ReplaceAll(f.Name, "-", "_")
		if !recipeKeys()[key] || conflict != nil {
			return
		}
		// A setting at its zero value is left out of the file: missing is unset, and a
		// flag setting it is a change too. Only checkpoints from before the recipe kept
		// the products' settings lack conv and precision (FillProducts, below).
		sv, ok := savedM[key]
		if !ok && (key == "conv" || key == "precision") {
			return
		}
		if fmt.Sprint(sv) != fmt.Sprint(givenM[key]) {
			was := fmt.Sprint(sv)
			if !ok {
				was = "unset"
			}
			conflict = usageErr("--%s %v differs from the checkpoint's %s (%s); drop the flag to resume", f.Name, f.Value, was, path)
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
