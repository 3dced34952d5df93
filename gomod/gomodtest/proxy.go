// Package gomodtest serves made-up modules to the go command from a
// directory laid out as a module proxy (GOPROXY=file:///...), so that tests
// of module resolution need no network and no real module.
package gomodtest

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

// Version is one version of a module: its files (slash path → content);
// go.mod is written for it when files have none.
type Version struct {
	Path, Version string
	Files         map[string]string
}

// Greet is a made-up module in two versions whose Hello says which:
// "hello v1" and "hello v1.1".
var Greet = []Version{
	{Path: "example.com/greet", Version: "v1.0.0", Files: map[string]string{
		"greet.go": "package greet\n\n// Hello greets.\nfunc Hello() string { return \"hello v1\" }\n"}},
	{Path: "example.com/greet", Version: "v1.1.0", Files: map[string]string{
		"greet.go": "package greet\n\n// Hello greets.\nfunc Hello() string { return \"hello v1.1\" }\n"}},
}

// Proxy writes versions into a new proxy directory and returns the
// environment that makes the go command use it and nothing else: GOPROXY,
// GOSUMDB=off (the sums are checked against go.sum only), GONOSUMDB,
// GOFLAGS, and a module cache of the test's own.
func Proxy(t testing.TB, versions ...Version) []string {
	t.Helper()
	root := t.TempDir()
	lists := map[string][]string{}
	for _, v := range versions {
		writeVersion(t, root, v)
		lists[v.Path] = append(lists[v.Path], v.Version)
	}
	for path, vs := range lists {
		sort.Strings(vs)
		dir := escapedDir(t, root, path)
		if err := os.WriteFile(filepath.Join(dir, "list"), []byte(strings.Join(vs, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return []string{
		"GOPROXY=file://" + filepath.ToSlash(root),
		"GOSUMDB=off",
		"GONOSUMDB=",
		"GOFLAGS=-modcacherw",
		"GOMODCACHE=" + t.TempDir(),
	}
}

// escapedDir is the @v directory of a module in the proxy.
func escapedDir(t testing.TB, root, path string) string {
	esc, err := module.EscapePath(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, filepath.FromSlash(esc), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// writeVersion writes the .info, .mod and .zip of one version.
func writeVersion(t testing.TB, root string, v Version) {
	t.Helper()
	files := map[string]string{}
	for k, c := range v.Files {
		files[k] = c
	}
	if _, ok := files["go.mod"]; !ok {
		files["go.mod"] = fmt.Sprintf("module %s\n\ngo 1.24\n", v.Path)
	}
	src := t.TempDir()
	for name, content := range files {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := escapedDir(t, root, v.Path)
	ev, err := module.EscapeVersion(v.Version)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, ev)
	info := fmt.Sprintf(`{"Version":%q,"Time":%q}`, v.Version, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339))
	if err := os.WriteFile(base+".info", []byte(info), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".mod", []byte(files["go.mod"]), 0o644); err != nil {
		t.Fatal(err)
	}
	z, err := os.Create(base + ".zip")
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	if err := zip.CreateFromDir(z, module.Version{Path: v.Path, Version: v.Version}, src); err != nil {
		t.Fatal(err)
	}
}
