package dataset

import (
	"context"
	"path/filepath"
	"testing"
)

// realSpec returns the built-in spec of name restricted to its local source (the
// Go module cache, with GOPROXY=off, or the Debian directory), so that tests never
// touch the internet. It skips the test when that source is unavailable.
func realSpec(tb testing.TB, name string) *Spec {
	tb.Helper()
	spec, err := Lookup(name)
	if err != nil {
		tb.Fatal(err)
	}
	spec.Sources = spec.Sources[:1]
	if name == "mnist" {
		tb.Setenv("GOPROXY", "off") // the module cache only
	}
	if _, _, err := spec.Sources[0].Open(context.Background(), trainLabelsName); err != nil {
		tb.Skipf("%s unavailable: %v", spec.Sources[0], err)
	}
	return spec
}

// sourceDir returns the directory of a local source.
func sourceDir(tb testing.TB, src Source) string {
	switch s := src.(type) {
	case *DirSource:
		return s.Dir
	case *GoModuleSource:
		dir, err := s.Dir(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		return filepath.Join(dir, s.Subdir)
	}
	tb.Fatalf("no directory for %s", src)
	return ""
}

func TestReal(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		trainLabel, testLabel uint8
		class                 string
	}{
		{"mnist", 5, 7, "5"},
		{"fashion", 9, 9, "Ankle boot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := realSpec(t, tc.name)
			cache := t.TempDir()
			for _, opt := range []Options{
				{Spec: spec, CacheDir: cache, Getenv: noEnv},                                     // fetched into the cache, uncompressed
				{Spec: spec, CacheDir: cache, Getenv: noEnv},                                     // from the cache
				{Spec: spec, Dir: sourceDir(t, spec.Sources[0]), CacheDir: cache, Getenv: noEnv}, // the gzip files in place
			} {
				train, test, err := Load(context.Background(), opt)
				if err != nil {
					t.Fatalf("Load %s: %v", tc.name, err)
				}
				if train.N != 60000 || test.N != 10000 || len(train.Images) != 60000*784 || len(test.Labels) != 10000 {
					t.Errorf("Load %s: got N %d/%d, want 60000/10000", tc.name, train.N, test.N)
				}
				if train.Labels[0] != tc.trainLabel || test.Labels[0] != tc.testLabel {
					t.Errorf("Load %s: got first labels %d/%d, want %d/%d", tc.name, train.Labels[0], test.Labels[0], tc.trainLabel, tc.testLabel)
				}
				if got := train.Classes[train.Labels[0]]; got != tc.class {
					t.Errorf("Load %s: got first class %q, want %q", tc.name, got, tc.class)
				}
			}
			if dir, err := Verify(Options{Spec: spec, CacheDir: cache, Getenv: noEnv}); err != nil || dir != filepath.Join(cache, tc.name) {
				t.Errorf("Verify %s: got %q, %v, want %q, nil", tc.name, dir, err, filepath.Join(cache, tc.name))
			}
		})
	}
}

// BenchmarkLoad measures Load from the gzip files in place and from the
// uncompressed copies Fetch keeps in the cache.
func BenchmarkLoad(b *testing.B) {
	for _, name := range Names() {
		spec := realSpec(b, name)
		cache := b.TempDir()
		if _, err := Fetch(context.Background(), Options{Spec: spec, CacheDir: cache, Getenv: noEnv}); err != nil {
			b.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			opt  Options
		}{
			{name + "/gzip", Options{Spec: spec, Dir: sourceDir(b, spec.Sources[0]), CacheDir: cache, Getenv: noEnv}},
			{name + "/plain", Options{Spec: spec, CacheDir: cache, Getenv: noEnv}},
		} {
			b.Run(tc.name, func(b *testing.B) {
				for b.Loop() {
					if _, _, err := Load(context.Background(), tc.opt); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
