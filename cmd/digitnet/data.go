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
	prefix := fs.String("prefix", "", "info: with --data, the IDX files' name prefix")
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
		info, err := dataInfo(ctx, opt, *prefix)
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

// infoReport is `data info`: the data set and the files actually found.
type infoReport struct {
	Dataset  string              `json:"dataset"`
	Dir      string              `json:"dir,omitempty"` // "" when not found
	FetchDir string              `json:"fetch_dir,omitempty"`
	Searched []string            `json:"searched,omitempty"`
	Train    int                 `json:"train"`
	Test     int                 `json:"test"`
	Image    [2]int              `json:"image"` // rows, columns
	Classes  []string            `json:"classes"`
	Files    []dataset.FoundFile `json:"files"`
	Notes    []string            `json:"notes,omitempty"`
	Sources  []string            `json:"sources,omitempty"`
}

// dataInfo describes the data --data names (a user's IDX files, read and hashed), or
// the built-in data set where it is found (its files read and hashed too).
func dataInfo(ctx context.Context, opt dataset.Options, prefix string) (infoReport, error) {
	var files dataset.Files
	var rep infoReport
	if opt.Dir != "" {
		found, err := dataset.FindFiles(opt.Dir)
		if err != nil {
			return rep, err
		}
		if len(found) > 0 || prefix != "" {
			if files, err = dataset.Select(found, opt.Dir, prefix); err != nil {
				return rep, err
			}
		}
	}
	if files.Dir == "" {
		st, err := dataset.Stat(opt)
		if err != nil {
			return rep, err
		}
		rep = infoReport{Dataset: st.Dataset, Dir: st.Dir, FetchDir: st.FetchDir, Searched: st.Searched, Classes: st.Classes, Sources: st.Sources, Train: st.Train, Test: st.Test, Image: [2]int{28, 28}}
		if st.Dir == "" {
			return rep, nil
		}
		files = dataset.Files{Dir: st.Dir, TrainImages: st.Files[0].Path, TrainLabels: st.Files[1].Path, TestImages: st.Files[2].Path, TestLabels: st.Files[3].Path}
	}
	tr, te, found, err := dataset.Open(ctx, files)
	if err != nil {
		return rep, err
	}
	rep.Dataset, rep.Dir, rep.Train, rep.Test, rep.Classes = tr.Name, files.Dir, tr.N, te.N, tr.Classes
	rep.Files, rep.Notes = found.Files, found.Notes
	rep.Image = [2]int{tr.Rows, tr.Cols}
	return rep, nil
}

func printInfo(w io.Writer, in infoReport) {
	fmt.Fprintf(w, "dataset:  %s\n", in.Dataset)
	if in.Dir != "" {
		fmt.Fprintf(w, "location: %s\n", in.Dir)
	} else {
		fmt.Fprintf(w, "location: not found (would be fetched into %s)\n", in.FetchDir)
	}
	if len(in.Searched) > 0 {
		fmt.Fprintf(w, "searched: %s\n", strings.Join(in.Searched, ", "))
	}
	fmt.Fprintf(w, "examples: %d train, %d test, %d×%d pixels\n", in.Train, in.Test, in.Image[0], in.Image[1])
	fmt.Fprintf(w, "classes:  %s\n", strings.Join(in.Classes, ", "))
	if len(in.Files) > 0 {
		fmt.Fprintln(w, "files:")
	}
	for _, f := range in.Files {
		match := "not a known data set's"
		if f.Matches != "" {
			match = "= " + f.Matches
		}
		fmt.Fprintf(w, "  %s\n      %s %v, %d bytes on disk, sha256 %s… (%s)\n", f.Path, f.Type, f.Dims, f.DiskSize, f.SHA256[:16], match)
	}
	for _, n := range in.Notes {
		fmt.Fprintf(w, "note:     %s\n", n)
	}
	if len(in.Sources) > 0 {
		fmt.Fprintf(w, "sources:  %s\n", strings.Join(in.Sources, "; "))
	}
}
