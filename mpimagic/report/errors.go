package report

import (
	"strings"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/mpimagic/launch"
)

// The errors of %mpirun cells, one constructor per kind; the kind is what
// the notebook shows (the ename of the error reply). A traceback, where
// one is given, starts with "Kind: value" as Jupyter shows it.

// MagicError is a failure of the magic itself: its cache, its sources,
// the rank wrapper.
func MagicError(err error) *cellio.Error {
	return &cellio.Error{Name: cellio.MagicError, Value: err.Error()}
}

// MPIError is an MPI that cannot be used: no launcher, no toolchain, a
// launch that did not start.
func MPIError(err error) *cellio.Error {
	return &cellio.Error{Name: cellio.MPIError, Value: err.Error()}
}

// stopKinds are the kinds of the cells whose ranks were stopped, by why.
var stopKinds = map[launch.StopReason]cellio.Kind{
	launch.StopInterrupt: cellio.Interrupted, launch.StopTimeout: cellio.Timeout, launch.StopCancelled: cellio.Cancelled,
}

// Stopped is a cell stopped before its end: interrupted (also while its
// program was being built), stopped by --timeout or SLURM's time limit,
// or its batch job cancelled; more follows the traceback's first line.
func Stopped(why launch.StopReason, value string, more ...string) *cellio.Error {
	kind := stopKinds[why]
	return &cellio.Error{Name: kind, Value: value, Traceback: append([]string{string(kind) + ": " + value}, more...)}
}

// withTraceback is an error of kind whose traceback is "kind: value".
func withTraceback(kind cellio.Kind, value string) *cellio.Error {
	return &cellio.Error{Name: kind, Value: value, Traceback: []string{string(kind) + ": " + value}}
}

// ExportError is an --export that could not write its files.
func ExportError(err error) *cellio.Error { return withTraceback(cellio.ExportError, err.Error()) }

// BuildError is a build that failed for another reason than the code.
func BuildError(value string) *cellio.Error { return withTraceback(cellio.BuildError, value) }

// UsageError is a bad %mpirun line: the reason, then the usage (if any).
func UsageError(reason, usage string) *cellio.Error {
	tb := []string{"UsageError: " + reason}
	if usage != "" {
		tb = append(tb, "", "usage: "+strings.TrimRight(usage, "\n"))
	}
	return &cellio.Error{Name: cellio.UsageError, Value: reason, Traceback: tb}
}

// CompileError is a program that does not compile: the compiler's first
// message, with its traceback.
func CompileError(value string, tb []string) *cellio.Error {
	return &cellio.Error{Name: cellio.CompileError, Value: value, Traceback: tb}
}

// SubmitError is an sbatch that refused the job, with its traceback (see
// submitError).
func SubmitError(value string, tb []string) *cellio.Error {
	return &cellio.Error{Name: cellio.SubmitError, Value: value, Traceback: tb}
}

// LaunchError is a launcher that failed before the ranks ran, with its
// traceback.
func LaunchError(value string, tb []string) *cellio.Error {
	return &cellio.Error{Name: cellio.LaunchError, Value: value, Traceback: tb}
}

// RankError is a run where ranks failed, with its traceback (nil: the
// value alone).
func RankError(value string, tb []string) *cellio.Error {
	if tb == nil {
		tb = []string{"RankError: " + value}
	}
	return &cellio.Error{Name: cellio.RankError, Value: value, Traceback: tb}
}

// ImportError is an import that no module could provide: value names the
// import and its cell line, tb (nil: the value alone) says what was tried
// and how to make the module available.
func ImportError(value string, tb []string) *cellio.Error {
	if tb == nil {
		tb = []string{string(cellio.ImportError) + ": " + value}
	}
	return &cellio.Error{Name: cellio.ImportError, Value: value, Traceback: tb}
}
