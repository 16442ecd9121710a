package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Peers runs the PyTorch scripts of ../shared/peers with Debian's python3.
type Peers struct {
	Dir    string // the peers directory
	Python string // interpreter with torch importable
}

// FindPeers looks for the peer scripts in dir, else $DIGITNET_PEERS, else ../shared/peers
// from the working directory and its parents, and checks that python3 imports torch. It
// returns the reason when they cannot run.
func FindPeers(dir string) (*Peers, error) {
	var candidates []string
	if dir != "" {
		candidates = append(candidates, dir)
	} else if env := os.Getenv("DIGITNET_PEERS"); env != "" {
		candidates = append(candidates, env)
	} else if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			candidates = append(candidates, filepath.Join(d, "..", "shared", "peers"))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	found := ""
	for _, c := range candidates {
		if _, err := os.Stat(filepath.Join(c, "torch_mlp.py")); err == nil {
			found = c
			break
		}
	}
	if found == "" {
		return nil, fmt.Errorf("bench: no peer scripts (torch_mlp.py) in %s", strings.Join(candidates, ", "))
	}
	py := "/usr/bin/python3"
	if out, err := exec.Command(py, "-c", "import torch, numpy").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("bench: %s cannot import torch (apt-get install python3-torch): %s", py, strings.TrimSpace(string(out)))
	}
	return &Peers{Dir: found, Python: py}, nil
}

// Run runs one script with OMP_WAIT_POLICY=passive (PyTorch's best setting on two cores)
// and returns the JSON object it prints last on stdout.
func (p *Peers) Run(ctx context.Context, script string, args ...string) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.Python, append([]string{filepath.Join(p.Dir, script)}, args...)...)
	cmd.Env = append(os.Environ(), "OMP_WAIT_POLICY=passive")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("bench: %s %s: %v: %s", script, strings.Join(args, " "), err, lastLine(errb.String()))
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(lastLine(out.String())), &res); err != nil {
		return nil, fmt.Errorf("bench: %s printed no JSON result: %v", script, err)
	}
	return res, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// Num reads a number from a peer's result by a path of keys, NaN-free: ok is false when
// it is missing or null.
func Num(m map[string]any, keys ...string) (float64, bool) {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return 0, false
		}
		v = mm[k]
	}
	f, ok := v.(float64)
	return f, ok
}

// PeakRSS runs a command and returns its peak resident memory in MiB.
func PeakRSS(ctx context.Context, name string, args ...string) (float64, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("bench: %s: %v: %s", name, err, lastLine(errb.String()))
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, fmt.Errorf("bench: no resource usage for %s", name)
	}
	return float64(ru.Maxrss) / 1024, nil // Linux reports KiB
}
