package dataset

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/digitnet/digitnet/idx"
)

// tiny is a synthetic dataset: 7 training and 3 test images of 28x28.
type tiny struct {
	spec  *Spec
	plain map[string][]byte // file name -> uncompressed IDX bytes
}

func encode(t testing.TB, a *idx.Array) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := idx.Encode(&buf, a); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// newTiny makes a tiny dataset named name whose image pixels start at seed.
func newTiny(t testing.TB, name string, seed byte, sources ...Source) *tiny {
	t.Helper()
	d := &tiny{plain: map[string][]byte{}}
	files := make([]File, 4)
	for i, n := range []int{7, 3} {
		img := &idx.Array{Type: idx.Uint8, Dims: []int{n, Rows, Cols}, Data: make([]byte, n*Rows*Cols)}
		for j := range img.Data {
			img.Data[j] = seed + byte(j*(i+1))
		}
		lbl := &idx.Array{Type: idx.Uint8, Dims: []int{n}, Data: make([]byte, n)}
		for j := range lbl.Data {
			lbl.Data[j] = byte(j+i) % 10
		}
		for k, a := range []*idx.Array{img, lbl} {
			raw := encode(t, a)
			f := File{Name: []string{trainImagesName, trainLabelsName, testImagesName, testLabelsName}[2*i+k], SHA256: sum(raw), Size: int64(len(raw))}
			files[2*i+k] = f
			d.plain[f.Name] = raw
		}
	}
	d.spec = &Spec{
		Name:        name,
		Classes:     []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
		TrainImages: files[0], TrainLabels: files[1], TestImages: files[2], TestLabels: files[3],
		Sources: sources,
	}
	return d
}

// write puts the dataset's files into dir, gzip-compressed when compress is set.
func (d *tiny) write(t testing.TB, dir string, compress bool) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, raw := range d.plain {
		if compress {
			name, raw = name+".gz", gz(raw)
		}
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// server serves files by path and counts requests.
type server struct {
	*httptest.Server
	files    map[string][]byte
	requests atomic.Int64
}

func newServer(t testing.TB, files map[string][]byte) *server {
	s := &server{files: files}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		b, ok := s.files[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(s.Close)
	return s
}

// gzFiles returns the dataset's files gzip-compressed, keyed by name.gz.
func (d *tiny) gzFiles() map[string][]byte {
	m := map[string][]byte{}
	for name, raw := range d.plain {
		m[name+".gz"] = gz(raw)
	}
	return m
}

func noEnv(string) string { return "" }

func dirEntries(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func checkSets(t *testing.T, d *tiny, train, test *Set) {
	t.Helper()
	for _, tc := range []struct {
		set            *Set
		split          string
		images, labels string
	}{
		{train, "train", trainImagesName, trainLabelsName},
		{test, "test", testImagesName, testLabelsName},
	} {
		s := tc.set
		want := d.plain[tc.images][16:]
		if s.Name != d.spec.Name || s.Split != tc.split || s.N != len(want)/(Rows*Cols) || s.Rows != Rows || s.Cols != Cols {
			t.Errorf("%s set: got %s/%s N=%d %dx%d, want %s/%s N=%d 28x28", tc.split, s.Name, s.Split, s.N, s.Rows, s.Cols, d.spec.Name, tc.split, len(want)/784)
		}
		if !bytes.Equal(s.Images, want) || !bytes.Equal(s.Labels, d.plain[tc.labels][8:]) {
			t.Errorf("%s set: images or labels differ from the files", tc.split)
		}
		if len(s.Classes) != 10 {
			t.Errorf("%s set: got %d classes, want 10", tc.split, len(s.Classes))
		}
	}
}

func TestLocateOrder(t *testing.T) {
	d := newTiny(t, "tiny", 1)
	for _, tc := range []struct {
		name     string
		dir, env bool     // whether Options.Dir and $DIGITNET_DATA are set
		put      []string // where the files are, relative to the temp root; "-3" suffix: only 3 of 4
		want     string   // directory found, relative; "" when none
		fetchDir string   // relative
	}{
		{"dir itself", true, true, []string{"dir", "env", "cache/tiny"}, "dir", "dir/tiny"},
		{"dir/name", true, true, []string{"dir/tiny", "env", "cache/tiny"}, "dir/tiny", "dir/tiny"},
		{"dir before dir/name", true, false, []string{"dir", "dir/tiny"}, "dir", "dir/tiny"},
		{"env when dir is empty", true, true, []string{"env", "cache/tiny"}, "env", "dir/tiny"},
		{"env/name", false, true, []string{"env/tiny", "cache/tiny"}, "env/tiny", "env/tiny"},
		{"cache last", true, true, []string{"cache/tiny"}, "cache/tiny", "dir/tiny"},
		{"cache without dir or env", false, false, []string{"cache/tiny"}, "cache/tiny", "cache/tiny"},
		{"incomplete dir skipped", true, false, []string{"dir-3", "cache/tiny"}, "cache/tiny", "dir/tiny"},
		{"gzip and plain mixed", false, true, []string{"env-mixed"}, "env", "env/tiny"},
		{"nowhere", true, true, nil, "", "dir/tiny"},
		{"nowhere, env only", false, true, nil, "", "env/tiny"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for _, p := range tc.put {
				switch {
				case strings.HasSuffix(p, "-3"):
					dir := filepath.Join(root, strings.TrimSuffix(p, "-3"))
					d.write(t, dir, false)
					os.Remove(filepath.Join(dir, testLabelsName))
				case strings.HasSuffix(p, "-mixed"):
					dir := filepath.Join(root, strings.TrimSuffix(p, "-mixed"))
					d.write(t, dir, true)
					os.Remove(filepath.Join(dir, trainImagesName+".gz"))
					os.WriteFile(filepath.Join(dir, trainImagesName), d.plain[trainImagesName], 0o644)
				default:
					d.write(t, filepath.Join(root, p), true)
				}
			}
			opt := Options{Spec: d.spec, CacheDir: filepath.Join(root, "cache"), Getenv: noEnv}
			if tc.dir {
				opt.Dir = filepath.Join(root, "dir")
			}
			if tc.env {
				env := filepath.Join(root, "env")
				opt.Getenv = func(k string) string {
					if k == EnvData {
						return env
					}
					return ""
				}
			}
			info, err := Stat(opt)
			if err != nil {
				t.Fatalf("Stat: %v", err)
			}
			want := ""
			if tc.want != "" {
				want = filepath.Join(root, tc.want)
			}
			if info.Dir != want {
				t.Errorf("Stat(%+v).Dir: got %q, want %q", tc.put, info.Dir, want)
			}
			if got, want := info.FetchDir, filepath.Join(root, tc.fetchDir); got != want {
				t.Errorf("Stat(%+v).FetchDir: got %q, want %q", tc.put, got, want)
			}
			if tc.want == "" {
				return
			}
			train, test, err := Load(context.Background(), opt)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			checkSets(t, d, train, test)
		})
	}
}

func TestFetchHTTP(t *testing.T) {
	d := newTiny(t, "tiny", 2)
	srv := newServer(t, d.gzFiles())
	d.spec.Sources = []Source{&HTTPSource{URL: srv.URL + "/"}}
	cache := t.TempDir()
	var log bytes.Buffer
	opt := Options{Spec: d.spec, CacheDir: cache, Getenv: noEnv, Log: &log}
	train, test, err := Load(context.Background(), opt)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	checkSets(t, d, train, test)
	if got := srv.requests.Load(); got != 4 {
		t.Errorf("requests: got %d, want 4", got)
	}
	if !strings.Contains(log.String(), "fetching tiny from "+srv.URL) {
		t.Errorf("log: got %q, want a line about fetching from %s", log.String(), srv.URL)
	}
	// The files are stored uncompressed, verified, with nothing else beside them.
	dir := filepath.Join(cache, "tiny")
	want := []string{testImagesName, testLabelsName, trainImagesName, trainLabelsName}
	if got := dirEntries(t, dir); !slices.Equal(got, want) {
		t.Errorf("cache %s: got %v, want %v", dir, got, want)
	}
	for name, raw := range d.plain {
		if got, _ := os.ReadFile(filepath.Join(dir, name)); !bytes.Equal(got, raw) {
			t.Errorf("cached %s differs from the served content", name)
		}
	}
	// Loading again and fetching again use the cache.
	if _, _, err := Load(context.Background(), opt); err != nil {
		t.Fatalf("second Load: %v", err)
	}
	if got, err := Fetch(context.Background(), opt); err != nil || got != dir {
		t.Errorf("Fetch: got %q, %v, want %q, nil", got, err, dir)
	}
	if got, err := Verify(opt); err != nil || got != dir {
		t.Errorf("Verify: got %q, %v, want %q, nil", got, err, dir)
	}
	if got := srv.requests.Load(); got != 4 {
		t.Errorf("requests after loading from the cache: got %d, want 4", got)
	}
}

func TestFetchChecksumMismatch(t *testing.T) {
	d := newTiny(t, "tiny", 3)
	other := newTiny(t, "tiny", 4) // same shapes, other pixels
	files := d.gzFiles()
	files[trainImagesName+".gz"] = gz(other.plain[trainImagesName])
	srv := newServer(t, files)
	d.spec.Sources = []Source{&HTTPSource{URL: srv.URL + "/"}}
	cache := t.TempDir()
	dir, err := Fetch(context.Background(), Options{Spec: d.spec, CacheDir: cache, Getenv: noEnv})
	if err == nil {
		t.Fatalf("Fetch of a corrupted file: got dir %q, want an error", dir)
	}
	var ce *ChecksumError
	if !errors.As(err, &ce) {
		t.Fatalf("Fetch of a corrupted file: got %v, want a *ChecksumError", err)
	}
	url := srv.URL + "/" + trainImagesName + ".gz"
	gotSum, wantSum := sum(other.plain[trainImagesName]), d.spec.TrainImages.SHA256
	if ce.File != url || ce.Got != gotSum || ce.Want != wantSum {
		t.Errorf("ChecksumError: got %+v, want File %s Got %s Want %s", ce, url, gotSum, wantSum)
	}
	for _, s := range []string{url, gotSum, wantSum} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
	// Nothing of the bad file is left behind.
	for _, name := range dirEntries(t, filepath.Join(cache, "tiny")) {
		if strings.Contains(name, trainImagesName) {
			t.Errorf("cache holds %s after a failed fetch", name)
		}
	}
}

func TestLoadChecksumMismatchOnDisk(t *testing.T) {
	d := newTiny(t, "tiny", 5)
	other := newTiny(t, "tiny", 6)
	for _, compress := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "data")
		d.write(t, dir, compress)
		name := testImagesName
		raw := other.plain[name]
		if compress {
			name, raw = name+".gz", gz(raw)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		opt := Options{Spec: d.spec, Dir: dir, CacheDir: t.TempDir(), Getenv: noEnv}
		gotSum, wantSum := sum(other.plain[testImagesName]), d.spec.TestImages.SHA256
		_, _, err := Load(context.Background(), opt)
		var ce *ChecksumError
		if !errors.As(err, &ce) || ce.File != path || ce.Got != gotSum || ce.Want != wantSum {
			t.Errorf("Load with a tampered %s: got %v, want a ChecksumError naming it, %s and %s", name, err, gotSum, wantSum)
		}
		if _, err := Verify(opt); !errors.As(err, &ce) || ce.File != path {
			t.Errorf("Verify with a tampered %s: got %v, want a ChecksumError naming it", name, err)
		}
	}
}

// TestFetchAtomic cuts a download short: no partial file may remain.
func TestFetchAtomic(t *testing.T) {
	d := newTiny(t, "tiny", 7)
	files := d.gzFiles()
	b := files[trainImagesName+".gz"]
	files[trainImagesName+".gz"] = b[:len(b)/2]
	// A server that promises more than it sends.
	short := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.Write(gz(d.plain[testImagesName])[:100])
	}))
	defer short.Close()
	for _, src := range []Source{
		&HTTPSource{URL: newServer(t, files).URL + "/"},
		&HTTPSource{URL: short.URL + "/"},
	} {
		d.spec.Sources = []Source{src}
		cache := t.TempDir()
		_, err := Fetch(context.Background(), Options{Spec: d.spec, CacheDir: cache, Getenv: noEnv})
		var fe *FetchError
		if !errors.As(err, &fe) {
			t.Fatalf("Fetch from %s: got %v, want a *FetchError", src, err)
		}
		for _, name := range dirEntries(t, filepath.Join(cache, "tiny")) {
			if strings.HasPrefix(name, ".") {
				t.Errorf("Fetch from %s left temporary file %s", src, name)
			}
		}
		if _, err := Verify(Options{Spec: d.spec, CacheDir: cache, Getenv: noEnv}); !errors.Is(err, ErrNotFound) {
			t.Errorf("Verify after a failed fetch from %s: got %v, want ErrNotFound", src, err)
		}
	}
}

func TestFetchFallThrough(t *testing.T) {
	d := newTiny(t, "tiny", 8)
	good := newServer(t, d.gzFiles())
	empty := newServer(t, nil)
	half := d.gzFiles() // has two of the files
	delete(half, testImagesName+".gz")
	delete(half, testLabelsName+".gz")
	partial := newServer(t, half)
	missingDir := filepath.Join(t.TempDir(), "missing")
	d.spec.Sources = []Source{
		&HTTPSource{URL: empty.URL + "/"},
		&DirSource{Dir: missingDir},
		&HTTPSource{URL: partial.URL + "/"},
		&HTTPSource{URL: good.URL + "/"},
	}
	var log bytes.Buffer
	train, test, err := Load(context.Background(), Options{Spec: d.spec, CacheDir: t.TempDir(), Getenv: noEnv, Log: &log})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	checkSets(t, d, train, test)
	// The partial source supplied two files, the good one only the other two.
	if got := good.requests.Load(); got != 2 {
		t.Errorf("requests to the last source: got %d, want 2", got)
	}
	for _, want := range []string{empty.URL + "/ failed: GET", "directory " + missingDir + " failed", partial.URL + "/ failed: GET"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log %q does not contain %q", log.String(), want)
		}
	}
}

func TestFetchAllSourcesFail(t *testing.T) {
	d := newTiny(t, "tiny", 9)
	bad := d.gzFiles()
	bad[trainLabelsName+".gz"] = gz(newTiny(t, "tiny", 10).plain[trainImagesName])
	badSrv := newServer(t, bad)
	empty := newServer(t, nil)
	missingDir := filepath.Join(t.TempDir(), "missing")
	d.spec.Sources = []Source{
		&HTTPSource{URL: empty.URL + "/"},
		&DirSource{Dir: missingDir},
		&HTTPSource{URL: badSrv.URL + "/"},
	}
	cache := t.TempDir()
	_, _, err := Load(context.Background(), Options{Spec: d.spec, CacheDir: cache, Getenv: noEnv})
	var fe *FetchError
	if !errors.As(err, &fe) {
		t.Fatalf("Load: got %v, want a *FetchError", err)
	}
	if len(fe.Sources) != 3 {
		t.Errorf("FetchError lists %d sources, want 3: %v", len(fe.Sources), err)
	}
	msg := err.Error()
	for _, want := range []string{
		"dataset: cannot fetch tiny into " + filepath.Join(cache, "tiny"),
		empty.URL + "/: GET " + empty.URL + "/" + trainImagesName + ".gz: 404 Not Found",
		"directory " + missingDir + ": open " + filepath.Join(missingDir, trainImagesName+".gz") + ": no such file or directory",
		badSrv.URL + "/: " + badSrv.URL + "/" + trainLabelsName + ".gz: uncompressed content is longer than 15 bytes",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error\n%s\ndoes not contain\n%s", msg, want)
		}
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("errors.Is(%v, os.ErrNotExist): got false, want true", err)
	}
	// With no sources at all the error says so.
	d.spec.Sources = nil
	if _, err := Fetch(context.Background(), Options{Spec: d.spec, CacheDir: t.TempDir(), Getenv: noEnv}); err == nil || !strings.Contains(err.Error(), "no sources") {
		t.Errorf("Fetch without sources: got %v, want an error saying so", err)
	}
}

func TestFetchCanceled(t *testing.T) {
	d := newTiny(t, "tiny", 11)
	srv := newServer(t, d.gzFiles())
	d.spec.Sources = []Source{&HTTPSource{URL: srv.URL + "/"}, &HTTPSource{URL: srv.URL + "/"}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Fetch(ctx, Options{Spec: d.spec, CacheDir: t.TempDir(), Getenv: noEnv})
	var fe *FetchError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &fe) || len(fe.Sources) != 1 {
		t.Errorf("Fetch with a canceled context: got %v, want one context.Canceled source error", err)
	}
}

func TestBadFiles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(d *tiny)
		file   string // the file the error must name
		want   string
	}{
		{"label out of range", func(d *tiny) {
			raw := slices.Clone(d.plain[trainLabelsName])
			raw[8+4] = 10
			d.plain[trainLabelsName] = raw
		}, trainLabelsName, "label 4 is 10, want < 10"},
		{"count mismatch", func(d *tiny) {
			d.plain[testLabelsName] = encode(t, &idx.Array{Type: idx.Uint8, Dims: []int{2}, Data: []byte{1, 2}})
		}, testLabelsName, "has 3 images but"},
		{"images not 28x28", func(d *tiny) {
			d.plain[testImagesName] = encode(t, &idx.Array{Type: idx.Uint8, Dims: []int{3, 28, 27}, Data: make([]byte, 3*28*27)})
		}, testImagesName, "images are uint8 [3 28 27], want uint8 [N 28 28]"},
		{"labels rank 2", func(d *tiny) {
			d.plain[trainLabelsName] = encode(t, &idx.Array{Type: idx.Uint8, Dims: []int{7, 1}, Data: make([]byte, 7)})
		}, trainLabelsName, "labels are uint8 [7 1], want uint8 [N]"},
		{"truncated", func(d *tiny) {
			d.plain[trainImagesName] = d.plain[trainImagesName][:1000]
		}, trainImagesName, "offset 1000: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newTiny(t, "tiny", 12)
			tc.change(d)
			// Record the changed files' hashes, so that only the check under test fails.
			files := []*File{&d.spec.TrainImages, &d.spec.TrainLabels, &d.spec.TestImages, &d.spec.TestLabels}
			for _, f := range files {
				f.SHA256, f.Size = sum(d.plain[f.Name]), int64(len(d.plain[f.Name]))
			}
			if tc.name == "truncated" {
				d.spec.TrainImages.Size = 16 + 7*784 // the header's claim
			}
			dir := t.TempDir()
			d.write(t, dir, true)
			_, _, err := Load(context.Background(), Options{Spec: d.spec, Dir: dir, CacheDir: t.TempDir(), Getenv: noEnv})
			if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, tc.file)) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load: got %v, want an error naming %s and saying %q", err, tc.file, tc.want)
			}
		})
	}
}

func TestUnknownDataset(t *testing.T) {
	_, _, err := Load(context.Background(), Options{Dataset: "cifar"})
	if err == nil || !strings.Contains(err.Error(), `"cifar"`) || !strings.Contains(err.Error(), "mnist, fashion") {
		t.Errorf("Load of cifar: got %v, want an error listing mnist, fashion", err)
	}
	for _, name := range append(Names(), "") {
		spec, err := Lookup(name)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", name, err)
		}
		if err := spec.check(); err != nil {
			t.Errorf("Lookup(%q): %v", name, err)
		}
	}
}

func TestGoModuleSourceWithoutGo(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	src := &GoModuleSource{Module: GoMNISTModule, Version: GoMNISTVersion, Subdir: "data"}
	_, _, err := src.Open(context.Background(), trainImagesName)
	if err == nil || !strings.Contains(err.Error(), "go command is not on PATH") {
		t.Errorf("Open without go on PATH: got %v, want an error saying so", err)
	}
}

func TestHasher(t *testing.T) {
	data := make([]byte, 3*hashBufLen+12345)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for _, chunk := range []int{1, 1000, hashBufLen, hashBufLen + 1, len(data)} {
		h := newHasher()
		for p := data; len(p) > 0; {
			n := min(chunk, len(p))
			h.Write(p[:n])
			p = p[n:]
		}
		if got, want := h.Sum(), sum(data); got != want {
			t.Errorf("hasher with %d-byte writes: got %s, want %s", chunk, got, want)
		}
	}
}

func ExampleNames() {
	for _, name := range Names() {
		spec, _ := Lookup(name)
		fmt.Println(name, spec.Classes[0], spec.Classes[9])
	}
	// Output:
	// mnist 0 9
	// fashion T-shirt/top Ankle boot
}

func TestInterleave(t *testing.T) {
	mk := func(name string, labels ...uint8) *Set {
		s := &Set{Name: name, N: len(labels), Rows: 1, Cols: 1, Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, Labels: labels}
		for _, l := range labels {
			s.Images = append(s.Images, 100+l)
		}
		return s
	}
	a, b := mk("a", 0, 0, 0, 0, 0, 0), mk("b", 1, 2, 3)
	got, err := Interleave(a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := []uint8{0, 0, 1, 0, 0, 2, 0, 0, 3}
	if !slices.Equal(got.Labels, want) || got.N != 9 || got.Name != "a" {
		t.Fatalf("labels %v (N %d), want %v", got.Labels, got.N, want)
	}
	for i, l := range got.Labels {
		if got.Image(i)[0] != 100+l {
			t.Fatalf("image %d does not follow its label", i)
		}
	}
	b.Classes = b.Classes[:5]
	if _, err := Interleave(a, b); err == nil {
		t.Fatal("sets with different classes interleaved")
	}
}
