package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/digitnet/digitnet/train"
)

// reporter shows a run's progress: a bar within each epoch on a terminal (or plain lines
// every few seconds elsewhere), then a line per epoch. With JSON on, epoch lines go to
// the JSON stream instead and the human lines to stderr.
type reporter struct {
	mode   string    // bar, plain, none
	errw   io.Writer // progress goes here
	lines  io.Writer // one human line per epoch
	json   *jsonWriter
	bar    *progressbar.ProgressBar
	epoch  int
	epochs int
	total  int
	start  time.Time
	last   time.Time
}

// progressMode turns --progress auto into bar or plain by looking at stderr.
func progressMode(flag string, stderr io.Writer) string {
	if flag != "auto" {
		return flag
	}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return "bar"
	}
	return "plain"
}

// plainEvery is how often a plain progress line is written within an epoch; a variable
// so that a test can have a line after every batch, an event to act on mid-epoch.
var plainEvery = 10 * time.Second

func (r *reporter) StartEpoch(epoch, epochs, examples int) {
	r.epoch, r.epochs, r.total = epoch, epochs, examples
	r.start = time.Now()
	r.last = r.start
	if r.mode == "bar" {
		r.bar = progressbar.NewOptions(examples,
			progressbar.OptionSetWriter(r.errw),
			progressbar.OptionSetDescription(fmt.Sprintf("epoch %d/%d", epoch, epochs)),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("img"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetWidth(30),
		)
	}
}

func (r *reporter) Progress(done int, loss float64) {
	now := time.Now()
	switch r.mode {
	case "bar":
		// The bar throttles its drawing; skipping calls here keeps batch-1 runs cheap.
		if now.Sub(r.last) < 50*time.Millisecond && done < r.total {
			return
		}
		r.last = now
		r.bar.Describe(fmt.Sprintf("epoch %d/%d loss %.4f", r.epoch, r.epochs, loss))
		_ = r.bar.Set(done)
	case "plain":
		if now.Sub(r.last) < plainEvery || done == r.total {
			return
		}
		r.last = now
		el := now.Sub(r.start).Seconds()
		rate := float64(done) / el
		fmt.Fprintf(r.errw, "epoch %d/%d  %3.0f%%  %d/%d  %.0f img/s  loss %.4f  ETA %.0fs\n",
			r.epoch, r.epochs, 100*float64(done)/float64(r.total), done, r.total, rate, loss, float64(r.total-done)/rate)
	}
}

func (r *reporter) EndEpoch(e train.Epoch) {
	if r.bar != nil {
		_ = r.bar.Finish()
		r.bar = nil
	}
	val := ""
	if e.ValAccuracy > 0 {
		val = fmt.Sprintf("  val %6.2f%%", 100*e.ValAccuracy)
	}
	fmt.Fprintf(r.lines, "epoch %*d/%d  loss %.4f  train %6.2f%%%s  test %6.2f%%  %.2fs\n",
		len(fmt.Sprint(r.epochs)), e.Epoch, r.epochs, e.Loss, 100*e.TrainAccuracy, val, 100*e.TestAccuracy, e.Seconds)
	if r.json != nil {
		r.json.epoch(e)
	}
}
