package gomod

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
)

// goCmd runs the go command in the session's module and returns its
// output: stdout, then stderr. GOWORK is off (a go.work of the user's would otherwise
// take over the session's module); everything else is the user's.
func (s *Session) goCmd(ctx context.Context, args ...string) (string, error) {
	stdout, stderr, err := s.goCmdSplit(ctx, args...)
	return stdout + stderr, err
}

// goCmdSplit runs the go command and returns its stdout and its stderr.
func (s *Session) goCmdSplit(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	cmd := exec.CommandContext(ctx, s.env.Go, args...)
	cmd.Dir = s.dir
	cmd.Env = append(s.env.Environ(), "GOWORK=off")
	// go get starts git and friends: stop them all on cancel.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if ctx.Err() != nil {
		return out.String(), errOut.String(), ctx.Err()
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return out.String(), errOut.String(), failedError("the go command", s.env.Go, err.Error())
	}
	return out.String(), errOut.String(), err
}

// tried shows a go command as one would type it in the session's module.
func (s *Session) tried(args ...string) string {
	return "go " + strings.Join(args, " ") + " (in " + s.dir + ")"
}

// goproxy is the GOPROXY the go command sees.
func (s *Session) goproxy() string {
	for _, kv := range s.env.Environ() {
		if v, ok := strings.CutPrefix(kv, "GOPROXY="); ok {
			return v
		}
	}
	return ""
}

// Change is one direct requirement that a Get added or changed.
type Change struct {
	Module
	From string // the version before; "" if it was not required
}

// String is "added path version", "path old → new" or "path => dir".
func (c Change) String() string {
	switch {
	case c.Local():
		return "local " + c.Path + " => " + c.Dir
	case c.From == "":
		return "added " + c.Path + " " + c.Version
	}
	return c.Path + " " + c.From + " → " + c.Version
}

// Get adds or changes a requirement, as `go get` would: spec is
// MODULE[@VERSION] (a package path too, which requires its module), or a
// directory with a go.mod (./mylib, ../x, /abs/path, ~/x), which becomes
// a local module whose edits later builds pick up. It returns the direct
// requirements that changed.
func (s *Session) Get(ctx context.Context, spec string) ([]Change, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	before, err := s.modFile()
	if err != nil {
		return nil, err
	}
	asked := s.asked()
	if dir, ok := localDir(spec); ok {
		err = s.getLocal(ctx, spec, dir)
	} else {
		err = s.getRemote(ctx, spec)
	}
	if err != nil {
		return nil, err
	}
	after, err := s.modFile()
	if err != nil {
		return nil, err
	}
	return changes(direct(before, asked), direct(after, s.asked())), nil
}

// localDir reports whether spec names a directory rather than a module, and
// which (absolute).
func localDir(spec string) (string, bool) {
	switch {
	case spec == "." || spec == "..",
		strings.HasPrefix(spec, "./"), strings.HasPrefix(spec, "../"),
		filepath.IsAbs(spec):
	case spec == "~" || strings.HasPrefix(spec, "~/"):
		home, err := os.UserHomeDir()
		if err != nil {
			return "", false
		}
		spec = filepath.Join(home, spec[1:])
	default:
		return "", false
	}
	abs, err := filepath.Abs(spec)
	if err != nil {
		return "", false
	}
	return abs, true
}

// getRemote runs go get spec.
func (s *Session) getRemote(ctx context.Context, spec string) error {
	path, version, _ := strings.Cut(spec, "@")
	if err := module.CheckImportPath(path); err != nil {
		return badSpecError(spec, err.Error())
	}
	if version == "none" {
		return badSpecError(spec, "removing a requirement is %reset --all")
	}
	args := []string{"get", spec}
	out, err := s.goCmd(ctx, args...)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return classify(spec, s.tried(args...), out, s.goproxy())
	}
	return s.markDirect(path)
}

// markDirect records the modules that provide paths as asked for. The
// session's module has no Go files, so the go command marks every
// requirement "// indirect"; the record tells what the user asked for
// (%go list) from what those modules need.
func (s *Session) markDirect(paths ...string) error {
	f, err := s.modFile()
	if err != nil {
		return err
	}
	asked := s.asked()
	for _, p := range paths {
		best := ""
		for _, r := range f.Require {
			if (p == r.Mod.Path || strings.HasPrefix(p, r.Mod.Path+"/")) && len(r.Mod.Path) > len(best) {
				best = r.Mod.Path
			}
		}
		if best != "" {
			asked[best] = true
		}
	}
	return s.writeAsked(asked)
}

// getLocal requires the module in dir, replaced by dir.
func (s *Session) getLocal(ctx context.Context, spec, dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return badSpecError(spec, "no go.mod in "+dir+" (go mod init MODULE_PATH there makes it a module)")
	}
	path := modfile.ModulePath(b)
	if path == "" {
		return badSpecError(spec, dir+"/go.mod has no module line")
	}
	args := []string{"mod", "edit", "-require=" + path + "@" + LocalVersion, "-replace=" + path + "=" + dir}
	if out, err := s.goCmd(ctx, args...); err != nil {
		return classify(spec, s.tried(args...), out, s.goproxy())
	}
	if err := s.markDirect(path); err != nil {
		return err
	}
	// Load its packages once, so that the local module's own requirements
	// are resolved (and their sums recorded) now rather than at the next
	// build.
	list := []string{"list", "-mod=mod", "-deps", "-e", "-f", "{{if .Error}}{{.ImportPath}}: {{.Error}}{{end}}", path + "/..."}
	out, err := s.goCmd(ctx, list...)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return classify(spec, s.tried(list...), out, s.goproxy())
	}
	return nil
}

// changes compares two lists of direct requirements.
func changes(before, after []Module) []Change {
	old := map[string]Module{}
	for _, m := range before {
		old[m.Path] = m
	}
	var out []Change
	for _, m := range after {
		o, ok := old[m.Path]
		switch {
		case !ok:
			out = append(out, Change{Module: m})
		case o.Version != m.Version || o.Dir != m.Dir:
			out = append(out, Change{Module: m, From: o.Version})
		}
	}
	return out
}

// Package is an imported package as the session resolved it.
type Package struct {
	Path    string // import path
	Name    string // package name
	Dir     string // its source directory
	Module  string // its module's path
	Version string // its module's version ("" for a local module)
	Local   bool   // its module is a local one (%go get ./dir)
}

// Provide makes the packages importable: those that a required module
// already provides are used at its version; for the others, the module
// that provides each is required at its latest version, as `go get PACKAGE`
// does. Everything a build of them needs is then in the module cache.
func (s *Session) Provide(ctx context.Context, paths []string) ([]Package, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(paths) == 0 {
		return nil, nil
	}
	// go list -mod=mod requires, at its latest version, the module of a
	// package that no requirement provides, as go get would; go get is
	// the fallback for a go command that does not.
	pkgs, missing, err := s.list(ctx, paths)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		args := append([]string{"get"}, missing...)
		out, err := s.goCmd(ctx, args...)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, classify(strings.Join(missing, ", "), s.tried(args...), out, s.goproxy())
		}
		if pkgs, missing, err = s.list(ctx, paths); err != nil {
			return nil, err
		}
		if len(missing) > 0 {
			return nil, notFoundError(strings.Join(missing, ", "), s.tried(args...), "")
		}
	}
	if err := s.markDirect(paths...); err != nil {
		return nil, err
	}
	return pkgs, nil
}

// listed is what go list -json says of a package.
type listed struct {
	ImportPath, Name, Dir string
	Standard              bool
	DepOnly               bool
	Module                *struct {
		Path, Version string
		Replace       *struct{ Path, Version string }
	}
	Error *struct{ Err string }
}

// list loads paths and their dependencies (downloading what a build needs),
// and returns the packages, and those no required module provides.
func (s *Session) list(ctx context.Context, paths []string) ([]Package, []string, error) {
	args := append([]string{"list", "-mod=mod", "-deps", "-e", "-json=ImportPath,Name,Dir,Standard,DepOnly,Module,Error"}, paths...)
	out, stderr, err := s.goCmdSplit(ctx, args...)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, classify(strings.Join(paths, ", "), s.tried(args...), out+stderr, s.goproxy())
	}
	want := map[string]bool{}
	for _, p := range paths {
		want[p] = true
	}
	var pkgs []Package
	var missing []string
	dec := json.NewDecoder(strings.NewReader(out))
	for {
		var l listed
		if err := dec.Decode(&l); err == io.EOF {
			break
		} else if err != nil {
			return nil, nil, failedError(strings.Join(paths, ", "), s.tried(args...), trimOutput(stderr))
		}
		switch {
		case l.Error != nil && want[l.ImportPath] && isMissing(l.Error.Err):
			missing = append(missing, l.ImportPath)
		case l.Error != nil && want[l.ImportPath]:
			return nil, nil, classify(l.ImportPath, s.tried(args...), l.Error.Err, s.goproxy())
		case want[l.ImportPath] && l.Module != nil:
			p := Package{Path: l.ImportPath, Name: l.Name, Dir: l.Dir, Module: l.Module.Path, Version: l.Module.Version}
			if r := l.Module.Replace; r != nil && modfile.IsDirectoryPath(r.Path) {
				p.Version, p.Local = "", true
			}
			pkgs = append(pkgs, p)
		case want[l.ImportPath] && l.Standard:
			return nil, nil, notFoundError(l.ImportPath, s.tried(args...), "it is in Go's standard library, which needs no module")
		}
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].Path < pkgs[j].Path })
	return pkgs, missing, nil
}

// isMissing reports whether a go list error says that no required module
// provides the package (so go get may find one).
func isMissing(msg string) bool {
	return strings.Contains(msg, "no required module provides") || strings.Contains(msg, "cannot find module providing")
}
