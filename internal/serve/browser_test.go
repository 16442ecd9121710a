package serve

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/digitnet/digitnet/internal/pretrained"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// findChromium returns the browser, installing Debian's chromium when it is missing and
// the test runs as root. Otherwise the test is skipped, with the reason, or fails when
// CI=true: in CI the browser test must run.
func findChromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err == nil {
		return chromiumPath
	}
	var why string
	if os.Geteuid() == 0 {
		t.Logf("%s missing: apt-get install -y chromium", chromiumPath)
		install := func() error {
			cmd := exec.Command("apt-get", "install", "-y", "-q", "chromium")
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			out, err := cmd.CombinedOutput()
			if err != nil {
				return fmt.Errorf("%v: %s", err, out[max(0, len(out)-2000):])
			}
			return nil
		}
		err := install()
		if err != nil { // perhaps the package lists are stale or absent
			if out, uerr := exec.Command("apt-get", "update", "-q").CombinedOutput(); uerr != nil {
				err = fmt.Errorf("%w; apt-get update: %v: %s", err, uerr, out)
			} else {
				err = install()
			}
		}
		if err == nil {
			if _, err := os.Stat(chromiumPath); err == nil {
				return chromiumPath
			}
			why = "apt-get installed chromium but " + chromiumPath + " is still missing"
		} else {
			why = "installing chromium failed: " + err.Error()
		}
	} else {
		why = chromiumPath + " is missing and the test is not root, so it cannot apt-get install chromium"
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("browser test: %s (CI=true: the browser test must run)", why)
	}
	t.Skipf("browser test skipped: %s (install Debian's chromium to run it)", why)
	return ""
}

// artifactDir is $DIGITNET_ARTIFACTS, or a directory of the test's own.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("DIGITNET_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBrowserDrawing draws digits on the page in headless Chromium with real input
// events (a 1 with the mouse, a 7 with a finger) and checks the prediction the page
// shows. The server is this package's handler on a real http.Server on 127.0.0.1:0,
// in the test process: a separate process boundary from the browser's side, exactly
// what `digitnet serve` runs (cmd/digitnet/serve.go only adds flags and signals, and
// building the binary here would depend on main.go registering the command).
// Screenshots go to $DIGITNET_ARTIFACTS (or a temporary directory); their paths are
// logged.
func TestBrowserDrawing(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	browser := findChromium(t)
	start := time.Now()
	SingleThreadedProducts()
	// The page with the model digitnet ships, as `digitnet serve` runs it by default.
	s, err := New(pretrained.Ensemble, Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srvCtx, stopServer := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(srvCtx, ln) }()
	defer func() {
		stopServer()
		if err := <-served; err != nil {
			t.Error(err)
		}
	}()
	origin := "http://" + ln.Addr().String()

	// No deadline: on a cold, busy machine Chromium may take long to start; every wait
	// below is for an event (the page, the model's name, the prediction), and a hang is
	// go test's -timeout to catch.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(browser),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(960, 640),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	if err := chromedp.Do(bctx,
		chromedp.EmulateViewport(960, 600),
		chromedp.Navigate(origin+"/"),
		chromedp.WaitVisible(chromedp.ID("pad")),
	); err != nil {
		t.Fatalf("loading the page: %v", err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[string](`document.getElementById("model").textContent`, chromedp.WithPollingTimeout(0))); err != nil {
		t.Fatalf("the page did not show the model: %v", err)
	}
	t.Logf("browser up and page loaded in %v", time.Since(start).Round(time.Millisecond))
	dir := artifactDir(t)

	box, err := chromedp.Run(bctx, chromedp.Evaluate[[]float64](`(() => {
		const p = document.getElementById("pad"), r = p.getBoundingClientRect();
		return [r.left + p.clientLeft, r.top + p.clientTop, p.clientWidth, p.clientHeight];
	})()`))
	if err != nil || len(box) != 4 {
		t.Fatalf("locating the pad: %v %v", box, err)
	}
	// toPage maps unit coordinates of a digit's box to the page, like a person's digit:
	// 60 % of the pad's height, a little narrower, centred.
	toPage := func(p [2]float64) (float64, float64) {
		h := 0.6 * box[3]
		return box[0] + (box[2]-0.7*h)/2 + p[0]*0.7*h, box[1] + (box[3]-h)/2 + p[1]*h
	}

	// draw draws strokes in unit coordinates, mapped by to, with the mouse or a finger.
	draw := func(t *testing.T, strokes []stroke, to func([2]float64) (float64, float64), touch bool) {
		t.Helper()
		for _, st := range strokes {
			var pts [][2]float64
			for i, p := range st {
				x, y := to(p)
				if i == 0 {
					pts = append(pts, [2]float64{x, y})
					continue
				}
				px, py := pts[len(pts)-1][0], pts[len(pts)-1][1]
				n := int(math.Ceil(math.Hypot(x-px, y-py) / 6))
				for k := 1; k <= n; k++ {
					f := float64(k) / float64(n)
					pts = append(pts, [2]float64{px + f*(x-px), py + f*(y-py)})
				}
			}
			var err error
			if touch {
				err = touchStroke(bctx, pts)
			} else {
				err = mouseStroke(bctx, pts)
			}
			if err != nil {
				t.Fatalf("drawing: %v", err)
			}
		}
	}
	// answered waits for the page to show the answer for the current drawing and
	// returns its body's data-digit and data-reason.
	answered := func(t *testing.T) (digit, reason string) {
		t.Helper()
		got, err := chromedp.Run(bctx, chromedp.Poll[[]string](`(() => {
			const b = document.body.dataset;
			return b.version !== "0" && b.predicted === b.version && (b.digit !== undefined || b.reason !== undefined) ? [b.digit || "", b.reason || ""] : false;
		})()`, chromedp.WithPollingTimeout(0)))
		if err != nil || len(got) != 2 {
			t.Fatalf("waiting for the answer to the drawing: %v %v", got, err)
		}
		return got[0], got[1]
	}
	top3 := func(t *testing.T) []string {
		t.Helper()
		got, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#top3 li")].map(li => li.dataset.class + " " + li.textContent)`))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	t.Run("two digits: not sure", func(t *testing.T) {
		if err := chromedp.Do(bctx, chromedp.Click(chromedp.ID("clear"))); err != nil {
			t.Fatal(err)
		}
		// A 1 in the left third of the pad and a 7 in the right third.
		at := func(left float64) func([2]float64) (float64, float64) {
			return func(p [2]float64) (float64, float64) {
				h := 0.45 * box[3]
				return box[0] + left*box[2] + p[0]*0.6*h, box[1] + (box[3]-h)/2 + p[1]*h
			}
		}
		draw(t, digitStrokes[1], at(0.12), false)
		draw(t, digitStrokes[7], at(0.58), false)
		digit, reason := answered(t)
		shown, _ := chromedp.Run(bctx, chromedp.Text(chromedp.ID("confidence")))
		png, _ := chromedp.Run(bctx, chromedp.CaptureScreenshot())
		file := filepath.Join(dir, "serve-page-two-digits.png")
		os.WriteFile(file, png, 0o644)
		t.Logf("screenshot: %s", file)
		if digit != "" || reason != "more than one digit" || !strings.Contains(shown, "not sure") {
			t.Errorf("a 1 and a 7 side by side: digit %q, reason %q, the page says %q; want not sure, more than one digit", digit, reason, shown)
		}
	})

	cases := []struct {
		digit int
		touch bool
	}{{1, false}, {7, true}}
	for _, c := range cases {
		how := "mouse"
		if c.touch {
			how = "touch"
		}
		t.Run(fmt.Sprintf("%d by %s", c.digit, how), func(t *testing.T) {
			if err := chromedp.Do(bctx, chromedp.Click(chromedp.ID("clear"))); err != nil {
				t.Fatal(err)
			}
			if c.touch {
				if _, err := chromedp.Call(bctx, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: true, MaxTouchPoints: 1}); err != nil {
					t.Fatal(err)
				}
			}
			draw(t, digitStrokes[c.digit], toPage, c.touch)
			got, reason := answered(t)
			shown, _ := chromedp.Run(bctx, chromedp.Text(chromedp.ID("digit")))
			ink, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`(() => {
				const d = document.getElementById("seen").getContext("2d").getImageData(0, 0, 28, 28).data;
				let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 128) n++; return n;
			})()`))
			png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, fmt.Sprintf("serve-page-%d.png", c.digit))
			if err := os.WriteFile(file, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot: %s", file)
			if got != fmt.Sprint(c.digit) || strings.TrimSpace(shown) != got {
				t.Errorf("drew a %d by %s: the page predicts %q (%q) and shows %q", c.digit, how, got, reason, shown)
			}
			if top := top3(t); len(top) != 3 || !strings.HasPrefix(top[0], fmt.Sprint(c.digit)+" ") || !strings.Contains(top[0], "%") {
				t.Errorf("the top three guesses are %q, want three with %d first and its probability", top, c.digit)
			}
			if ink < 20 {
				t.Errorf("the 28×28 view of what the network saw has %d ink pixels, want a digit", ink)
			}
		})
	}

	t.Run("a number", func(t *testing.T) {
		nbox, err := chromedp.Run(bctx, chromedp.Evaluate[[]float64](`(() => {
			const p = document.getElementById("npad");
			p.scrollIntoView();
			const r = p.getBoundingClientRect();
			return [r.left + p.clientLeft, r.top + p.clientTop, p.clientWidth, p.clientHeight];
		})()`))
		if err != nil || len(nbox) != 4 {
			t.Fatalf("locating the number pad: %v %v", nbox, err)
		}
		const text = "2407"
		for i, r := range text {
			d := int(r - '0')
			to := func(p [2]float64) (float64, float64) {
				h := 0.6 * nbox[3]
				w := 0.6 * h
				return nbox[0] + 40 + float64(i)*1.5*w + p[0]*w, nbox[1] + (nbox[3]-h)/2 + p[1]*h
			}
			draw(t, digitStrokes[d], to, false)
		}
		got, err := chromedp.Run(bctx, chromedp.Poll[string](`(() => {
			const b = document.body.dataset;
			return b.nversion && b.nread === b.nversion && b.ntext !== undefined ? b.ntext : false;
		})()`, chromedp.WithPollingTimeout(0)))
		if err != nil {
			t.Fatalf("waiting for the reading: %v", err)
		}
		shown, _ := chromedp.Run(bctx, chromedp.Text(chromedp.ID("ntext")))
		boxed, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`(() => {
			const c = document.getElementById("nboxes"), d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
			let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n;
		})()`))
		png, _ := chromedp.Run(bctx, chromedp.CaptureScreenshot())
		file := filepath.Join(dir, "serve-page-number.png")
		os.WriteFile(file, png, 0o644)
		t.Logf("screenshot: %s", file)
		if got != text || strings.TrimSpace(shown) != text {
			t.Errorf("wrote %s: the page read %q and shows %q", text, got, shown)
		}
		if boxed < 100 {
			t.Errorf("%d pixels of boxes drawn over the number, want a box for each digit", boxed)
		}
	})

	t.Run("phone screen", func(t *testing.T) {
		if err := chromedp.Do(bctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch)); err != nil {
			t.Fatal(err)
		}
		width, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		if err != nil {
			t.Fatal(err)
		}
		if width > 390 {
			t.Errorf("on a 390 px wide screen the page is %d px wide: it scrolls sideways", width)
		}
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, "serve-page-phone.png")
		if err := os.WriteFile(file, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", file)
	})

	t.Run("no external requests", func(t *testing.T) {
		urls, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](
			`[location.href, ...performance.getEntriesByType("resource").map(e => e.name)]`))
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range urls {
			if !strings.HasPrefix(u, origin+"/") {
				t.Errorf("the page requested %s, outside %s", u, origin)
			}
		}
	})
	t.Logf("browser test took %v", time.Since(start).Round(time.Millisecond))
}

// mouseStroke presses the left button at pts[0], moves through pts and releases.
func mouseStroke(ctx context.Context, pts [][2]float64) error {
	ev := func(typ input.DispatchMouseEventType, p [2]float64, buttons int64) error {
		_, err := chromedp.Call(ctx, input.DispatchMouseEvent, input.DispatchMouseEventParams{
			Type: typ, X: p[0], Y: p[1], Button: input.MouseButtonLeft, Buttons: buttons, ClickCount: 1})
		return err
	}
	if err := ev(input.DispatchMouseEventTypeMouseMoved, pts[0], 0); err != nil {
		return err
	}
	if err := ev(input.DispatchMouseEventTypeMousePressed, pts[0], 1); err != nil {
		return err
	}
	for _, p := range pts[1:] {
		if err := ev(input.DispatchMouseEventTypeMouseMoved, p, 1); err != nil {
			return err
		}
	}
	return ev(input.DispatchMouseEventTypeMouseReleased, pts[len(pts)-1], 0)
}

// touchStroke puts a finger down at pts[0], moves it through pts and lifts it.
func touchStroke(ctx context.Context, pts [][2]float64) error {
	one := 1.0
	ev := func(typ input.DispatchTouchEventType, p *[2]float64) error {
		tp := []*input.TouchPoint{}
		if p != nil {
			tp = append(tp, &input.TouchPoint{X: p[0], Y: p[1], RadiusX: &one, RadiusY: &one, Force: &one})
		}
		_, err := chromedp.Call(ctx, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: typ, TouchPoints: tp})
		return err
	}
	if err := ev(input.DispatchTouchEventTypeTouchStart, &pts[0]); err != nil {
		return err
	}
	for i := range pts[1:] {
		if err := ev(input.DispatchTouchEventTypeTouchMove, &pts[i+1]); err != nil {
			return err
		}
	}
	if err := ev(input.DispatchTouchEventTypeTouchEnd, nil); err != nil {
		return errors.Join(errors.New("touchEnd"), err)
	}
	return nil
}
