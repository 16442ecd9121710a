// Class folders: a user's own labelled images, a directory with one subdirectory per
// class, the layout torchvision's ImageFolder reads,
//
//	DIR/train/<class>/*.png|jpg|gif
//	DIR/test/<class>/*.png|jpg|gif
//
// Every image goes through the same preprocessing as `digitnet predict` (package digit),
// so the network trains on what it will later be shown.

package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/digitnet/digitnet/internal/digit"
)

// FolderName is the data-set name class-folder sets carry.
const FolderName = "folder"

var imageExts = []string{".png", ".jpg", ".jpeg", ".gif"}

// IsFolder reports whether dir has the class-folder layout (a train directory with
// subdirectories).
func IsFolder(dir string) bool {
	entries, err := os.ReadDir(filepath.Join(dir, "train"))
	if err != nil {
		return false
	}
	return slices.ContainsFunc(entries, func(e os.DirEntry) bool { return e.IsDir() })
}

// Skipped is an image that could not be used, and why.
type Skipped struct {
	File string
	Err  error
}

// LoadFolder reads both splits of a class-folder directory. Classes are the train subdirectory names, sorted; the test
// split may lack some but not add others. Unreadable images are reported to log by name
// and returned in skipped; an empty split or fewer than two classes is an error.
func LoadFolder(ctx context.Context, dir string, log io.Writer) (train, test *Set, skipped []Skipped, err error) {
	classes, err := classDirs(filepath.Join(dir, "train"))
	if err != nil {
		return nil, nil, nil, err
	}
	if len(classes) > 256 {
		return nil, nil, nil, fmt.Errorf("folder: %s: %d class folders, at most 256", filepath.Join(dir, "train"), len(classes))
	}
	if len(classes) < 2 {
		return nil, nil, nil, fmt.Errorf("folder: %s: %d class folder(s) %v, need at least 2", filepath.Join(dir, "train"), len(classes), classes)
	}
	testClasses, err := classDirs(filepath.Join(dir, "test"))
	if err != nil {
		return nil, nil, nil, err
	}
	for _, c := range testClasses {
		if !slices.Contains(classes, c) {
			return nil, nil, nil, fmt.Errorf("folder: %s has class %q, which %s lacks", filepath.Join(dir, "test"), c, filepath.Join(dir, "train"))
		}
	}
	train, s1, err := loadSplit(ctx, dir, "train", classes, log)
	if err != nil {
		return nil, nil, nil, err
	}
	test, s2, err := loadSplit(ctx, dir, "test", classes, log)
	if err != nil {
		return nil, nil, nil, err
	}
	return train, test, append(s1, s2...), nil
}

// LoadSplit reads one split ("train" or "test") of a class-folder directory with any
// number of classes, one or more: pictures to train on as outliers, say, whose class
// names only sort them. Unreadable images are reported as LoadFolder reports them.
func LoadSplit(ctx context.Context, dir, split string, log io.Writer) (*Set, []Skipped, error) {
	classes, err := classDirs(filepath.Join(dir, split))
	if err != nil {
		return nil, nil, err
	}
	if len(classes) == 0 || len(classes) > 256 {
		return nil, nil, fmt.Errorf("folder: %s: %d class folders, want 1 to 256", filepath.Join(dir, split), len(classes))
	}
	return loadSplit(ctx, dir, split, classes, log)
}

func classDirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("folder: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

type job struct {
	file  string
	label int
}

// interleave orders jobs (listed class by class) round-robin over the classes: the
// first image of each class, then the second of each, and so on. Read class by class,
// every prefix of the set held the first classes only, and whatever takes a prefix or
// a window of a set (--train-limit, --val, diagnose's probes) saw a few classes and was
// tested on others.
func interleave(jobs []job, classes int) []job {
	byClass := make([][]job, classes)
	for _, j := range jobs {
		byClass[j.label] = append(byClass[j.label], j)
	}
	out := make([]job, 0, len(jobs))
	for i := 0; len(out) < len(jobs); i++ {
		for _, js := range byClass {
			if i < len(js) {
				out = append(out, js[i])
			}
		}
	}
	return out
}

func loadSplit(ctx context.Context, dir, split string, classes []string, log io.Writer) (*Set, []Skipped, error) {
	var jobs []job
	for k, c := range classes {
		entries, err := os.ReadDir(filepath.Join(dir, split, c))
		if errors.Is(err, os.ErrNotExist) && split == "test" {
			continue
		} else if err != nil {
			return nil, nil, fmt.Errorf("folder: %w", err)
		}
		for _, e := range entries {
			if !e.IsDir() && slices.Contains(imageExts, strings.ToLower(filepath.Ext(e.Name()))) {
				jobs = append(jobs, job{filepath.Join(dir, split, c, e.Name()), k})
			}
		}
	}
	if len(jobs) == 0 {
		return nil, nil, fmt.Errorf("folder: %s: no %s images in its class folders", filepath.Join(dir, split), strings.Join(imageExts, "/"))
	}
	jobs = interleave(jobs, len(classes))
	pixels := make([][]uint8, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				pixels[i], errs[i] = readImage(jobs[i].file)
			}
		}()
	}
	for i := range jobs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	set := &Set{Name: FolderName, Split: split, Rows: 28, Cols: 28, Classes: classes}
	var skipped []Skipped
	for i, j := range jobs {
		if errs[i] != nil {
			skipped = append(skipped, Skipped{j.file, errs[i]})
			if log != nil {
				fmt.Fprintf(log, "folder: skipping %s: %v\n", j.file, errs[i])
			}
			continue
		}
		set.Images = append(set.Images, pixels[i]...)
		set.Labels = append(set.Labels, uint8(j.label))
	}
	set.N = len(set.Labels)
	if set.N == 0 {
		return nil, skipped, fmt.Errorf("folder: %s: none of its %d images could be read", filepath.Join(dir, split), len(jobs))
	}
	if log != nil && len(skipped) > 0 {
		fmt.Fprintf(log, "folder: %s: skipped %d of %d images\n", split, len(skipped), len(jobs))
	}
	return set, skipped, nil
}

func readImage(file string) ([]uint8, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := digit.Decode(f, digit.DefaultLimits)
	if err != nil {
		return nil, err
	}
	return digit.Preprocess(img)
}
