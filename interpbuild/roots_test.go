package interpbuild

import (
	"io/fs"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/mpigo/mpigo"
)

// TestRootsCoverTheInterpreters: every package of mpigo that the worker
// and the rank interpreter import is written out by a build (its root is
// listed) and embedded in the binary; a package missing from either makes
// every interpreter build fail, offline or not.
func TestRootsCoverTheInterpreters(t *testing.T) {
	for _, tc := range []struct {
		main  string
		roots []string
	}{
		{"github.com/mpigo/mpigo/worker", roots(nil)},
		{"github.com/mpigo/mpigo/mpimagic/px/pxrank", roots(&RankToolchain{})},
	} {
		out, err := exec.Command("go", "list", "-deps", tc.main).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", tc.main, err)
		}
		for _, p := range strings.Fields(string(out)) {
			rel, ok := strings.CutPrefix(p, ModulePath+"/")
			if !ok {
				continue
			}
			covered := slices.ContainsFunc(tc.roots, func(r string) bool { return rel == r || strings.HasPrefix(rel, r+"/") })
			if !covered {
				t.Errorf("%s imports %s, which no root of the build covers (workerRoots, rankRoots)", tc.main, p)
			}
			entries, err := fs.ReadDir(mpigo.Sources, rel)
			if err != nil || !slices.ContainsFunc(entries, func(e fs.DirEntry) bool { return path.Ext(e.Name()) == ".go" }) {
				t.Errorf("%s imports %s, whose Go files are not embedded (sources.go)", tc.main, p)
			}
		}
	}
}
