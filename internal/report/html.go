package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"image/png"
	"strings"
)

// page is what index.html is executed with.
type page struct {
	Report
	Curves, Confusion, Misclassified, Activations *figure
}

// figure is one embedded picture.
type figure struct {
	PNG   []byte
	Name  string   // file name
	Alt   string   // alt text
	Links []string // files of the figure, linked by relative name
}

// Width is the figure's width in CSS pixels: every PNG is rendered at pngDPI, twice
// the CSS density.
func (f *figure) Width() int {
	c, err := png.DecodeConfig(bytes.NewReader(f.PNG))
	if err != nil {
		return 0
	}
	return c.Width * 96 / pngDPI
}

// DataURI embeds the PNG, so the page needs no other file to render.
func (f *figure) DataURI() template.URL {
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(f.PNG))
}

// Heading is the report's title or a default.
func (p page) Heading() string {
	if t := strings.TrimSpace(p.Report.Title); t != "" {
		return t
	}
	return "digitnet report"
}

// Empty reports whether the report has nothing but a title.
func (p page) Empty() bool {
	r := p.Report
	return len(r.Summary) == 0 && len(r.Findings) == 0 && len(r.PerClass) == 0 &&
		p.Curves == nil && p.Confusion == nil && p.Misclassified == nil && p.Activations == nil
}

// Mean is the unweighted mean of the per-class scores and the total support.
func (p page) Mean() ClassMetrics {
	var m ClassMetrics
	for _, c := range p.PerClass {
		m.Precision += c.Precision
		m.Recall += c.Recall
		m.F1 += c.F1
		m.Support += c.Support
	}
	if n := float64(len(p.PerClass)); n > 0 {
		m.Precision, m.Recall, m.F1 = m.Precision/n, m.Recall/n, m.F1/n
	}
	return m
}

// Lowest holds the lowest precision, recall and F1 over the classes.
func (p page) Lowest() ClassMetrics {
	m := ClassMetrics{Precision: 1, Recall: 1, F1: 1}
	for _, c := range p.PerClass {
		m.Precision, m.Recall, m.F1 = min(m.Precision, c.Precision), min(m.Recall, c.Recall), min(m.F1, c.F1)
	}
	return m
}

// Weakest is the index in PerClass of the class with the lowest F1, or -1 when there
// are fewer than two classes to compare.
func (p page) Weakest() int {
	if len(p.PerClass) < 2 {
		return -1
	}
	w := 0
	for i, c := range p.PerClass {
		if c.F1 < p.PerClass[w].F1 {
			w = i
		}
	}
	return w
}

var funcs = template.FuncMap{
	"score": func(f float64) string { return fmt.Sprintf("%.4f", f) },
	// tint shades a score's cell by its error 1-v, darkest for the weakest class
	// (lowest score of its column), and not at all for a perfect one; errors under 5%
	// never get the full shade, so a uniformly good model does not look alarming.
	"tint": func(lowest, v float64) template.CSS {
		t := (1 - v) / max(1-lowest, 0.05)
		if !(t > 0.02) {
			return ""
		}
		return template.CSS(fmt.Sprintf("background:rgba(213,94,0,%.2f)", 0.32*min(t, 1)))
	},
	"severity": func(s string) string {
		switch s := strings.ToLower(s); s {
		case "error", "warning", "info":
			return s
		}
		return "other"
	},
}

var indexTmpl = template.Must(template.New(IndexHTML).Funcs(funcs).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="digitnet">
<title>{{.Heading}}</title>
<style>
:root { color-scheme: light; --ink: #1d2329; --muted: #5f6b76; --line: #dfe3e8; --card: #fff; --bg: #f4f6f8; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", Arial, sans-serif; }
main { max-width: 1160px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 1.7rem; margin: 0 0 4px; }
h2 { font-size: 1.25rem; margin: 0 0 12px; }
nav { color: var(--muted); margin-bottom: 20px; }
nav a { color: #0b5cad; text-decoration: none; margin-right: 14px; white-space: nowrap; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; margin: 16px 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: .85rem; text-transform: uppercase; letter-spacing: .03em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.summary th { text-transform: none; letter-spacing: 0; font-size: 1rem; width: 30%; }
table.summary td { font-weight: 600; }
code { font: .9em ui-monospace, "Liberation Mono", Consolas, monospace; background: #eef1f4; padding: 1px 5px; border-radius: 4px; }
.sev { display: inline-block; min-width: 5.5em; text-align: center; font-weight: 700; font-size: .8rem; text-transform: uppercase; border-radius: 999px; padding: 2px 10px; color: #fff; }
tr.error td { background: #fdecea; } tr.error .sev { background: #b3261e; }
tr.warning td { background: #fff4dc; } tr.warning .sev { background: #a05a00; }
tr.info td { background: #eaf2fb; } tr.info .sev { background: #1f5f99; }
tr.other .sev { background: #5f6b76; }
tr.weakest td { font-weight: 600; }
tr.weakest td:first-child::after { content: " ◀ lowest F1"; color: #b3261e; font-size: .8rem; font-weight: 600; }
tr.mean td { border-top: 2px solid var(--ink); font-weight: 600; }
figure { margin: 0; text-align: center; }
figure img { max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: .9rem; margin-top: 6px; }
figcaption a, .files a { color: #0b5cad; }
.note { color: var(--muted); }
</style>
</head>
<body>
<main>
<h1>{{.Heading}}</h1>
<nav>
{{- if .Summary}}<a href="#summary">Summary</a>{{end}}
{{- if .Findings}}<a href="#findings">Findings</a>{{end}}
{{- if .Curves}}<a href="#curves">Learning curves</a>{{end}}
{{- if .Confusion}}<a href="#confusion">Confusion matrix</a>{{end}}
{{- if .PerClass}}<a href="#per-class">Per-class metrics</a>{{end}}
{{- if .Misclassified}}<a href="#misclassified">Misclassified digits</a>{{end}}
{{- if .Activations}}<a href="#activations">Activations</a>{{end}}
</nav>
{{- if .Empty}}
<section><p class="note">This report has no data yet.</p></section>
{{- end}}
{{- if .Summary}}
<section id="summary">
<h2>Summary</h2>
<table class="summary">
{{- range .Summary}}
<tr><th scope="row">{{index . 0}}</th><td>{{index . 1}}</td></tr>
{{- end}}
</table>
</section>
{{- end}}
{{- if .Findings}}
<section id="findings">
<h2>Findings</h2>
<table class="findings">
<tr><th>Severity</th><th>Finding</th><th>Message</th><th>Suggested fix</th></tr>
{{- range .Findings}}
<tr class="{{severity .Severity}}"><td><span class="sev">{{.Severity}}</span></td><td><code>{{.ID}}</code></td><td>{{.Message}}</td><td>{{if .Fix}}<code>{{.Fix}}</code>{{end}}</td></tr>
{{- end}}
</table>
</section>
{{- end}}
{{- with .Curves}}
<section id="curves">
<h2>Learning curves</h2>
{{template "figure" .}}
</section>
{{- end}}
{{- with .Confusion}}
<section id="confusion">
<h2>Confusion matrix</h2>
{{template "figure" .}}
<p class="note">Rows are the true classes, columns the predictions. Blue cells on the diagonal are correct (darker: higher recall); orange to red cells are mistakes (darker: more of them).</p>
</section>
{{- end}}
{{- if .PerClass}}
<section id="per-class">
<h2>Per-class metrics</h2>
<table class="per-class">
<tr><th class="num">Class</th><th>Name</th><th class="num">Precision</th><th class="num">Recall</th><th class="num">F1</th><th class="num">Support</th></tr>
{{- $weakest := .Weakest}}{{$lo := .Lowest}}
{{- range $i, $c := .PerClass}}
<tr{{if eq $i $weakest}} class="weakest"{{end}}><td class="num">{{.Class}}</td><td>{{.Name}}</td><td class="num" style="{{tint $lo.Precision .Precision}}">{{score .Precision}}</td><td class="num" style="{{tint $lo.Recall .Recall}}">{{score .Recall}}</td><td class="num" style="{{tint $lo.F1 .F1}}">{{score .F1}}</td><td class="num">{{.Support}}</td></tr>
{{- end}}
{{- with .Mean}}
<tr class="mean"><td></td><td>macro mean</td><td class="num">{{score .Precision}}</td><td class="num">{{score .Recall}}</td><td class="num">{{score .F1}}</td><td class="num">{{.Support}}</td></tr>
{{- end}}
</table>
<p class="files note">One-vs-rest scores on the test set; the more a class falls short, the deeper its cell's shade. Also as <a href="metrics.csv">metrics.csv</a>.</p>
</section>
{{- end}}
{{- with .Misclassified}}
<section id="misclassified">
<h2>Misclassified digits</h2>
{{template "figure" .}}
<p class="note">The test digits the model got wrong with the most confidence, with the true class, the prediction (red) and its probability.</p>
</section>
{{- end}}
{{- with .Activations}}
<section id="activations">
<h2>Activations</h2>
{{template "figure" .}}
<p class="note">Pre-activations z of a sample per layer. Shaded: where the unit learns almost nothing — saturated Sigmoid/Tanh (|z| &gt; 5) or inactive ReLU (z ≤ 0).</p>
</section>
{{- end}}
</main>
</body>
</html>
{{define "figure"}}<figure><img src="{{.DataURI}}" width="{{.Width}}" alt="{{.Alt}}"><figcaption>Files: {{range $i, $l := .Links}}{{if $i}} · {{end}}<a href="{{$l}}">{{$l}}</a>{{end}}</figcaption></figure>{{end}}
`))

// index renders index.html.
func index(p page) ([]byte, error) {
	var b bytes.Buffer
	if err := indexTmpl.Execute(&b, p); err != nil {
		return nil, fmt.Errorf("report: %s: %w", IndexHTML, err)
	}
	return b.Bytes(), nil
}
