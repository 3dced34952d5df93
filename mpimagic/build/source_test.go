package build

import (
	"os"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/mpigo/mpigo"
)

func TestEmbeddedSources(t *testing.T) {
	e, err := LoadSources(mpigo.Sources)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for p := range e.files {
		names = append(names, p)
		if strings.HasSuffix(p, "_test.go") || strings.Contains(p, "testprog") || strings.Contains(p, "testdata") {
			t.Errorf("a test file is embedded: %s", p)
		}
	}
	sort.Strings(names)
	has := func(p string) bool { _, ok := e.files[p]; return ok }
	if !has("display/display.go") || !has("mpi/mpi.go") {
		t.Errorf("missing package files: %v", names)
	}
	cfiles := 0
	for _, n := range names {
		if path.Dir(n) == "mpi" && (strings.HasSuffix(n, ".c") || strings.HasSuffix(n, ".h")) {
			cfiles++
		}
	}
	if cfiles == 0 {
		t.Errorf("no C files of package mpi embedded: %v", names)
	}
	for _, want := range []string{"Init", "Finalize", "World", "Sum"} {
		if i := sort.SearchStrings(e.exports, want); i == len(e.exports) || e.exports[i] != want {
			t.Errorf("exports lack %s: %v", want, e.exports)
		}
	}
	if !strings.HasPrefix(e.ModFile(), "module "+ModulePath+"\n\ngo 1.") || len(e.hash) != 20 {
		t.Errorf("go.mod %q, hash %q", e.ModFile(), e.hash)
	}
	dir := t.TempDir()
	src, err := e.WriteTo(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := e.WriteTo(dir); err != nil || again != src {
		t.Errorf("writing twice: %q %v", again, err)
	}
	if _, err := os.Stat(path.Join(src, "mpi", "mpi.go")); err != nil {
		t.Error(err)
	}
}
