// Command evalheldout measures a model on the held-out sets tools/heldout writes:
// for each digit set, the accuracy over all pictures (a withheld answer counts as
// wrong), how often the model withholds its answer, the accuracy of the answers it
// gives, and the expected calibration error; for each kind of non-digit, how often it
// (rightly) withholds. Pictures go through digitnet.PredictImage, as `predict` does.
//
//	go run ./tools/evalheldout -model m.safetensors -heldout ~/heldout [-json out.json]
//
// A model of several comma-separated files is an ensemble.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/digitnet/digitnet"
)

// Row is one set's figures.
type Row struct {
	Set      string  `json:"set"`
	Kind     string  `json:"kind"` // digits or nondigits
	N        int     `json:"n"`
	Accuracy float64 `json:"accuracy,omitempty"` // right answers over all pictures
	Withheld float64 `json:"withheld"`           // share withheld
	Answered float64 `json:"answered_accuracy,omitempty"`
	ECE      float64 `json:"ece,omitempty"`
	Errors   int     `json:"errors,omitempty"` // pictures that could not be read
}

func main() {
	modelPath := flag.String("model", "", "model file(s), comma-separated (required)")
	root := flag.String("heldout", "", "the directory tools/heldout wrote (required)")
	jsonOut := flag.String("json", "", "also write the rows to this JSON file")
	floor := flag.Float64("min-confidence", -1, "override the model's confidence floor")
	raw := flag.Bool("uncalibrated", false, "without the model's calibration (its networks' own probabilities, no floor)")
	floorDir := flag.String("floor", "", "print the confidence under which -abstain of the test/ pictures of these class-folder DIRs (comma-separated) fall, and exit")
	abstain := flag.Float64("abstain", 0.005, "with -floor: the share to withhold")
	numbersDir := flag.String("numbers", "", "measure reading numbers on the numbers set in DIR (manifest.json), and exit")
	summary := flag.String("summary", "", "print the digit sets' accuracies of a -json FILE as one JSON object, and exit")
	weights := flag.String("weights", "", "the ensemble members' weights in the average, comma-separated (default: equal)")
	fitDir := flag.String("fit-weights", "", "print the members' weights (whole numbers 1 to 4) that read the test/ pictures of these class-folder DIRs (comma-separated) best, a withheld answer wrong, with the floor -abstain makes on them; and exit")
	flag.Parse()
	if *summary != "" {
		printSummary(*summary)
		return
	}
	if *modelPath == "" || *root == "" && *floorDir == "" && *numbersDir == "" && *fitDir == "" {
		flag.Usage()
		os.Exit(2)
	}
	if *fitDir != "" {
		fitWeights(strings.Split(*modelPath, ","), strings.Split(*fitDir, ","), *abstain)
		return
	}
	m, err := digitnet.OpenEnsemble(strings.Split(*modelPath, ",")...)
	if err != nil {
		fail(err)
	}
	if *weights != "" {
		var w []float64
		for _, f := range strings.Split(*weights, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil {
				fail(fmt.Errorf("-weights: %q is not a number", f))
			}
			w = append(w, v)
		}
		if m, err = m.WithWeights(w...); err != nil {
			fail(fmt.Errorf("-weights: %w", err))
		}
	}
	if *raw {
		m = m.Uncalibrated()
	}
	if *floor >= 0 {
		m = m.WithMinConfidence(*floor)
	}
	if *numbersDir != "" {
		measureNumbers(m, *numbersDir, *jsonOut)
		return
	}
	if *floorDir != "" {
		printFloor(m.WithMinConfidence(0), strings.Split(*floorDir, ","), *abstain)
		return
	}
	sets, err := os.ReadDir(*root)
	if err != nil {
		fail(err)
	}
	var rows []Row
	for _, e := range sets {
		dir := filepath.Join(*root, e.Name())
		switch {
		case !e.IsDir():
		case e.Name() == "nondigits":
			kinds, _ := os.ReadDir(dir)
			for _, k := range kinds {
				if k.IsDir() {
					rows = append(rows, measure(m, "nondigits/"+k.Name(), filepath.Join(dir, k.Name()), false))
				}
			}
		case isDir(filepath.Join(dir, "test")):
			rows = append(rows, measure(m, e.Name(), filepath.Join(dir, "test"), true))
		}
	}
	fmt.Printf("model %s (confidence floor %.3f)\n\n", *modelPath, m.MinConfidence())
	fmt.Println("| set | pictures | accuracy | withheld | accuracy of answers | ECE |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, r := range rows {
		if r.Kind == "digits" {
			fmt.Printf("| %s | %d | %.2f %% | %.2f %% | %.2f %% | %.2f %% |\n", r.Set, r.N, 100*r.Accuracy, 100*r.Withheld, 100*r.Answered, 100*r.ECE)
		} else {
			fmt.Printf("| %s | %d | – | %.1f %% | – | – |\n", r.Set, r.N, 100*r.Withheld)
		}
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(rows, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			fail(err)
		}
	}
}

func isDir(p string) bool { fi, err := os.Stat(p); return err == nil && fi.IsDir() }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "evalheldout:", err)
	os.Exit(1)
}

// picture is one file and its label (-1: not a digit).
type picture struct {
	path  string
	label int
}

type outcome struct {
	pred digitnet.Prediction
	err  error
}

// measure predicts every picture under dir: class folders when digits, else a flat
// folder of non-digits.
func measure(m *digitnet.Model, name, dir string, digits bool) Row {
	pics := list(dir, digits)
	out := predictAll(m, pics)
	return tally(name, digits, pics, out)
}

// list finds the pictures under dir: class folders when digits.
func list(dir string, digits bool) []picture {
	var pics []picture
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !slices.Contains([]string{".png", ".jpg", ".jpeg", ".gif"}, strings.ToLower(filepath.Ext(p))) {
			return nil
		}
		label := -1
		if digits {
			label, _ = strconv.Atoi(filepath.Base(filepath.Dir(p)))
		}
		pics = append(pics, picture{p, label})
		return nil
	})
	return pics
}

// predictAll predicts every picture, on every core.
func predictAll(m *digitnet.Model, pics []picture) []outcome {
	out := make([]outcome, len(pics))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				out[i].pred, out[i].err = predict(m, pics[i].path)
			}
		})
	}
	for i := range pics {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// tally makes a set's row of its outcomes.
func tally(name string, digits bool, pics []picture, out []outcome) Row {
	r := Row{Set: name, Kind: "nondigits", N: len(pics)}
	if digits {
		r.Kind = "digits"
	}
	right, withheld, answered, answeredRight := 0, 0, 0, 0
	const bins = 15
	var conf, hits [bins]float64
	var count [bins]int
	for i, o := range out {
		if o.err != nil {
			r.Errors++
			withheld++ // an unreadable picture gets no digit either
			continue
		}
		p := o.pred
		if p.Digit < 0 {
			withheld++
		} else {
			answered++
			if p.Digit == pics[i].label {
				answeredRight++
				right++
			}
		}
		if digits && p.Guess >= 0 {
			b := min(bins-1, int(p.Confidence*bins))
			conf[b] += p.Confidence
			count[b]++
			if p.Guess == pics[i].label {
				hits[b]++
			}
		}
	}
	if r.N > 0 {
		r.Withheld = float64(withheld) / float64(r.N)
		r.Accuracy = float64(right) / float64(r.N)
	}
	if answered > 0 {
		r.Answered = float64(answeredRight) / float64(answered)
	}
	total := 0
	for _, c := range count {
		total += c
	}
	for b := range bins {
		if count[b] > 0 {
			r.ECE += math.Abs(hits[b]-conf[b]) / float64(total)
		}
	}
	return r
}

// printFloor prints the confidence quantile abstain of the model's answers on the
// class folders under dir (pictures it finds no ink in aside).
func printFloor(m *digitnet.Model, dirs []string, abstain float64) {
	var pics []picture
	for _, d := range dirs {
		pics = append(pics, list(filepath.Join(d, "test"), true)...)
	}
	out := predictAll(m, pics)
	var conf []float64
	for _, o := range out {
		if o.err == nil && o.pred.Guess >= 0 {
			conf = append(conf, o.pred.Confidence)
		}
	}
	if len(conf) == 0 {
		fail(fmt.Errorf("%s: no pictures", strings.Join(dirs, ", ")))
	}
	slices.Sort(conf)
	k := max(0, int(abstain*float64(len(conf)))-1)
	fmt.Printf("%.6f\n", conf[k])
}

func predict(m *digitnet.Model, path string) (digitnet.Prediction, error) {
	f, err := os.Open(path)
	if err != nil {
		return digitnet.Prediction{}, err
	}
	defer f.Close()
	img, err := digitnet.DecodeImage(f)
	if err != nil {
		return digitnet.Prediction{}, err
	}
	return m.PredictImage(img)
}

// printSummary prints {"set": accuracy, …} of the digit sets in a -json file.
func printSummary(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		fail(err)
	}
	var rows []Row
	if err := json.Unmarshal(b, &rows); err != nil {
		fail(fmt.Errorf("%s: %v", path, err))
	}
	acc := map[string]float64{}
	for _, r := range rows {
		if r.Kind == "digits" {
			acc[r.Set] = math.Round(r.Accuracy*1e4) / 1e4
		}
	}
	out, _ := json.Marshal(acc)
	fmt.Println(string(out))
}

// numberEntry is one picture of a numbers set's manifest.json.
type numberEntry struct {
	File     string `json:"file"`
	Text     string `json:"text"`
	Source   string `json:"source"`
	Spacing  string `json:"spacing"`
	Touching bool   `json:"touching"`
}

// NumbersRow is reading's figures on a slice of a numbers set.
type NumbersRow struct {
	Slice        string  `json:"slice"`
	N            int     `json:"n"`
	Whole        float64 `json:"whole_number_accuracy"` // the text exactly right ("?" counts wrong)
	WholeGuessed float64 `json:"whole_number_guessed"`  // right with every unsure digit's guess
	Digit        float64 `json:"digit_accuracy"`        // 1 - edit distance / length, over all
	Unsure       float64 `json:"unsure_digits"`         // share of digits marked unsure
	Count        float64 `json:"count_right"`           // the number of digits found right
}

// measureNumbers reads every picture of a numbers set and prints whole-number and
// digit accuracy, for all pictures and by spacing and touching.
func measureNumbers(m *digitnet.Model, dir, jsonOut string) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		fail(err)
	}
	var entries []numberEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		fail(err)
	}
	type result struct {
		text, guessed string
		unsure        int
		err           error
	}
	res := make([]result, len(entries))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				f, err := os.Open(filepath.Join(dir, entries[i].File))
				if err != nil {
					res[i].err = err
					continue
				}
				img, err := digitnet.DecodeImage(f)
				f.Close()
				if err != nil {
					res[i].err = err
					continue
				}
				r, err := m.ReadNumber(img)
				res[i].err, res[i].text = err, r.Text
				var g strings.Builder
				for _, d := range r.Digits {
					g.WriteString(strconv.Itoa(d.Digit))
					if d.Unsure {
						res[i].unsure++
					}
				}
				res[i].guessed = g.String()
			}
		})
	}
	for i := range entries {
		next <- i
	}
	close(next)
	wg.Wait()
	if os.Getenv("EVAL_DEBUG") != "" {
		for i, e := range entries {
			if res[i].guessed != e.Text {
				fmt.Printf("%s\t%s\t%s\t%s\t%v\n", e.File, e.Spacing, e.Text, res[i].guessed, e.Touching)
			}
		}
	}
	var rows []NumbersRow
	add := func(name string, in func(e numberEntry) bool) {
		row := NumbersRow{Slice: name}
		var chars, dist, unsure, whole, guessed, count int
		for i, e := range entries {
			if !in(e) {
				continue
			}
			row.N++
			r := res[i]
			chars += len(e.Text)
			dist += editDistance(r.text, e.Text)
			unsure += r.unsure
			if r.text == e.Text {
				whole++
			}
			if r.guessed == e.Text {
				guessed++
			}
			if len(r.guessed) == len(e.Text) {
				count++
			}
		}
		if row.N == 0 {
			return
		}
		row.Whole, row.WholeGuessed = float64(whole)/float64(row.N), float64(guessed)/float64(row.N)
		row.Digit = 1 - float64(dist)/float64(chars)
		row.Unsure = float64(unsure) / float64(chars)
		row.Count = float64(count) / float64(row.N)
		rows = append(rows, row)
	}
	add("all", func(numberEntry) bool { return true })
	add("separated", func(e numberEntry) bool { return !e.Touching })
	add("touching", func(e numberEntry) bool { return e.Touching })
	for _, sp := range []string{"separated", "tight", "overlapping"} {
		add("spacing "+sp, func(e numberEntry) bool { return e.Spacing == sp })
	}
	for _, src := range []string{"fonts", "unipen", "usps", "optdigits", "trainfonts"} {
		add("source "+src, func(e numberEntry) bool { return strings.HasPrefix(e.File, src+"-") })
	}
	fmt.Printf("reading %s with %d pictures (confidence floor %.3f)\n\n", dir, len(entries), m.MinConfidence())
	fmt.Println("| slice | numbers | whole number right | with unsure digits' guesses | digits right (1 − edit distance) | digit count right | digits marked unsure |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Printf("| %s | %d | %.1f %% | %.1f %% | %.1f %% | %.1f %% | %.1f %% |\n", r.Slice, r.N, 100*r.Whole, 100*r.WholeGuessed, 100*r.Digit, 100*r.Count, 100*r.Unsure)
	}
	if jsonOut != "" {
		b, _ := json.MarshalIndent(rows, "", "  ")
		if err := os.WriteFile(jsonOut, append(b, '\n'), 0o644); err != nil {
			fail(err)
		}
	}
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
