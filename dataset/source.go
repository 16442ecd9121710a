package dataset

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// A Source supplies the files of a dataset when they are not on disk yet.
type Source interface {
	// Open returns the content of the named file (a File.Name, without ".gz"),
	// gzip-compressed or plain, and where it came from (a path or URL) for
	// messages.
	Open(ctx context.Context, name string) (rc io.ReadCloser, where string, err error)
	// String names the source in logs and errors.
	String() string
}

// DirSource reads the files from a directory, as name.gz or name.
type DirSource struct {
	Dir string
}

// Open implements Source.
func (s *DirSource) Open(ctx context.Context, name string) (io.ReadCloser, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	var first error
	for _, n := range []string{name + ".gz", name} {
		p := filepath.Join(s.Dir, n)
		f, err := os.Open(p)
		if err == nil {
			return f, p, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, "", first
}

func (s *DirSource) String() string { return "directory " + s.Dir }

// HTTPSource downloads the files as URL + name + ".gz".
type HTTPSource struct {
	URL string // base URL, ending in "/"
	// Client is the HTTP client to use; nil means one with a 5-minute limit per
	// file and a 30-second limit on connecting and on waiting for headers.
	Client *http.Client
}

var defaultClient = &http.Client{
	Timeout: 5 * time.Minute,
	Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	},
}

// Open implements Source.
func (s *HTTPSource) Open(ctx context.Context, name string) (io.ReadCloser, string, error) {
	url := s.URL + name + ".gz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, url, err
	}
	c := s.Client
	if c == nil {
		c = defaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, url, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, url, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return resp.Body, url, nil
}

func (s *HTTPSource) String() string { return s.URL }

// GoModuleSource takes the files from a Go module, fetched with
// `go mod download` (through GOPROXY, into the module cache). The go command must
// be on PATH. Module cache files are read-only; they are copied, never moved.
type GoModuleSource struct {
	Module  string        // module path, e.g. GoMNISTModule
	Version string        // exact version
	Subdir  string        // directory inside the module holding the files
	Timeout time.Duration // for `go mod download`; 0 means 5 minutes

	mu  sync.Mutex
	dir string // resolved directory, once downloaded
}

// Open implements Source.
func (s *GoModuleSource) Open(ctx context.Context, name string) (io.ReadCloser, string, error) {
	dir, err := s.Dir(ctx)
	if err != nil {
		return nil, "", err
	}
	return (&DirSource{Dir: filepath.Join(dir, s.Subdir)}).Open(ctx, name)
}

func (s *GoModuleSource) String() string { return "Go module " + s.Module + "@" + s.Version }

// Dir runs `go mod download -json` once and returns the module's directory.
func (s *GoModuleSource) Dir(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir != "" {
		return s.dir, nil
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("the go command is not on PATH")
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// An empty directory, so that no go.mod or go.work around the caller's
	// working directory takes part.
	tmp, err := os.MkdirTemp("", "digitnet-gomod-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	mv := s.Module + "@" + s.Version
	cmd := exec.CommandContext(ctx, gobin, "mod", "download", "-json", mv)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var out struct{ Dir, Error string }
	if err := json.Unmarshal(stdout.Bytes(), &out); err == nil && out.Error != "" {
		return "", fmt.Errorf("go mod download %s: %s", mv, firstLine(out.Error))
	}
	if runErr != nil {
		if ctx.Err() != nil {
			runErr = ctx.Err()
		}
		msg := firstLine(strings.TrimSpace(stderr.String()))
		if msg == "" {
			return "", fmt.Errorf("go mod download %s: %w", mv, runErr)
		}
		return "", fmt.Errorf("go mod download %s: %w: %s", mv, runErr, msg)
	}
	if out.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no Dir in its output", mv)
	}
	s.dir = out.Dir
	return s.dir, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
