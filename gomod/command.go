package gomod

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// Usage is the help of the %go magic.
const Usage = `%go get MODULE[@VERSION] ...   require a module (a package path requires its module;
                               @latest, @v1.2.3, @master as with go get)
%go get ./path/to/module       use a local module (a directory with a go.mod); its edits
                               are picked up by the next cell
%go list                       the modules the session requires, and where they come from
Cells may also just import a package: its module is required at its latest version.
%reset --all forgets the requirements.`

// UsageError is a %go line that names no known subcommand, or lacks its
// arguments.
type UsageError struct{ Msg string }

// Error says what is wrong and how %go is used.
func (e *UsageError) Error() string { return e.Msg + "\nusage:\n" + Usage }

// usageError is the one constructor of UsageError.
func usageError(format string, args ...any) *UsageError {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// Command runs the %go magic's arguments against the session and writes
// what it did to w.
func (s *Session) Command(ctx context.Context, args []string, w io.Writer) error {
	if len(args) == 0 {
		return usageError("%%go needs a subcommand")
	}
	switch args[0] {
	case "get":
		if len(args) == 1 {
			return usageError("%%go get needs a module path or a directory")
		}
		return s.getAll(ctx, args[1:], w)
	case "list":
		if len(args) > 1 {
			return usageError("%%go list takes no arguments")
		}
		return s.writeList(w)
	case "help", "-h", "--help":
		io.WriteString(w, Usage+"\n")
		return nil
	}
	return usageError("%%go %s: unknown subcommand (get, list)", args[0])
}

// getAll runs Get for each spec, in order, stopping at the first failure.
func (s *Session) getAll(ctx context.Context, specs []string, w io.Writer) error {
	for _, spec := range specs {
		if strings.HasPrefix(spec, "-") {
			return usageError("%%go get: flags are not supported (%s)", spec)
		}
		changes, err := s.Get(ctx, spec)
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			fmt.Fprintf(w, "go get %s: nothing changed\n", spec)
		}
		for _, c := range changes {
			fmt.Fprintf(w, "go get %s: %s\n", spec, c)
		}
	}
	return nil
}

// writeList writes the session's modules, one per line.
func (s *Session) writeList(w io.Writer) error {
	mods, err := s.Modules()
	if err != nil {
		return err
	}
	if len(mods) == 0 {
		io.WriteString(w, "The session requires no module: cells use the standard library, mpi and display (import a package, or %go get MODULE, to add one).\n")
		return nil
	}
	fmt.Fprintln(w, "Modules the session requires:")
	for _, m := range mods {
		if m.Local() {
			fmt.Fprintf(w, "  %s (local: %s)\n", m.Path, m.Dir)
		} else {
			fmt.Fprintf(w, "  %s %s\n", m.Path, m.Version)
		}
	}
	return nil
}
