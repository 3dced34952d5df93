package mpimagic

import (
	"os"
	"path/filepath"
	"strings"
)

// Env is the environment a cell or an `mpigo run` works with: the
// process's, read once when it starts (Magic.environ) and passed down in
// its Options, so that what it does, and the caches it keys, depend on
// this value and not on the shell the code or its tests run in (inside
// salloc, inside a job step).
type Env struct{ list []string }

// NewEnv returns an environment of KEY=VALUE entries (later ones win).
func NewEnv(list ...string) Env { return Env{append([]string(nil), list...)} }

// Get returns the value of k, "" when it is not set.
func (e Env) Get(k string) string {
	v := ""
	for _, kv := range e.list {
		if name, val, ok := strings.Cut(kv, "="); ok && name == k {
			v = val
		}
	}
	return v
}

// List returns the entries, for a child process.
func (e Env) List() []string { return append([]string(nil), e.list...) }

// key returns the values of names, a cache key's part that they decide.
func (e Env) key(names ...string) string {
	var b strings.Builder
	for _, k := range names {
		b.WriteString("\x00" + e.Get(k))
	}
	return b.String()
}

// lookPath finds an executable as exec.LookPath does, on the PATH of e.
func (e Env) lookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		if isExecutable(name) {
			return name, nil
		}
		return "", &notFoundError{name}
	}
	for _, dir := range filepath.SplitList(e.Get("PATH")) {
		if dir == "" {
			dir = "."
		}
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p, nil
		}
	}
	return "", &notFoundError{name}
}

// notFoundError is an executable that is not on PATH.
type notFoundError struct{ name string }

// Error implements error.
func (e *notFoundError) Error() string {
	return "exec: " + `"` + e.name + `"` + ": executable file not found in $PATH"
}

// environ returns the environment of a cell starting now: Config.Environ's,
// or the process's.
func (m *Magic) environ() Env {
	if m.cfg.Environ != nil {
		return NewEnv(m.cfg.Environ()...)
	}
	return NewEnv(os.Environ()...)
}
