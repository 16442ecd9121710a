package digitnet_test

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"io/fs"
	"strings"
	"testing"
)

// publicPackages are the packages a Go program imports.
var publicPackages = []string{".", "tensor", "nn", "optim", "train", "dataset", "idx", "augment", "recipe"}

// TestExportedNamesDocumented: every exported name of the public packages has a doc
// comment, so `go doc` explains all of the API.
func TestExportedNamesDocumented(t *testing.T) {
	for _, dir := range publicPackages {
		fset := token.NewFileSet()
		pkgs, err := parser.ParseDir(fset, dir, func(fi fs.FileInfo) bool {
			return !strings.HasSuffix(fi.Name(), "_test.go")
		}, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkgs {
			d := doc.New(p, "./"+dir, 0)
			if d.Doc == "" {
				t.Errorf("package %s has no package comment", dir)
			}
			missing := func(kind, name string) { t.Errorf("%s: %s %s has no doc comment", dir, kind, name) }
			values := func(vs []*doc.Value) {
				for _, v := range vs {
					if v.Doc != "" {
						continue
					}
					for _, s := range v.Decl.Specs {
						vs := s.(*ast.ValueSpec)
						for _, n := range vs.Names {
							if n.IsExported() && vs.Doc == nil && vs.Comment == nil {
								missing("value", n.Name)
							}
						}
					}
				}
			}
			funcs := func(fs []*doc.Func, of string) {
				for _, f := range fs {
					if f.Doc == "" && ast.IsExported(f.Name) && !isInterfaceMethod(f) {
						missing("func", of+f.Name)
					}
				}
			}
			values(d.Consts)
			values(d.Vars)
			funcs(d.Funcs, "")
			for _, typ := range d.Types {
				if typ.Doc == "" {
					missing("type", typ.Name)
				}
				values(typ.Consts)
				values(typ.Vars)
				funcs(typ.Funcs, "")
				funcs(typ.Methods, typ.Name+".")
			}
		}
	}
}

// isInterfaceMethod reports methods that implement a documented interface method
// (String, Forward, Backward, …): their doc is the interface's.
func isInterfaceMethod(f *doc.Func) bool {
	switch f.Name {
	case "String", "Error", "Len", "Shape", "Batch", "Forward", "Backward", "Params", "OutShape",
		"Step", "SetLR", "LR", "State", "SetState", "StartEpoch", "Progress", "EndEpoch", "Is", "Unwrap",
		"FromLogits", "Dir", "Fetch", "Name", "Set":
		return f.Recv != ""
	}
	return false
}
