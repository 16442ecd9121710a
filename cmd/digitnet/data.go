package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/digitnet/digitnet/dataset"
)

func runData(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			dataUsage(stderr)
			return flag.ErrHelp
		}
		dataUsage(stderr)
		return usageErr("want a subcommand: fetch, verify or info")
	}
	sub := args[0]
	fs := flag.NewFlagSet("digitnet data "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("dataset", "mnist", "data set: "+strings.Join(dataset.Names(), ", "))
	dir := fs.String("data", "", "directory holding the IDX files (default: $DIGITNET_DATA, then the user cache)")
	asJSON := fs.Bool("json", false, "info: print JSON")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	opt := dataset.Options{Dataset: *name, Dir: *dir, Log: stderr}
	switch sub {
	case "fetch":
		d, err := dataset.Fetch(ctx, opt)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: present and verified in %s\n", *name, d)
	case "verify":
		d, err := dataset.Verify(opt)
		if errors.Is(err, dataset.ErrNotFound) {
			return fmt.Errorf("%w (run 'digitnet data fetch --dataset %s')", err, *name)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: all files in %s match their recorded SHA-256\n", *name, d)
	case "info":
		info, err := dataset.Stat(opt)
		if err != nil {
			return err
		}
		if *asJSON {
			b, _ := json.MarshalIndent(info, "", "  ")
			fmt.Fprintln(stdout, string(b))
			return nil
		}
		printInfo(stdout, info)
	default:
		dataUsage(stderr)
		return usageErr("unknown data subcommand %q, want fetch, verify or info", sub)
	}
	return nil
}

func dataUsage(w io.Writer) {
	fmt.Fprintln(w, `usage: digitnet data fetch|verify|info [--dataset mnist|fashion] [--data DIR]

  fetch   make sure the data set is present and verified, fetching what is missing
  verify  check the files on disk against their recorded SHA-256 (no fetching)
  info    where the data set is, its files, classes and sources`)
}

func printInfo(w io.Writer, in dataset.Info) {
	fmt.Fprintf(w, "dataset:  %s\n", in.Dataset)
	if in.Dir != "" {
		fmt.Fprintf(w, "location: %s\n", in.Dir)
	} else {
		fmt.Fprintf(w, "location: not found (would be fetched into %s)\n", in.FetchDir)
	}
	fmt.Fprintf(w, "searched: %s\n", strings.Join(in.Searched, ", "))
	fmt.Fprintf(w, "examples: %d train, %d test\n", in.Train, in.Test)
	fmt.Fprintf(w, "classes:  %s\n", strings.Join(in.Classes, ", "))
	fmt.Fprintln(w, "files:")
	for _, f := range in.Files {
		where := f.Path
		if where == "" {
			where = "(missing)"
		}
		fmt.Fprintf(w, "  %-26s %10d bytes  sha256 %s…  %s\n", f.Name, f.Size, f.SHA256[:16], where)
	}
	fmt.Fprintf(w, "sources:  %s\n", strings.Join(in.Sources, "; "))
}
