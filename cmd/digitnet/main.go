// Command digitnet trains and runs neural networks that recognise handwritten digits.
//
//	digitnet train [flags]          train a network on MNIST or Fashion-MNIST
//	digitnet eval --model M         evaluate a saved model
//	digitnet data fetch|verify|info fetch, check and describe the data sets
//	digitnet version                print the version and math backend
//
// Run `digitnet <command> -h` for a command's flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"

	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/internal/pretrained"
)

// version is set at build time with -ldflags "-X main.version=..."; otherwise it comes
// from the module's build info.
var version = ""

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"train", "train a network and report per-epoch cost and accuracy", runTrain},
	{"eval", "evaluate a saved model: accuracy, per-class precision/recall/F1, confusion", runEval},
	{"predict", "predict the digit in your own images (PNG, JPEG, GIF)", runPredict},
	{"export", "write a saved model as ONNX", runExport},
	{"read", "read the number (a row of handwritten digits) in your own images", runRead},
	{"serve", "serve predictions over HTTP with a drawing page", runServe},
	{"data", "fetch, verify or describe a data set (fetch|verify|info)", runData},
	{"diagnose", "explain why a network does not learn, with evidence and the flags that fix it", runDiagnose},
	{"gradcheck", "check the backward pass against numerical gradients for an architecture", runGradcheck},
	{"xor", "train a 2-2-1 network on XOR, the classic sanity check", runXOR},
	{"bench", "measure speed next to PyTorch on this machine (table for BENCHMARKS.md)", runBench},
	{"version", "print the version and the math backend", runVersion},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks errors whose message is a usage problem; run prints it and exits 2.
var errUsage = errors.New("usage")

// exitError carries a non-zero exit status without a message of its own.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	ctx, stop := interruptible(context.Background())
	defer stop()
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		return exitCode(ctx, c.name, c.run(ctx, args[1:], stdout, stderr), stderr)
	}
	fmt.Fprintf(stderr, "digitnet: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

// interrupted is the cause of a context that SIGINT or SIGTERM ended.
type interrupted struct{ sig syscall.Signal }

func (i interrupted) Error() string { return i.sig.String() + " received" }

// interruptible returns a context that the first SIGINT (Ctrl-C) or SIGTERM ends, with
// an interrupted cause naming the signal. The handler is removed then, so a second one
// kills the process the usual way.
func interruptible(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-sigs:
			signal.Stop(sigs)
			cancel(interrupted{s.(syscall.Signal)})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		cancel(context.Canceled)
	}
}

// exitCode reports command name's error on stderr and returns the exit status for it.
func exitCode(ctx context.Context, name string, err error, stderr io.Writer) int {
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "digitnet %s: %v\n", name, err)
		return 2
	}
	// A signal that stopped the work before it could finish for it (loading the data,
	// say) makes its error, but the signal is what the user sees.
	if i, ok := context.Cause(ctx).(interrupted); ok {
		fmt.Fprintf(stderr, "digitnet %s: interrupted (%v) before it finished\n", name, i)
		return interruptedExit(ctx).code
	}
	fmt.Fprintf(stderr, "digitnet %s: %v\n", name, err)
	return 1
}

// interruptedExit is the exit status of a command that a signal stopped early and that
// finished its work for it: 128 + the signal's number, as a shell reports a process the
// signal killed (130 for Ctrl-C, 143 for SIGTERM).
func interruptedExit(ctx context.Context) exitError {
	if i, ok := context.Cause(ctx).(interrupted); ok {
		return exitError{128 + int(i.sig)}
	}
	return exitError{130}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: digitnet <command> [flags]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nrun 'digitnet <command> -h' for a command's flags")
}

// parseFlags parses a command's flags; positional arguments are a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return exitError{2} // the flag package has printed the problem and the usage
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q (flags start with -)", fs.Arg(0))
	}
	return nil
}

// parseImageArgs parses flags that may come before, between or after the image names
// (predict, read), and returns the names.
func parseImageArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var images []string
	for rest := args; len(rest) > 0; {
		if err := fs.Parse(rest); err != nil {
			if err == flag.ErrHelp {
				return nil, err
			}
			return nil, exitError{2}
		}
		rest = fs.Args()
		for len(rest) > 0 && (!strings.HasPrefix(rest[0], "-") || rest[0] == "-") {
			images, rest = append(images, rest[0]), rest[1:]
		}
	}
	return images, nil
}

func usageErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, a...)...)
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		return usageErr("version takes no arguments, got %q", args)
	}
	fmt.Fprintf(stdout, "digitnet %s (math backend %s, products by %s, %d threads)\n", versionString(), kernels.Backend, kernels.Products(), kernels.Threads())
	for _, p := range []struct {
		name string
		err  error
	}{{"bf16 (train --precision bf16)", kernels.BF16()}, {"int8 (--precision int8)", kernels.Int8()},
		{"fp32 direct convolutions (train --conv auto, direct)", kernels.ConvF32()}} {
		if p.err != nil {
			fmt.Fprintf(stdout, "%s: not on this machine: %v\n", p.name, p.err)
		} else {
			fmt.Fprintf(stdout, "%s: available (oneDNN)\n", p.name)
		}
	}
	printPretrained(stdout)
	return nil
}

// printPretrained describes the model digitnet ships, from its record.
func printPretrained(w io.Writer) {
	r := pretrained.Info()
	fmt.Fprintf(w, "pretrained model: %s (%s)\n", strings.Join(pretrained.Names(), ", "), r.Recipe)
	fmt.Fprintf(w, "  trained with %s on %s, %s: %.0f s of training; MNIST test accuracy %.2f%%\n", r.Command, r.Machine, r.Date, r.TrainingSeconds, 100*r.MNISTTest)
	fmt.Fprintf(w, "  answers under %.3f confidence are withheld (%.1f%% of those on %s)\n", r.MinConfidence, 100*r.FloorAbstain, r.FloorFittedOn)
	if len(r.MemberWeights) > 0 {
		fmt.Fprintf(w, "  members weighed %s in the average (fitted on the same digits)\n", strings.Trim(fmt.Sprint(r.MemberWeights), "[]"))
	}
	if len(r.HeldOut) > 0 {
		sets := slices.Sorted(maps.Keys(r.HeldOut))
		var parts []string
		for _, k := range sets {
			parts = append(parts, fmt.Sprintf("%s %.2f%%", k, 100*r.HeldOut[k]))
		}
		fmt.Fprintf(w, "  held-out handwriting (never trained on): %s\n", strings.Join(parts, ", "))
	}
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " " + s.Value[:12]
			}
		}
		if v != "" {
			return v
		}
	}
	return "devel"
}
