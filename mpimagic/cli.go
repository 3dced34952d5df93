package mpimagic

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/mpigo/mpigo/mpimagic/report"

	"github.com/mpigo/mpigo/mpimagic/launch"

	"github.com/mpigo/mpigo/mpimagic/program"

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
	if err := launch.CheckAllocation(o.request(), l, o.env.Get, launch.Cores()); err != nil {
		return fail("%v", err)
	}
	for _, note := range []string{l.MPINote(o.request()), l.PlacementNote(o.request(), o.env.Get)} {
		if note != "" {
			verbose(note)
		}
	}
	wrap := m.startWrapper(ctx, tc, o.env)
	bc, err := m.cache()
	if err != nil {
		return fail("%v", err)
	}
	b, err := bc.Target(ctx, o.Target, tc, o.env, verbose)
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
	em := launch.NewEmitter(out)
	oc, err := launch.Run(runCtx, launch.Job{Log: m.log,
		Req: o.request(), Launcher: l, Wrapper: wrapper, Program: append([]string{b.Bin}, o.ProgramArgs...), Emitter: em, Verbose: verbose,
	})
	em.Close()
	if err != nil {
		return fail("%v", err)
	}
	if werr := report.Judge(oc, o.request(), l); werr != nil {
		fmt.Fprintln(stderr, "mpigo run: "+strings.Join(werr.Traceback, "\n"))
		if oc.Reason == launch.StopInterrupt {
			return 130
		}
		return 1
	}
	if o.Verbose {
		s := &report.Summary{Title: report.Title(oc, o.request(), l), Groups: report.Fold(oc.Results)}
		fmt.Fprint(stderr, s.Plain())
	}
	return 0
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
