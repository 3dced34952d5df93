// Package gomod keeps the Go module requirements of a notebook session and
// resolves imports against them with the go command, so that plain cells,
// %mpirun builds and exported jobs all use the same module versions.
//
// The requirements live in a module of their own (a go.mod and go.sum in a
// directory the session owns, with no Go files). Everything that changes
// them is done by the go command itself (go get, go mod edit, go list
// -mod=mod), run with the user's Go environment: GOPROXY, GOFLAGS,
// GONOSUMDB, GOPRIVATE, the module cache. mpigo never talks to a module
// proxy on its own, so what works for `go get` in a terminal works here,
// and what fails fails with the go command's own words.
package gomod

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"golang.org/x/mod/modfile"
)

// SessionModule is the module path of the session's own module. It is never
// fetched: nothing can import it.
const SessionModule = "mpigo.local/session"

// LocalVersion is the version a local module is required at; a replace
// directive points the requirement at its directory, as Go's documentation
// recommends for modules that are not published.
const LocalVersion = "v0.0.0-00010101000000-000000000000"

// Env says how to run the go command.
type Env struct {
	// Go is the go command; "" means "go" found on PATH.
	Go string
	// Environ returns the environment the go command runs with; it is
	// called at each run, so that %env GOPROXY=... applies to the next
	// one. nil means os.Environ.
	Environ func() []string
	// Dir is where the session's module is kept; "" means a new temporary
	// directory, removed by Close.
	Dir string
}

// Session is the set of module requirements of one notebook session. Its
// methods may be called from several goroutines; they run one at a time.
type Session struct {
	env     Env
	dir     string
	tempDir bool

	mu sync.Mutex
}

// Open creates a session with no requirements.
func Open(env Env) (*Session, error) {
	if env.Go == "" {
		env.Go = "go"
	}
	if env.Environ == nil {
		env.Environ = os.Environ
	}
	s := &Session{env: env, dir: env.Dir}
	if s.dir == "" {
		dir, err := os.MkdirTemp("", "mpigo-modules-")
		if err != nil {
			return nil, fmt.Errorf("gomod: %w", err)
		}
		s.dir, s.tempDir = dir, true
	} else if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("gomod: %w", err)
	}
	if err := s.reset(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Dir is the directory of the session's module (go.mod, go.sum).
func (s *Session) Dir() string { return s.dir }

// Close removes the session's module if Open created its directory.
func (s *Session) Close() error {
	if s.tempDir {
		return os.RemoveAll(s.dir)
	}
	return nil
}

// Reset forgets every requirement (%reset --all).
func (s *Session) Reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reset()
}

func (s *Session) reset() error {
	mod := fmt.Sprintf("module %s\n\ngo %s\n", SessionModule, goVersion)
	if err := os.WriteFile(filepath.Join(s.dir, "go.mod"), []byte(mod), 0o600); err != nil {
		return fmt.Errorf("gomod: %w", err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "go.sum"), nil, 0o600); err != nil {
		return fmt.Errorf("gomod: %w", err)
	}
	return s.writeAsked(nil)
}

// askedFile lists, one per line, the modules the user asked for (by %go
// get, or by importing one of their packages).
const askedFile = "asked.txt"

// asked reads the modules the user asked for.
func (s *Session) asked() map[string]bool {
	b, _ := os.ReadFile(filepath.Join(s.dir, askedFile))
	m := map[string]bool{}
	for _, l := range strings.Fields(string(b)) {
		m[l] = true
	}
	return m
}

// writeAsked records the modules the user asked for.
func (s *Session) writeAsked(m map[string]bool) error {
	var lines []string
	for p := range m {
		lines = append(lines, p+"\n")
	}
	sort.Strings(lines)
	if err := os.WriteFile(filepath.Join(s.dir, askedFile), []byte(strings.Join(lines, "")), 0o600); err != nil {
		return fmt.Errorf("gomod: %w", err)
	}
	return nil
}

// goVersion is the go directive of a new session module: the oldest Go
// mpigo supports, so that a requirement never raises it beyond what its
// modules need (go get raises it when one needs more).
const goVersion = "1.24.0"

// Module is one module the session requires directly.
type Module struct {
	Path    string // module path
	Version string // required version; LocalVersion for a local module
	Dir     string // a local module's directory; "" otherwise
}

// Local reports whether m is a local module (replaced by a directory).
func (m Module) Local() bool { return m.Dir != "" }

// String is "path version" or "path => dir".
func (m Module) String() string {
	if m.Local() {
		return m.Path + " => " + m.Dir
	}
	return m.Path + " " + m.Version
}

// Modules returns the modules the session requires directly (those a cell
// or %go get asked for), sorted by path.
func (s *Session) Modules() ([]Module, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.modFile()
	if err != nil {
		return nil, err
	}
	return direct(f, s.asked()), nil
}

// direct lists the requirements of f that the user asked for, with their
// replacements.
func direct(f *modfile.File, asked map[string]bool) []Module {
	dirs := map[string]string{}
	for _, r := range f.Replace {
		if modfile.IsDirectoryPath(r.New.Path) {
			dirs[r.Old.Path] = r.New.Path
		}
	}
	var out []Module
	for _, r := range f.Require {
		if !asked[r.Mod.Path] {
			continue
		}
		out = append(out, Module{Path: r.Mod.Path, Version: r.Mod.Version, Dir: dirs[r.Mod.Path]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// modFile parses the session's go.mod.
func (s *Session) modFile() (*modfile.File, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, "go.mod"))
	if err != nil {
		return nil, fmt.Errorf("gomod: %w", err)
	}
	f, err := modfile.Parse("go.mod", b, nil)
	if err != nil {
		return nil, fmt.Errorf("gomod: the session's go.mod: %w", err)
	}
	return f, nil
}

// Snapshot is the session's requirements at one moment, for a build.
type Snapshot struct {
	GoMod, GoSum []byte
	// Locals are the local modules.
	Locals []Module
	// Key changes whenever a build with these requirements could differ:
	// go.mod, go.sum, and the files of the local modules (names, sizes,
	// modification times).
	Key string
}

// Empty reports whether the session requires nothing.
func (sn Snapshot) Empty() bool {
	f, err := modfile.Parse("go.mod", sn.GoMod, nil)
	return err == nil && len(f.Require) == 0
}

// Snapshot returns the session's requirements as they are now.
func (s *Session) Snapshot() (Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshot()
}

func (s *Session) snapshot() (Snapshot, error) {
	var sn Snapshot
	var err error
	if sn.GoMod, err = os.ReadFile(filepath.Join(s.dir, "go.mod")); err != nil {
		return sn, fmt.Errorf("gomod: %w", err)
	}
	if sn.GoSum, err = os.ReadFile(filepath.Join(s.dir, "go.sum")); err != nil && !os.IsNotExist(err) {
		return sn, fmt.Errorf("gomod: %w", err)
	}
	f, err := modfile.Parse("go.mod", sn.GoMod, nil)
	if err != nil {
		return sn, fmt.Errorf("gomod: the session's go.mod: %w", err)
	}
	for _, m := range direct(f, s.asked()) {
		if m.Local() {
			sn.Locals = append(sn.Locals, m)
		}
	}
	sn.Key = snapshotKey(sn)
	return sn, nil
}

// BuildModule returns the go.mod of a build module named module that has the
// session's requirements and replacements, edited by edit (which adds the
// build's own, mpigo's for instance). The build's go.sum is sn.GoSum plus
// the sums of what edit adds.
func (sn Snapshot) BuildModule(module string, edit func(*modfile.File) error) ([]byte, error) {
	f, err := modfile.Parse("go.mod", sn.GoMod, nil)
	if err != nil {
		return nil, fmt.Errorf("gomod: the session's go.mod: %w", err)
	}
	if err := f.AddModuleStmt(module); err != nil {
		return nil, fmt.Errorf("gomod: %w", err)
	}
	if edit != nil {
		if err := edit(f); err != nil {
			return nil, err
		}
	}
	f.Cleanup()
	b, err := f.Format()
	if err != nil {
		return nil, fmt.Errorf("gomod: %w", err)
	}
	return b, nil
}

// MergeSums returns the lines of go.sum files a and b, each once, sorted as
// the go command writes them.
func MergeSums(a, b []byte) []byte {
	seen := map[string]bool{}
	var lines []string
	for _, l := range strings.Split(string(a)+"\n"+string(b), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !seen[l] {
			seen[l] = true
			lines = append(lines, l)
		}
	}
	sort.Strings(lines)
	var buf bytes.Buffer
	for _, l := range lines {
		buf.WriteString(l)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}
