//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/digitnet/digitnet/dataset"
	"github.com/digitnet/digitnet/internal/model"
)

// envFileLimit makes the test binary a wrapper: with it set, the binary limits the size
// of every file it may write (RLIMIT_FSIZE, inherited) and executes its arguments. A
// write past the limit fails with EFBIG, as a write to a full disk fails with ENOSPC:
// part of the file is written, then an error.
const envFileLimit = "DIGITNET_TEST_FILE_LIMIT"

func init() {
	limit := os.Getenv(envFileLimit)
	if limit == "" {
		return
	}
	n, err := strconv.ParseUint(limit, 10, 64)
	if err == nil {
		err = syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: n, Max: n})
	}
	if err == nil {
		os.Unsetenv(envFileLimit)
		err = syscall.Exec(os.Args[1], os.Args[1:], os.Environ())
	}
	fmt.Fprintf(os.Stderr, "file-limit wrapper: %v\n", err)
	os.Exit(99)
}

// withFileLimit is cmd run through the wrapper with files limited to limit bytes.
func withFileLimit(cmd *exec.Cmd, limit int) *exec.Cmd {
	cmd.Args = append([]string{os.Args[0]}, cmd.Args...)
	cmd.Path = os.Args[0]
	cmd.Args[1] = mustAbs(cmd.Args[1])
	cmd.Env = append(cmd.Environ(), envFileLimit+"="+strconv.Itoa(limit))
	return cmd
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return a
}

// snapshot is a directory's files and their contents.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		files[strings.TrimPrefix(p, dir)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// oneLineError checks a failed command's outcome: exit status 1, one line on stderr
// that starts with "digitnet train: " and holds each of want, and no panic.
func oneLineError(t *testing.T, err error, stderr string, want ...string) {
	t.Helper()
	ee, ok := err.(*exec.ExitError)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if !ok || ee.ExitCode() != 1 || !strings.HasPrefix(last, "digitnet train: ") || strings.Contains(stderr, "panic") {
		t.Fatalf("exit %v; stderr:\n%s\nwant exit status 1 and a one-line error", err, stderr)
	}
	for _, w := range want {
		if !strings.Contains(last, w) {
			t.Errorf("error %q does not contain %q", last, w)
		}
	}
}

// TestFullDiskKeepsPreviousFiles: when the disk fills while the model (--out), a
// checkpoint or the report is written, train fails with a one-line error naming what it
// was writing, the file that was there before is intact, and no temporary file is left.
func TestFullDiskKeepsPreviousFiles(t *testing.T) {
	t.Parallel() // processes of their own, on one thread (see oneThread)
	needMNIST(t)
	bin := buildDigitnet(t)
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp") // TMPDIR, where --out's rescue goes
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	base := oneThread([]string{"train", "--layers", "784,64,10", "--train-limit", "2000", "--test-limit", "500", "--epochs", "2", "--progress", "none"})
	// The previous outputs: what a full disk must not damage.
	out, ck, rep := filepath.Join(dir, "m.safetensors"), filepath.Join(dir, "ck"), filepath.Join(dir, "report")
	if o, err := exec.Command(bin, append(base, "--out", out, "--checkpoint", ck, "--report", rep)...).CombinedOutput(); err != nil {
		t.Fatalf("first run: %v\n%s", err, o)
	}
	// The model is 784·64·4 ≈ 200 kB; 100 kB lets the small files through and cuts it.
	const limit = 100 << 10
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"out", []string{"--out", out}, []string{"--out " + out, "file too large"}},
		{"checkpoint", []string{"--checkpoint", ck}, []string{"--checkpoint " + ck, "file too large"}},
		{"report", []string{"--layers", "784,16,10", "--report", rep}, []string{"--report " + rep, "file too large"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := snapshot(t, dir)
			cmd := withFileLimit(exec.Command(bin, append(base, c.args...)...), limit)
			cmd.Env = append(cmd.Env, "TMPDIR="+tmp)
			var stderr bytes.Buffer
			cmd.Stderr, cmd.Stdout = &stderr, io.Discard
			err := cmd.Run()
			oneLineError(t, err, stderr.String(), c.want...)
			after := snapshot(t, dir)
			for name, b := range before {
				if after[name] != b {
					t.Errorf("%s changed", name)
				}
			}
			for name := range after {
				if _, ok := before[name]; !ok {
					t.Errorf("%s left behind", name)
				}
			}
		})
	}
	if _, err := model.Load(out); err != nil {
		t.Errorf("the previous model no longer loads: %v", err)
	}
}

// TestReadOnlyOutputFailsBeforeTraining: an output directory that cannot be written is
// reported before any training, in one line naming the flag; the file there stays.
func TestReadOnlyOutputFailsBeforeTraining(t *testing.T) {
	t.Parallel() // processes of their own
	needMNIST(t)
	bin := buildDigitnet(t)
	// The files the run needs must be readable by whoever it runs as: as root, the test
	// runs digitnet as an unprivileged user (root writes anywhere), so the binary and the
	// data are copied where that user can read them.
	shared := t.TempDir()
	os.Chmod(shared, 0o755)
	os.Chmod(filepath.Dir(shared), 0o755) // the test's temporary root
	info, err := dataset.Stat(dataset.Options{Dataset: "mnist"})
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(shared, "data")
	copyFile(t, bin, filepath.Join(shared, "digitnet"), 0o755)
	for _, f := range info.Files {
		copyFile(t, f.Path, filepath.Join(data, filepath.Base(f.Path)), 0o644)
	}
	ro := filepath.Join(shared, "readonly")
	if err := os.Mkdir(ro, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(ro, "m.safetensors")
	copyFile(t, filepath.Join(data, filepath.Base(info.Files[0].Path)), out, 0o644) // something to keep
	before := snapshot(t, ro)
	os.Chmod(ro, 0o555)
	defer os.Chmod(ro, 0o755)

	for _, flag := range []string{"--out", "--checkpoint", "--report", "--history"} {
		t.Run(flag, func(t *testing.T) {
			target := out
			switch flag {
			case "--checkpoint", "--report":
				target = filepath.Join(ro, "dir")
			case "--history":
				target = filepath.Join(ro, "h.json")
			}
			cmd := exec.Command(filepath.Join(shared, "digitnet"), "train", "--data", data, "--epochs", "1", "--progress", "none", flag, target)
			cmd.Env = append(os.Environ(), "HOME="+shared)
			if os.Getuid() == 0 {
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			oneLineError(t, err, stderr.String(), flag+" "+target, "permission denied")
			if strings.Contains(stdout.String(), "epoch 1/") {
				t.Errorf("it trained before finding the output unwritable:\n%s", stdout.String())
			}
			if after := snapshot(t, ro); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("the read-only directory changed")
			}
		})
	}
}

func copyFile(t *testing.T, from, to string, perm os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(to), 0o755)
	}
	if err == nil {
		err = os.WriteFile(to, b, perm)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestCheckpointVersions: a version-1 checkpoint (no version key, as digitnet wrote
// them before partial epochs) resumes; a newer version is refused by a message that
// names it.
func TestCheckpointVersions(t *testing.T) {
	needMNIST(t)
	dir := t.TempDir()
	code, _, errOut := digitnet("train", "--train-limit", "1000", "--test-limit", "500", "--epochs", "2", "--progress", "none", "--checkpoint", dir)
	if code != 0 {
		t.Fatalf("train: %s", errOut)
	}
	path := filepath.Join(dir, checkpointFile)
	rewrite := func(edit func(map[string]any)) {
		t.Helper()
		ck, err := model.LoadCheckpoint(path)
		if err != nil {
			t.Fatal(err)
		}
		var st map[string]any
		if err := json.Unmarshal(ck.State, &st); err != nil {
			t.Fatal(err)
		}
		edit(st)
		if ck.State, err = json.Marshal(st); err != nil {
			t.Fatal(err)
		}
		if err := model.SaveCheckpoint(path, ck); err != nil {
			t.Fatal(err)
		}
	}
	rewrite(func(st map[string]any) {
		delete(st, "version")
		cfg := st["config"].(map[string]any)
		delete(cfg, "conv") // not recorded before state version 4
		delete(cfg, "precision")
	})
	code, out, errOut := digitnet("train", "--resume", dir, "--epochs", "3", "--progress", "none")
	if code != 2 || !strings.Contains(errOut, "--epochs 3 differs") {
		// --epochs is part of the run; the point is that the file was read.
		t.Errorf("resume of a version-1 checkpoint: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = digitnet("train", "--resume", dir, "--progress", "none", "--conv", "portable")
	if code != 0 || !strings.Contains(out, "resuming from") {
		t.Errorf("resume of a version-1 checkpoint, the convolutions' algorithm from the flag: exit %d\n%s%s", code, out, errOut)
	}
	rewrite(func(st map[string]any) { st["version"] = 9 })
	code, _, errOut = digitnet("train", "--resume", dir, "--progress", "none")
	if code != 1 || !strings.Contains(errOut, "state version 9, this digitnet reads versions 1 to 4") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("resume of a version-9 checkpoint: exit %d, %q; want one line naming version 9", code, errOut)
	}
}
