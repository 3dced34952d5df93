package build

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/mpigo/mpigo/mpimagic/program"
)

// ModulePath is the module the embedded sources belong to.
const ModulePath = "github.com/mpigo/mpigo"

// Sources is the part of mpigo's own source that programs build against:
// the files of packages mpi, display and mpimagic/rankio, and the module's
// go version.
type Sources struct {
	files     map[string][]byte // slash path → content
	goVersion string            // "1.26", from go.mod's go directive
	hash      string            // of the file names and contents
	exports   []string          // exported names of package mpi
}

// LoadSources picks the files a build needs from fsys (mpigo.Sources, or a
// stand-in in tests): the non-test Go, C and assembly files of mpi, display
// and mpimagic/rankio, their subpackages included but not testdata or
// internal test programs.
func LoadSources(fsys fs.FS) (*Sources, error) {
	e := &Sources{files: map[string][]byte{}}
	mod, err := fs.ReadFile(fsys, "go.mod")
	if err != nil {
		return nil, fmt.Errorf("embedded sources: %w", err)
	}
	e.goVersion = goDirective(string(mod))
	for _, root := range []string{"mpi", "display", "mpimagic/rankio"} {
		err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if name := d.Name(); name == "testdata" || name == "testprog" {
					return fs.SkipDir
				}
				return nil
			}
			if !BuildFile(d.Name()) {
				return nil
			}
			b, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			e.files[p] = b
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("embedded sources: %w", err)
		}
	}
	names := make([]string, 0, len(e.files))
	for p := range e.files {
		names = append(names, p)
	}
	sort.Strings(names)
	h := sha256.New()
	fmt.Fprintf(h, "go %s\n", e.goVersion)
	for _, p := range names {
		fmt.Fprintf(h, "%s %d\n", p, len(e.files[p]))
		h.Write(e.files[p])
	}
	e.hash = hex.EncodeToString(h.Sum(nil))[:20]
	e.exports = program.ExportedNames(e.files, "mpi")
	return e, nil
}

// BuildFile reports whether a file of a package directory is part of a
// build: Go (not tests), C, headers and assembly.
func BuildFile(name string) bool {
	switch path.Ext(name) {
	case ".go":
		return !strings.HasSuffix(name, "_test.go")
	case ".c", ".h", ".s", ".S", ".cc", ".cpp", ".hh", ".hpp":
		return true
	}
	return false
}

var goLine = regexp.MustCompile(`(?m)^go\s+(\d+\.\d+)`)

// goDirective returns the language version (1.N) of a go.mod, or 1.22.
func goDirective(mod string) string {
	if m := goLine.FindStringSubmatch(mod); m != nil {
		return m[1]
	}
	return "1.22"
}

// Files returns the sources by slash path (not a copy: do not change it).
func (e *Sources) Files() map[string][]byte { return e.files }

// GoVersion is the language version of mpigo's go.mod, e.g. "1.26".
func (e *Sources) GoVersion() string { return e.goVersion }

// Exports lists the exported names of package mpi, sorted.
func (e *Sources) Exports() []string { return e.exports }

// ModFile is the go.mod written next to the embedded packages.
func (e *Sources) ModFile() string {
	return fmt.Sprintf("module %s\n\ngo %s\n", ModulePath, e.goVersion)
}

// WriteTo makes sure dir/src/HASH holds the embedded module and returns
// that directory. It is written under a temporary name and renamed, so that
// concurrent writers (two kernels) never see it half written.
func (e *Sources) WriteTo(cacheDir string) (string, error) {
	dst := filepath.Join(cacheDir, "src", e.hash)
	if _, err := os.Stat(filepath.Join(dst, "go.mod")); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", fmt.Errorf("writing the mpi sources: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), e.hash+".tmp-")
	if err != nil {
		return "", fmt.Errorf("writing the mpi sources: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	write := func(rel string, b []byte) error {
		p := filepath.Join(tmp, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		return os.WriteFile(p, b, 0o600)
	}
	for rel, b := range e.files {
		if err := write(rel, b); err != nil {
			return "", fmt.Errorf("writing the mpi sources: %w", err)
		}
	}
	if err := write("go.mod", []byte(e.ModFile())); err != nil {
		return "", fmt.Errorf("writing the mpi sources: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		if _, serr := os.Stat(filepath.Join(dst, "go.mod")); serr == nil {
			return dst, nil // another process was first
		}
		return "", fmt.Errorf("writing the mpi sources: %w", err)
	}
	return dst, nil
}
