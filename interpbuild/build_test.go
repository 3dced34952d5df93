package interpbuild_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mpigo/mpigo"
	"github.com/mpigo/mpigo/gomod"
	"github.com/mpigo/mpigo/interpbuild"
)

// mpigoBin builds the mpigo binary, which runs `mpigo extract`.
func mpigoBin(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mpigo")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/mpigo/mpigo/cmd/mpigo").CombinedOutput()
	if err != nil {
		t.Fatalf("building mpigo: %v\n%s", err, out)
	}
	return bin
}

// localModule writes a module with a plain and a generic function.
func localModule(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":  "module example.org/geom\n\ngo 1.24\n",
		"geom.go": "package geom\n\n" + body,
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBuildCachesAndRebuildsOnEdit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an interpreter (compiles yaegi)")
	}
	ctx := context.Background()
	// Offline: everything comes from the module cache mpigo was built from
	// and the local module.
	env := append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod")
	environ := func() []string { return env }
	mods, err := gomod.Open(gomod.Env{Environ: environ})
	if err != nil {
		t.Fatal(err)
	}
	defer mods.Close()
	dir := localModule(t, "// Area is a rectangle's area.\nfunc Area(w, h float64) float64 { return w * h }\n\n// Map maps.\nfunc Map[T, U any](s []T, f func(T) U) []U { var r []U; for _, x := range s { r = append(r, f(x)) }; return r }\n")
	if _, err := mods.Get(ctx, dir); err != nil {
		t.Fatal(err)
	}
	b := interpbuild.New(interpbuild.Config{Sources: mpigo.Sources, Exe: mpigoBin(t), CacheDir: t.TempDir(), Environ: environ})
	var stages []interpbuild.Stage
	it, err := b.Build(ctx, mods, []string{"example.org/geom"}, func(s interpbuild.Stage, _ []gomod.Package) { stages = append(stages, s) })
	if err != nil {
		t.Fatal(err)
	}
	if it.Cached || len(stages) != 3 {
		t.Fatalf("first build: cached=%v stages=%v, want a build through 3 stages", it.Cached, stages)
	}
	out, err := exec.Command(it.Command[0]).Output()
	if err != nil || strings.TrimSpace(string(out)) != "example.org/geom" {
		t.Fatalf("the interpreter lists %q (%v), want example.org/geom", out, err)
	}
	main, _ := os.ReadFile(filepath.Join(filepath.Dir(it.Command[0]), "main.go"))
	if !strings.Contains(string(main), `Generic: []string{"Map"}`) {
		t.Errorf("main.go does not name Map as generic:\n%s", main)
	}
	again, err := b.Build(ctx, mods, []string{"example.org/geom"}, nil)
	if err != nil || !again.Cached || again.Key != it.Key {
		t.Fatalf("second build: %+v, %v; want the cached interpreter", again, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "more.go"), []byte("package geom\n\nfunc Perimeter(w, h float64) float64 { return 2 * (w + h) }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	key, err := b.Key(ctx, mods, []string{"example.org/geom"})
	if err != nil || key == it.Key {
		t.Fatalf("Key after an edit = %s (%v), want a new key", key, err)
	}
}
