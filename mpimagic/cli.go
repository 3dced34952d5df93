package mpimagic

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/mpigo/mpigo/mpimagic/environ"
	"github.com/mpigo/mpigo/mpimagic/program"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mpigo/mpigo/cellio"
)

// RunCommand is `mpigo run [flags] FILE.go|DIR [ARGS...]`: it builds the
// program like a %mpirun cell (same cache, same embedded mpi package),
// launches it the same way and prints every line of rank N prefixed with
// "[rank N] ". It returns the exit status: 0 when every rank exited 0, 1
// when one failed or the build did, 2 for a bad command line, 130 when ctx
// was cancelled (Ctrl-C).
func (m *Magic) RunCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := Parse(args, ModeRun, m.environ())
	if err != nil {
		fmt.Fprintf(stderr, "mpigo run: %v\n\n%s", err, RunUsage)
		return 2
	}
	if o.Help {
		fmt.Fprint(stdout, RunUsage)
		return 0
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "mpigo run: "+format+"\n", a...)
		return 1
	}
	ctx, done, err := m.track(ctx)
	if err != nil {
		return fail("%v", err)
	}
	defer done()
	out := &termOutput{stdout: stdout, stderr: stderr}
	verbose := func(string) {}
	if o.Verbose {
		verbose = func(s string) { out.Stream("stderr", "mpigo: "+s+"\n") }
	}
	l, tc, err := m.setup(ctx, o)
	if err != nil {
		return fail("%v", err)
	}
	if err := checkAllocation(o, l, o.env.Get, physicalCores()); err != nil {
		return fail("%v", err)
	}
	for _, note := range []string{l.mpiNote(o), l.placementNote(o, o.env.Get)} {
		if note != "" {
			verbose(note)
		}
	}
	wrap := m.startWrapper(ctx, tc, o.env)
	b, err := m.buildTarget(ctx, o.Target, tc, o.env, verbose)
	if err != nil {
		var ce *program.CompileError
		if errors.As(err, &ce) {
			return fail("%s does not compile:\n%s", o.Target, strings.Join(ce.Lines, "\n"))
		}
		if ctx.Err() != nil {
			return 130
		}
		return fail("%v", err)
	}
	wrapper := wrap.wait()
	if wrapper == nil {
		return fail("no rank wrapper: neither the rankio binary nor mpigo itself could be found")
	}
	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if o.Timeout > 0 {
		runCtx, cancel = context.WithTimeout(ctx, o.Timeout)
	}
	defer cancel()
	em := newEmitter(out)
	oc, err := m.launch(runCtx, job{
		opts: o, l: l, wrapper: wrapper, program: append([]string{b.bin}, o.ProgramArgs...), em: em, verbose: verbose,
	})
	em.close()
	if err != nil {
		return fail("%v", err)
	}
	if werr := judge(oc, o, l); werr != nil {
		fmt.Fprintln(stderr, "mpigo run: "+strings.Join(werr.Traceback, "\n"))
		if oc.reason == stopInterrupt {
			return 130
		}
		return 1
	}
	if o.Verbose {
		s := &summary{title: summaryTitle(oc, o, l), groups: fold(oc.results)}
		fmt.Fprint(stderr, s.plain())
	}
	return 0
}

// buildTarget builds FILE.go, the package main in DIR, or the module in
// DIR (when it has a go.mod).
func (m *Magic) buildTarget(ctx context.Context, target string, tc *toolchain, env environ.Env, verbose func(string)) (*built, error) {
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
		return m.build(ctx, binName(target), files, tc, env, verbose)
	}
	if _, err := os.Stat(filepath.Join(target, "go.mod")); err == nil {
		return m.buildModule(ctx, target, tc, env, verbose)
	}
	entries, err := os.ReadDir(target)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() || !buildFile(e.Name()) {
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
	return m.build(ctx, binName(target), files, tc, env, verbose)
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

// buildModule builds the module in dir with a go.work that points
// github.com/mpigo/mpigo at the embedded sources. The module's other
// dependencies come the usual way (GOPROXY and GOFLAGS are left alone).
func (m *Magic) buildModule(ctx context.Context, dir string, tc *toolchain, env environ.Env, verbose func(string)) (*built, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	src, err := m.embedded()
	if err != nil {
		return nil, err
	}
	cache, err := m.cacheDir()
	if err != nil {
		return nil, err
	}
	srcDir, err := src.writeTo(cache)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(abs))
	out := filepath.Join(cache, "run", hex.EncodeToString(sum[:])[:24])
	if err := os.MkdirAll(out, 0o700); err != nil {
		return nil, fmt.Errorf("creating the build directory: %w", err)
	}
	work := filepath.Join(out, "go.work")
	ws := fmt.Sprintf("go %s\n\nuse %s\n\nreplace %s => %s\n", src.goVersion, abs, modulePath, srcDir)
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
	return &built{bin: bin, took: time.Since(start)}, nil
}

// termOutput is a cellio.Output for a terminal: streams go to stdout and
// stderr as they are, displays as their text/plain.
type termOutput struct {
	mu             sync.Mutex
	stdout, stderr io.Writer
}

// Stream writes text to stdout or stderr.
func (t *termOutput) Stream(name, text string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if name == "stderr" {
		io.WriteString(t.stderr, text)
	} else {
		io.WriteString(t.stdout, text)
	}
}

// Display prints the text/plain of a new display (updates are skipped).
func (t *termOutput) Display(d cellio.Display) {
	if d.Clear || d.Update {
		return
	}
	if s, ok := d.Data["text/plain"].(string); ok {
		t.Stream("stdout", strings.TrimSuffix(s, "\n")+"\n")
	}
}

// Input fails: programs run by mpigo run read no input through mpigo.
func (t *termOutput) Input(string, bool) (string, error) {
	return "", errors.New("no input in mpigo run")
}
