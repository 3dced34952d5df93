package mpimagic

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/mpigo/mpigo/gomod"
	"github.com/mpigo/mpigo/mpimagic/build"
	"github.com/mpigo/mpigo/mpimagic/environ"
)

// The modules of an export. A cell that imports packages of other modules
// than mpigo's is exported with the session's requirements: go.mod
// requires what the session requires (the versions the notebook used), and
// go.sum holds their sums, so that the job builds offline from the module
// cache (GOPROXY=off works where the cache holds them). A local module
// (%go get ./dir) stays replaced by its absolute directory: on a cluster
// that directory must be on a filesystem the nodes share. With --vendor,
// `go mod vendor` copies every package the program needs into DIR/vendor,
// and the job builds from there: no network, no module cache.

// exportGoMod is the go.mod of an export named module: mpigo's packages
// from ./mpigo and, when mods is not zero, the session's requirements.
func exportGoMod(module string, src *build.Sources, mods gomod.Snapshot) ([]byte, error) {
	if len(mods.GoMod) == 0 {
		return []byte(goMod(module, src.GoVersion())), nil
	}
	b, err := mods.BuildModule(module, func(f *modfile.File) error {
		return build.RequireMPIGo(f, "./mpigo", src.GoVersion())
	})
	if err != nil {
		return nil, err
	}
	var h strings.Builder
	h.WriteString("// A notebook cell exported by mpigo (%mpirun --export). Packages mpi and\n" +
		"// display come from ./mpigo; the other modules are those the notebook's\n" +
		"// session required, checked against go.sum: go build takes them from the\n" +
		"// module cache (or from vendor/, with --vendor), and needs no network when\n" +
		"// the cache holds them.\n")
	if len(mods.Locals) > 0 {
		h.WriteString("//\n// Local modules are used from their directories, by absolute path: on a\n" +
			"// cluster these must be on a filesystem the compute nodes share.\n")
		for _, l := range mods.Locals {
			fmt.Fprintf(&h, "//   %s => %s\n", l.Path, l.Dir)
		}
	}
	return append([]byte(h.String()), b...), nil
}

// moduleFiles are the go.mod and go.sum of an export (go.sum only when
// there are sums).
func moduleFiles(module string, src *build.Sources, mods gomod.Snapshot) ([]exportFile, error) {
	mod, err := exportGoMod(module, src, mods)
	if err != nil {
		return nil, err
	}
	files := []exportFile{{rel: "go.mod", data: mod, mode: 0o644}}
	if len(bytes.TrimSpace(mods.GoSum)) > 0 {
		files = append(files, exportFile{rel: "go.sum", data: mods.GoSum, mode: 0o644})
	}
	return files, nil
}

// vendorDir is the directory --vendor fills.
const vendorDir = "vendor"

// vendor runs `go mod vendor` on the export's files in a directory of its
// own, with the user's Go environment (GOPROXY, GOFLAGS=-mod=mod: what is
// missing is downloaded), and returns the files with vendor/ added and
// go.mod and go.sum as the go command left them; writeExport then writes
// them all, so that a later export replaces them like any other.
func vendor(ctx context.Context, files []exportFile, env environ.Env) ([]exportFile, error) {
	tmp, err := os.MkdirTemp("", "mpigo-vendor-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	for _, f := range files {
		p := filepath.Join(tmp, filepath.FromSlash(f.rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, f.data, 0o600); err != nil {
			return nil, err
		}
	}
	goBin, err := build.GoCommand(env)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, goBin, "mod", "vendor")
	cmd.Dir = tmp
	cmd.Env = environ.Merge(env.Child(), []string{"GOFLAGS=-mod=mod", "GOWORK=off"})
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("--vendor: go mod vendor: %v\n%s", err, strings.TrimSpace(string(out)))
	}
	return readVendored(tmp, files)
}

// readVendored returns files with go.mod and go.sum as dir holds them now,
// and the files of dir/vendor added, sorted.
func readVendored(dir string, files []exportFile) ([]exportFile, error) {
	var out []exportFile
	for _, f := range files {
		if f.rel == "go.mod" || f.rel == "go.sum" {
			continue
		}
		out = append(out, f)
	}
	var added []exportFile
	for _, rel := range []string{"go.mod", "go.sum"} {
		if b, err := os.ReadFile(filepath.Join(dir, rel)); err == nil {
			added = append(added, exportFile{rel: rel, data: b, mode: 0o644})
		}
	}
	err := filepath.WalkDir(filepath.Join(dir, vendorDir), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		added = append(added, exportFile{rel: filepath.ToSlash(rel), data: b, mode: 0o644})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("--vendor: reading vendor/: %w", err)
	}
	sort.Slice(added, func(i, j int) bool { return added[i].rel < added[j].rel })
	return append(out, added...), nil
}
