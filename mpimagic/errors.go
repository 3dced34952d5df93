package mpimagic

import "github.com/mpigo/mpigo/cellio"

// The errors of %mpirun cells, one constructor per kind; the kind's name
// is what the notebook shows (the ename of the error reply). usageError
// and compileError (magic.go) and judge's (verdict.go) are the others.

// magicError is a failure of the magic itself: its cache, its sources,
// the rank wrapper.
func magicError(err error) *cellio.Error {
	return &cellio.Error{Name: cellio.MagicError, Value: err.Error()}
}

// mpiError is an MPI that cannot be used: no launcher, no toolchain, a
// launch that did not start.
func mpiError(err error) *cellio.Error {
	return &cellio.Error{Name: cellio.MPIError, Value: err.Error()}
}

// interruptedError is a cell interrupted before its ranks ran: what was
// under way.
func interruptedError(what string) *cellio.Error {
	return &cellio.Error{Name: cellio.Interrupted, Value: "the cell was interrupted " + what}
}

// withTraceback is an error of the kind name whose traceback starts with
// "name: value", then tb.
func withTraceback(name cellio.Kind, value string, tb ...string) *cellio.Error {
	return &cellio.Error{Name: name, Value: value, Traceback: append([]string{string(name) + ": " + value}, tb...)}
}

// exportError is an --export that could not write its files.
func exportError(err error) *cellio.Error { return withTraceback(cellio.ExportError, err.Error()) }

// buildFailed is a build that failed for another reason than the code.
func buildFailed(value string) *cellio.Error { return withTraceback(cellio.BuildError, value) }

// refusedJob is an sbatch that refused the job, with its traceback (see
// submitError).
func refusedJob(value string, tb []string) *cellio.Error {
	return &cellio.Error{Name: cellio.SubmitError, Value: value, Traceback: tb}
}

// launchError is a launcher that failed before the ranks ran, with its
// traceback.
func launchError(value string, tb []string) *cellio.Error {
	return &cellio.Error{Name: cellio.LaunchError, Value: value, Traceback: tb}
}

// failedRanks is a run where ranks failed, with its traceback (nil: the
// value alone).
func failedRanks(value string, tb []string) *cellio.Error {
	if tb == nil {
		tb = []string{"RankError: " + value}
	}
	return &cellio.Error{Name: cellio.RankError, Value: value, Traceback: tb}
}
