package gomod_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mpigo/mpigo/gomod"
	"github.com/mpigo/mpigo/gomod/gomodtest"
)

// open starts a session whose go command sees only the test proxy.
func open(t *testing.T, extra ...string) *gomod.Session {
	t.Helper()
	env := append(append(os.Environ(), gomodtest.Proxy(t, gomodtest.Greet...)...), extra...)
	s, err := gomod.Open(gomod.Env{Environ: func() []string { return env }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestProvideRequiresLatestThenKeepsIt(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	pkgs, err := s.Provide(ctx, []string{"example.com/greet"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 1 || pkgs[0].Version != "v1.1.0" || pkgs[0].Name != "greet" || pkgs[0].Dir == "" {
		t.Fatalf("Provide = %+v, want greet at v1.1.0 (the latest)", pkgs)
	}
	// An explicit older version is kept by later imports.
	ch, err := s.Get(ctx, "example.com/greet@v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 1 || ch[0].From != "v1.1.0" || ch[0].Version != "v1.0.0" {
		t.Fatalf("Get changes = %v, want v1.1.0 → v1.0.0", ch)
	}
	if pkgs, err = s.Provide(ctx, []string{"example.com/greet"}); err != nil || pkgs[0].Version != "v1.0.0" {
		t.Fatalf("Provide after Get = %+v, %v; want v1.0.0 kept", pkgs, err)
	}
	mods, _ := s.Modules()
	if len(mods) != 1 || mods[0].String() != "example.com/greet v1.0.0" {
		t.Fatalf("Modules = %v", mods)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, spec string
		env        []string
		kind       gomod.Kind
		says       []string
	}{
		{"offline", "example.com/greet", []string{"GOPROXY=off"}, gomod.Unavailable, []string{"example.com/greet", "GOPROXY=off", "tried: go get example.com/greet", "%go get ./"}},
		{"unknown module", "example.com/nothing", nil, gomod.NotFound, []string{"example.com/nothing", "tried: go get"}},
		{"unknown version", "example.com/greet@v9.9.9", nil, gomod.NotFound, []string{"example.com/greet@v9.9.9"}},
		{"bad path", "not a path", nil, gomod.BadSpec, []string{"usage: %go get"}},
		{"dir without go.mod", "./no-such-dir", nil, gomod.BadSpec, []string{"no go.mod", "go mod init"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, tc.env...)
			_, err := s.Get(ctx, tc.spec)
			var e *gomod.Error
			if !errors.As(err, &e) || e.Kind != tc.kind {
				t.Fatalf("Get(%q) = %v, want a gomod.Error of kind %d", tc.spec, err, tc.kind)
			}
			for _, w := range tc.says {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if mods, _ := s.Modules(); len(mods) != 0 {
				t.Errorf("a failed get left requirements: %v", mods)
			}
		})
	}
}

func TestLocalModuleEditsChangeTheKey(t *testing.T) {
	s := open(t, "GOPROXY=off")
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.org/mylib\n\ngo 1.24\n")
	write("lib.go", "package mylib\n\nfunc Twice(x int) int { return 2 * x }\n")
	ch, err := s.Get(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 1 || !ch[0].Local() || ch[0].Dir != dir {
		t.Fatalf("Get(local) = %v", ch)
	}
	pkgs, err := s.Provide(ctx, []string{"example.org/mylib"})
	if err != nil || len(pkgs) != 1 || !pkgs[0].Local || pkgs[0].Dir != dir {
		t.Fatalf("Provide(local) = %+v, %v", pkgs, err)
	}
	before, _ := s.Snapshot()
	write("lib.go", "package mylib\n\nfunc Twice(x int) int { return x + x }\n\nfunc Thrice(x int) int { return 3 * x }\n")
	after, _ := s.Snapshot()
	if before.Key == after.Key {
		t.Fatal("editing the local module did not change the snapshot key")
	}
	if again, _ := s.Snapshot(); again.Key != after.Key {
		t.Fatal("the key of an unchanged session changed")
	}
}

func TestResetForgetsRequirements(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	if _, err := s.Get(ctx, "example.com/greet@v1.0.0"); err != nil {
		t.Fatal(err)
	}
	if sn, _ := s.Snapshot(); sn.Empty() {
		t.Fatal("snapshot empty after a get")
	}
	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
	if sn, _ := s.Snapshot(); !sn.Empty() {
		t.Fatalf("snapshot after Reset: %s", sn.GoMod)
	}
}

func TestBuildModuleKeepsRequirementsAndAddsTheBuilds(t *testing.T) {
	s := open(t)
	if _, err := s.Get(context.Background(), "example.com/greet@v1.0.0"); err != nil {
		t.Fatal(err)
	}
	sn, _ := s.Snapshot()
	b, err := sn.BuildModule("mpigo.local/program", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, w := range []string{"module mpigo.local/program", "example.com/greet v1.0.0"} {
		if !strings.Contains(got, w) {
			t.Errorf("build go.mod lacks %q:\n%s", w, got)
		}
	}
	if strings.Contains(got, gomod.SessionModule) {
		t.Errorf("build go.mod still names the session module:\n%s", got)
	}
}

func TestMergeSums(t *testing.T) {
	got := string(gomod.MergeSums([]byte("b h1:x\na h1:y\n"), []byte("a h1:y\nc h1:z")))
	if want := "a h1:y\nb h1:x\nc h1:z\n"; got != want {
		t.Fatalf("MergeSums = %q, want %q", got, want)
	}
}

func TestProvideOfflineNamesThePackageAndKeepsTheSession(t *testing.T) {
	s := open(t, "GOPROXY=off")
	before, _ := s.Snapshot()
	_, err := s.Provide(context.Background(), []string{"example.com/greet"})
	var e *gomod.Error
	if !errors.As(err, &e) || e.Kind != gomod.Unavailable || !strings.Contains(err.Error(), "example.com/greet") {
		t.Fatalf("Provide offline = %v, want an Unavailable error naming example.com/greet", err)
	}
	if after, _ := s.Snapshot(); after.Key != before.Key {
		t.Fatal("a failed Provide changed the session's requirements")
	}
}
