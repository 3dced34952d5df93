package build

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/mpigo/mpigo"
	"github.com/mpigo/mpigo/gomod"
	"github.com/mpigo/mpigo/gomod/gomodtest"
)

// TestBuildKeyFollowsModules: a build's key changes with the module
// requirements (a version chosen with the session) and stays the same
// while they do; its go.mod has the session's requirements and mpigo's
// module from the embedded sources.
func TestBuildKeyFollowsModules(t *testing.T) {
	env := append(os.Environ(), gomodtest.Proxy(t,
		gomodtest.Version{Path: "example.com/greet", Version: "v1.0.0", Files: map[string]string{"greet.go": "package greet\n"}},
		gomodtest.Version{Path: "example.com/greet", Version: "v1.1.0", Files: map[string]string{"greet.go": "package greet\n"}},
	)...)
	s, err := gomod.Open(gomod.Env{Environ: func() []string { return env }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src, err := LoadSources(mpigo.Sources)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	files := map[string][]byte{"main.go": []byte("package main\n")}
	tc := &Toolchain{fingerprint: "test"}
	key := func(mods gomod.Snapshot) (string, string) {
		t.Helper()
		mod, err := (&builder{src: src, mods: mods}).goMod("/cache/src/x")
		if err != nil {
			t.Fatal(err)
		}
		return buildKey("cell", files, mod, mods, tc, false), mod
	}
	snapshot := func(get string) gomod.Snapshot {
		t.Helper()
		if _, err := s.Get(ctx, get); err != nil {
			t.Fatal(err)
		}
		sn, err := s.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		return sn
	}

	none, _ := key(gomod.Snapshot{})
	latest, mod := key(snapshot("example.com/greet"))
	again, _ := key(snapshot("example.com/greet@v1.1.0"))
	older, _ := key(snapshot("example.com/greet@v1.0.0"))
	if latest == none || older == latest || again != latest {
		t.Errorf("keys: none %s, latest %s, latest again %s, older %s", none, latest, again, older)
	}
	for _, want := range []string{"module " + BuildModulePath, "example.com/greet v1.1.0", ModulePath + " v0.0.0", "replace " + ModulePath + " => /cache/src/x"} {
		if !strings.Contains(mod, want) {
			t.Errorf("go.mod lacks %q:\n%s", want, mod)
		}
	}
}
