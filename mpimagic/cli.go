package mpimagic

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/gomod"
	"github.com/mpigo/mpigo/mpimagic/build"
	"github.com/mpigo/mpigo/mpimagic/launch"
	"github.com/mpigo/mpigo/mpimagic/program"
	"github.com/mpigo/mpigo/mpimagic/report"
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
	r, ctx, end, err := m.startRun(ctx, o, &termOutput{stdout: stdout, stderr: stderr}, "stderr", false)
	if err != nil {
		fmt.Fprintf(stderr, "mpigo run: %v\n", err)
		return 1
	}
	defer end()
	fail := func(format string, a ...any) int {
		r.em.Close() // what --verbose said before
		fmt.Fprintf(stderr, "mpigo run: "+format+"\n", a...)
		return 1
	}
	if err := r.setup(ctx, true); err != nil {
		return fail("%v", err)
	}
	for _, note := range []string{r.l.MPINote(r.req), r.l.PlacementNote(r.req, o.env.Get)} {
		if note != "" {
			r.verbose(note)
		}
	}
	err = r.build(ctx, func() (*build.Program, error) {
		bc, err := m.cache()
		if err != nil {
			return nil, err
		}
		return bc.Target(ctx, o.Target, r.provideFiles(ctx), r.tc, o.env, r.verbose)
	})
	var ce *program.CompileError
	var ie *importError
	switch {
	case errors.As(err, &ie):
		return fail("%v", ie)
	case errors.As(err, &ce):
		return fail("%s does not compile:\n%s", o.Target, strings.Join(ce.Lines, "\n"))
	case err != nil && ctx.Err() != nil:
		return 130
	case err != nil:
		return fail("%v", err)
	}
	oc, err := r.launch(ctx, o.ProgramArgs, nil, nil)
	r.em.Close() // every rank's output before the verdict
	if err != nil {
		return fail("%v", err)
	}
	return r.verdict(oc, stderr)
}

// provideFiles is provide for the files of a FILE.go or DIR: the
// positions of imports name the files as the command line did.
func (r *run) provideFiles(ctx context.Context) build.Provider {
	return func(files map[string][]byte) (gomod.Snapshot, error) {
		dir := r.o.Target
		if filepath.Ext(dir) == ".go" {
			dir = filepath.Dir(dir)
		}
		return r.provide(ctx, program.FileImports(files, dir))
	}
}

// verdict reports the end of an mpigo run on stderr (the summary with
// --verbose) and returns its exit status.
func (r *run) verdict(oc *launch.Outcome, stderr io.Writer) int {
	if werr := report.Judge(oc, r.req, r.l); werr != nil {
		fmt.Fprintln(stderr, "mpigo run: "+strings.Join(werr.Traceback, "\n"))
		if oc.Reason == launch.StopInterrupt {
			return 130
		}
		return 1
	}
	if r.o.Verbose {
		s := &report.Summary{Title: report.Title(oc, r.req, r.l), Groups: report.Fold(oc.Results)}
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
