package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/digitnet/digitnet/internal/diag"
	"github.com/digitnet/digitnet/internal/report"
	"github.com/digitnet/digitnet/nn"
)

func runDiagnose(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("digitnet diagnose", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c trainConfig
	trainFlags(fs, &c)
	apply := fs.Bool("apply-fixes", false, "after diagnosing, train with the suggested flags and report the result")
	steps := fs.Int("steps", 300, "length of the probe run in training steps")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: digitnet diagnose [train flags] [--json] [--apply-fixes]\n\nExplains why a network does not learn: checks data and configuration, runs a short\nprobe, and prints each finding with its evidence and the flags that fix it.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := resolve(fs, &c); err != nil {
		return err
	}
	if *steps < 10 {
		return usageErr("--steps %d: want at least 10", *steps)
	}
	noteUnused(fs, stderr, "diagnose", "its probes train in fp32 with the default convolutions", "precision", "conv")
	start := time.Now()
	trainRaw, testRaw, err := c.loadData(ctx, stderr)
	if err == nil {
		trainRaw, err = c.addExtra(ctx, trainRaw, stderr)
	}
	if err != nil {
		return err
	}
	if err := c.Fit(trainRaw, flagSet(fs)); err != nil {
		return flagError(err)
	}
	if c.Outliers != "" {
		fmt.Fprintln(stderr, "diagnose: the probe trains without --outliers (the labelled images alone); --apply-fixes trains with them")
	}
	nn.SetCores(c.Spec(), c.Threads)
	rep, err := diag.Diagnose(ctx, diag.Setup{Recipe: c.Recipe, Train: trainRaw, Test: testRaw, Steps: *steps})
	if err != nil {
		return err
	}
	fixArgs := fixFlagList(rep.Fix)
	// The suggested command is a train run: diagnose's own --report, --apply-fixes and
	// --steps go (train has no --apply-fixes or --steps).
	args = withoutFlag(withoutFlag(withoutFlag(args, "report", false), "apply-fixes", true), "steps", false)
	if c.Report != "" {
		summary := [][2]string{
			{"verdict", map[bool]string{true: "no problems found", false: fmt.Sprintf("%d findings", len(rep.Findings))}[rep.Healthy()]},
			{"network", c.Spec().Summary()},
			{"training", fmt.Sprintf("%s lr %g, batch %d, input %s", c.Optimizer, c.LR, c.Batch, c.Input)},
			{"command", commandLine("diagnose", args)},
		}
		if len(fixArgs) > 0 {
			summary = append(summary, [2]string{"suggested run", "digitnet train " + strings.Join(append(slices.Clone(args), fixArgs...), " ") + triedNote(rep.Tried)})
		}
		if rep.Suggested > 0 {
			summary = append(summary, [2]string{"range test", fmt.Sprintf("learning rate about %.2g", rep.Suggested)})
		}
		r := report.Report{Title: "digitnet diagnose — " + c.Spec().Summary(), Summary: summary,
			Findings: findingsOf(rep.Findings), Layers: layersOf(rep.Initial), Classes: trainRaw.Classes}
		if err := report.Write(c.Report, r); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "report written to %s\n", filepath.Join(c.Report, report.IndexHTML))
	}
	for _, st := range rep.Fix { // the suggested run sets each fixed flag once
		args = withoutFlag(args, flagName(st.Key), isBool(st.Value))
	}
	command := "digitnet train " + strings.Join(append(slices.Clone(args), fixArgs...), " ")
	if c.JSON {
		out := diagnoseJSON{Findings: []findingJSON{}, Suggested: rep.Suggested, Seconds: time.Since(start).Seconds()}
		for _, f := range rep.Findings {
			out.Findings = append(out.Findings, findingJSON{f.ID, string(f.Severity), f.Message, f.Evidence, fixFlags(f.Fix), f.Tried})
		}
		if len(fixArgs) > 0 {
			out.Command, out.Tried = command, rep.Tried
		}
		b, err := json.Marshal(out)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(b))
	} else {
		printFindings(stdout, rep, c, time.Since(start))
		if len(fixArgs) > 0 {
			fmt.Fprintf(stdout, "\nsuggested run, all fixes applied%s:\n  %s\n", triedNote(rep.Tried), command)
		}
	}
	if !*apply || len(fixArgs) == 0 {
		return nil
	}
	human := stdout
	if c.JSON {
		human = stderr
	}
	fmt.Fprintf(human, "\napplying the fixes: %s\n", command)
	return runTrain(ctx, append(slices.Clone(args), fixArgs...), stdout, stderr)
}

// diagnoseJSON is `diagnose --json`'s answer.
type diagnoseJSON struct {
	Findings  []findingJSON `json:"findings"`
	Suggested float64       `json:"suggested_lr,omitempty"` // the range test's learning rate
	Command   string        `json:"command,omitempty"`      // the train run with every fix
	Tried     *diag.Tried   `json:"tried,omitempty"`        // that run, tried
	Seconds   float64       `json:"seconds"`
}

// findingJSON is a finding with its fix as flags.
type findingJSON struct {
	ID       string         `json:"id"`
	Severity string         `json:"severity"`
	Message  string         `json:"message"`
	Evidence map[string]any `json:"evidence"`
	Fix      string         `json:"fix"`             // flags, e.g. "--input unit"
	Tried    *diag.Tried    `json:"tried,omitempty"` // the fix tried: before and after
}

// fixFlagList is a fix as arguments of `digitnet train`: --input unit --init he-normal;
// a bool flag as --invert-test=true.
func fixFlagList(f diag.Fix) []string {
	var out []string
	for _, st := range f {
		if isBool(st.Value) {
			out = append(out, "--"+flagName(st.Key)+"="+st.Value)
		} else {
			out = append(out, "--"+flagName(st.Key), st.Value)
		}
	}
	return out
}

func isBool(v string) bool { return v == "true" || v == "false" }

// fixFlags is a fix as flags in one string.
func fixFlags(f diag.Fix) string { return strings.Join(fixFlagList(f), " ") }

// triedNote says how a tried fix did: " (tried: accuracy after 300 steps 12.7 % → 91.4 %)".
func triedNote(t *diag.Tried) string {
	if t == nil {
		return ""
	}
	before := fmt.Sprintf("%.1f %%", 100*t.Before.Accuracy)
	if math.IsNaN(t.Before.Loss) {
		before = "none (the run diverged or refused the data)"
	}
	return fmt.Sprintf(" (tried: accuracy after %d steps %s → %.1f %%)", t.Steps, before, 100*t.After.Accuracy)
}

func printFindings(w io.Writer, rep diag.Report, c trainConfig, took time.Duration) {
	fmt.Fprintf(w, "diagnosis of %s (preset %s, %s lr %g, batch %d, input %s), %.1fs\n",
		c.Spec().Summary(), c.Preset, c.Optimizer, c.LR, c.Batch, c.Input, took.Seconds())
	if rep.Healthy() {
		fmt.Fprintln(w, "no problems found: this configuration should learn")
	}
	for _, f := range rep.Findings {
		fmt.Fprintf(w, "\n%-7s %s: %s\n", strings.ToUpper(string(f.Severity)), f.ID, f.Message)
		keys := make([]string, 0, len(f.Evidence))
		for k := range f.Evidence {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var ev []string
		for _, k := range keys {
			var b strings.Builder
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(f.Evidence[k])
			ev = append(ev, k+"="+strings.TrimSpace(b.String()))
		}
		fmt.Fprintf(w, "        evidence: %s\n", strings.Join(ev, " "))
		if len(f.Fix) > 0 {
			fmt.Fprintf(w, "        fix: %s%s\n", fixFlags(f.Fix), triedNote(f.Tried))
		}
	}
	if rep.Suggested > 0 {
		fmt.Fprintf(w, "\nlearning-rate range test: about %.2g suits this setup\n", rep.Suggested)
	}
}

// withoutFlag drops -name/--name and its value (separate or after =; a bool flag has
// none) from args.
func withoutFlag(args []string, name string, isBool bool) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := strings.TrimLeft(args[i], "-")
		if a == name && strings.HasPrefix(args[i], "-") {
			if !isBool {
				i++ // its value
			}
			continue
		}
		if strings.HasPrefix(a, name+"=") && strings.HasPrefix(args[i], "-") {
			continue
		}
		out = append(out, args[i])
	}
	return out
}
