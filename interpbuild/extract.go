package interpbuild

import (
	"encoding/json"
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/traefik/yaegi/extract"
)

// extracted is what the extract command reports of one package.
type extracted struct {
	Path, Name string
	File       string   // the generated symbol file, relative to the output directory
	Generic    []string // exported generic functions and types: extract skips them
}

// ExtractMain is `mpigo extract OUTDIR PACKAGE...`, run by Build in the
// interpreter's build module: for each package it writes yaegi's symbol
// table (yaegi's own extract package, Dest "main") to OUTDIR and prints,
// as JSON, the packages with their names and generic members. It runs in
// a process of its own because extract finds packages through go/build,
// which asks the go command in the current directory.
func ExtractMain(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprintln(stderr, "usage: mpigo extract OUTDIR PACKAGE...")
		return 2
	}
	out, paths := args[0], args[1:]
	var res []extracted
	for i, p := range paths {
		x, err := extractOne(out, fmt.Sprintf("symbols_%d.go", i), p)
		if err != nil {
			fmt.Fprintf(stderr, "extracting %s: %v\n", p, err)
			return 1
		}
		res = append(res, x)
	}
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// extractOne writes the symbol table of package path to dir/file.
func extractOne(dir, file, path string) (extracted, error) {
	pkg, err := importer.ForCompiler(token.NewFileSet(), "source", nil).Import(path)
	if err != nil {
		return extracted{}, err
	}
	f, err := os.Create(filepath.Join(dir, file))
	if err != nil {
		return extracted{}, err
	}
	defer f.Close()
	ext := extract.Extractor{Dest: "main"}
	if _, err := ext.Extract(path, "", f); err != nil {
		return extracted{}, err
	}
	return extracted{Path: path, Name: pkg.Name(), File: file, Generic: genericMembers(pkg)}, f.Close()
}

// genericMembers lists the exported generic functions and types of pkg.
func genericMembers(pkg *types.Package) []string {
	var out []string
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		switch o := obj.(type) {
		case *types.Func:
			if o.Type().(*types.Signature).TypeParams().Len() > 0 {
				out = append(out, name)
			}
		case *types.TypeName:
			if n, ok := o.Type().(*types.Named); ok && n.TypeParams().Len() > 0 {
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return out
}
