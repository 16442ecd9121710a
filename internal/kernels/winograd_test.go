package kernels

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite winograd_tables.h from winograd.go")

// winogradHeader is winograd_tables.h as winograd.go's matrices make it: an ID and a
// constant table for each, for the C kernels.
func winogradHeader() string {
	var b strings.Builder
	b.WriteString("// Winograd's matrices for the C kernels, written by TestWinogradTables from winograd.go\n")
	b.WriteString("// (go test ./internal/kernels -run WinogradTables -update): do not edit.\n\n")
	b.WriteString("#ifndef DN_WINOGRAD_TABLES_H\n#define DN_WINOGRAD_TABLES_H\n\n")
	seen := map[int]bool{}
	for _, w := range Winograds {
		for _, m := range []struct {
			name string
			mat  Matrix
		}{{"BT", w.BT}, {"B", w.B}, {"AT", w.AT}, {"A", w.A}} {
			if seen[m.mat.ID] {
				continue
			}
			seen[m.mat.ID] = true
			vals := make([]string, len(m.mat.Data))
			for i, v := range m.mat.Data {
				f := strconv.FormatFloat(float64(v), 'g', -1, 32)
				if !strings.ContainsAny(f, ".e") {
					f += ".0"
				}
				vals[i] = f + "f"
			}
			fmt.Fprintf(&b, "// %s's %s\n#define DN_%s_%s %d\nstatic const float dn_%s_%s[%d] = {%s};\n\n",
				w.Name, m.name, strings.ToUpper(w.Tag), m.name, m.mat.ID, w.Tag, m.name, len(vals), strings.Join(vals, ", "))
		}
	}
	b.WriteString("#endif\n")
	return b.String()
}

// TestWinogradTables: winograd_tables.h holds exactly winograd.go's matrices, so the C
// kernels' compiled copies cannot drift from the Go definitions.
func TestWinogradTables(t *testing.T) {
	want := winogradHeader()
	if *update {
		if err := os.WriteFile("winograd_tables.h", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("winograd_tables.h")
	if err != nil || string(got) != want {
		t.Errorf("winograd_tables.h is not what winograd.go makes (%v); run go test ./internal/kernels -run WinogradTables -update", err)
	}
	ids := map[int]bool{}
	for _, w := range Winograds {
		for _, m := range []Matrix{w.BT, w.B, w.AT, w.A} {
			if m.ID == 0 {
				t.Errorf("%s has a matrix without an ID", w.Name)
			}
			ids[m.ID] = true
		}
	}
	if len(ids) != idF6A {
		t.Errorf("%d distinct matrix IDs, want %d", len(ids), idF6A)
	}
}
