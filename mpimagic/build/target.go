package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/version"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/mpigo/mpigo/gomod"
	"github.com/mpigo/mpigo/mpimagic/environ"
)

// Provider gives the module requirements of a program made of files (file
// name → content): those of the packages it imports beyond the standard
// library and mpigo's module.
type Provider func(files map[string][]byte) (gomod.Snapshot, error)

// Target builds FILE.go, the package main in DIR, or the module in DIR
// (when it has a go.mod, with its own requirements). For FILE.go or a DIR
// without go.mod, provide (may be nil: none) gives the requirements.
func (c *Cache) Target(ctx context.Context, target string, provide Provider, tc *Toolchain, env environ.Env, verbose func(string)) (*Program, error) {
	fi, err := os.Stat(target)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	if !fi.IsDir() {
		if filepath.Ext(target) != ".go" {
			return nil, fmt.Errorf("%s: want a .go file or a directory", target)
		}
		b, err := os.ReadFile(target)
		if err != nil {
			return nil, err
		}
		files[filepath.Base(target)] = b
		return c.buildFiles(ctx, binName(target), files, provide, tc, env, verbose)
	}
	if _, err := os.Stat(filepath.Join(target, "go.mod")); err == nil {
		return c.buildModule(ctx, target, tc, env, verbose)
	}
	entries, err := os.ReadDir(target)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() || !BuildFile(e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(target, e.Name()))
		if err != nil {
			return nil, err
		}
		files[e.Name()] = b
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no Go files", target)
	}
	return c.buildFiles(ctx, binName(target), files, provide, tc, env, verbose)
}

// buildFiles builds files with the requirements provide gives them.
func (c *Cache) buildFiles(ctx context.Context, name string, files map[string][]byte, provide Provider, tc *Toolchain, env environ.Env, verbose func(string)) (*Program, error) {
	var mods gomod.Snapshot
	if provide != nil {
		var err error
		if mods, err = provide(files); err != nil {
			return nil, err
		}
	}
	return c.BuildModules(ctx, name, files, mods, tc, env, verbose)
}

// binName names the binary of a FILE.go or DIR: its base name, without .go.
func binName(target string) string {
	abs, err := filepath.Abs(target)
	if err != nil {
		abs = target
	}
	name := strings.TrimSuffix(filepath.Base(abs), ".go")
	if name == "" || name == "." || name == "/" || strings.HasPrefix(name, "-") {
		return "prog"
	}
	return name
}

var modGoLine = regexp.MustCompile(`(?m)^go\s+([0-9][^\s/]*)`)

// workGoVersion is the go line of the go.work that builds the module whose
// go.mod is mod: the newer of src (the embedded sources' language version,
// from mpigo's go.mod) and the module's own go line, since go refuses a
// go.work older than a module it uses ("module . listed in go.work file
// requires go >= 1.26.8, but go.work lists go 1.24").
func workGoVersion(src, mod string) string {
	m := modGoLine.FindStringSubmatch(mod)
	if m == nil || !version.IsValid("go"+m[1]) || version.Compare("go"+m[1], "go"+src) <= 0 {
		return src
	}
	return m[1]
}

// buildModule builds the module in dir with a go.work that points
// github.com/mpigo/mpigo at the embedded sources. The module's other
// dependencies come the usual way (GOPROXY and GOFLAGS are left alone).
func (c *Cache) buildModule(ctx context.Context, dir string, tc *Toolchain, env environ.Env, verbose func(string)) (*Program, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	src, cache := c.src, c.dir
	srcDir, err := src.WriteTo(cache)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(abs))
	out := filepath.Join(cache, "run", hex.EncodeToString(sum[:])[:24])
	if err := os.MkdirAll(out, 0o700); err != nil {
		return nil, fmt.Errorf("creating the build directory: %w", err)
	}
	mod, err := os.ReadFile(filepath.Join(abs, "go.mod"))
	if err != nil {
		return nil, err
	}
	work := filepath.Join(out, "go.work")
	ws := fmt.Sprintf("go %s\n\nuse %s\n\nreplace %s => %s\n", workGoVersion(src.goVersion, string(mod)), abs, ModulePath, srcDir)
	if err := os.WriteFile(work, []byte(ws), 0o600); err != nil {
		return nil, err
	}
	name := binName(abs)
	tmp := filepath.Join(out, fmt.Sprintf("%s.tmp-%d", name, os.Getpid()))
	ldflags := "-s -w"
	argv := []string{"build", "-ldflags=" + ldflags}
	if tc.tags != "" {
		argv = append(argv, "-tags="+tc.tags)
	}
	argv = append(argv, "-o", tmp, ".")
	goEnv := []string{"GOWORK=" + work, "GOTOOLCHAIN=local", "CGO_ENABLED=1"}
	if tc.cc != "" {
		goEnv = append(goEnv, "CC="+tc.cc)
	}
	verbose(buildCmd{dir: abs, env: goEnv, argv: append([]string{tc.goBin}, argv...)}.String())
	start := time.Now()
	cmd := exec.CommandContext(ctx, tc.goBin, argv...)
	cmd.Dir = abs
	cmd.Env = environ.Merge(env.Child(), goEnv)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	outb, err := cmd.CombinedOutput()
	if err != nil {
		os.Remove(tmp)
		return nil, buildError(string(outb), err)
	}
	bin := filepath.Join(out, name)
	if err := os.Rename(tmp, bin); err != nil {
		return nil, err
	}
	return &Program{Bin: bin, Took: time.Since(start)}, nil
}
