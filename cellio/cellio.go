// Package cellio holds the types of a cell's request and of what it produces
// (output, result, error, completions, inspections), shared by the kernel,
// the engine that runs plain cells (package worker) and the cell magics
// (package mpimagic), which import nothing else of each other for them.
package cellio

import "github.com/mpigo/mpigo/display"

// Output receives what a running cell produces. Stream and Display are called
// from one goroutine at a time, in the order the cell produced the output;
// Input may be called concurrently with them.
type Output interface {
	// Stream delivers text the cell wrote; name is "stdout" or "stderr".
	Stream(name, text string)
	// Display delivers rich output (display_data, or update_display_data when
	// d.Update is set).
	Display(d Display)
	// Input asks the front end for a line of input (input_request); it is only
	// called when the request allowed stdin.
	Input(prompt string, password bool) (string, error)
}

// Display is one rich output: a MIME bundle with optional metadata, and a
// display id when it can be updated in place (update_display_data when
// Update is set, clear_output when Clear is). It is the message a display
// record carries (package display), so that a record a cell or a rank
// writes becomes an output as it is.
type Display = display.Message

// Request is one cell to execute.
type Request struct {
	Code       string // Go source of the cell, magics already removed
	Cell       int    // execution count, used to name the cell in positions ("cell[3]:2:5")
	AllowStdin bool   // whether reads of os.Stdin may ask the front end
}

// Result is the value of a cell's final bare expression as a MIME bundle
// (at least "text/plain"); Data is nil when the cell has no value to show.
type Result struct {
	Data map[string]any `json:"data,omitempty"`
}

// Error is a cell that failed: compile error, panic, os.Exit, interrupt or a
// crash of the interpreter process. Its fields map to Jupyter's error message.
type Error struct {
	Name      Kind     `json:"ename"`
	Value     string   `json:"evalue"`
	Traceback []string `json:"traceback"`
}

// Error implements error: "Name: Value".
func (e *Error) Error() string { return string(e.Name) + ": " + e.Value }

// Kind is the ename Jupyter shows for a failed cell, one per way a cell
// fails. Its value is what the notebook shows and front ends and tests
// match on: it never changes. Code tells kinds apart by these constants,
// never by the string.
type Kind string

// The kinds of plain cells, run by the Go interpreter (packages goeval and
// worker).
const (
	// SyntaxError is a cell that does not parse.
	SyntaxError Kind = "SyntaxError"
	// CompileError is a cell that parses but does not compile, in the
	// interpreter or, for %mpirun, with the Go toolchain.
	CompileError Kind = "CompileError"
	// ImportError is a cell that imports a package that cannot be had: the
	// interpreter lacks it (neither the standard library nor display nor a
	// package compiled into its binary) and no module provides it, it
	// cannot be downloaded, or an interpreter with it could not be built.
	ImportError Kind = "ImportError"
	// Panic is a cell that panicked; the ename is Go's own word, in lower
	// case.
	Panic Kind = "panic"
	// Exit is a cell that called os.Exit (or log.Fatal...).
	Exit Kind = "Exit"
	// Interrupted is a cell the user interrupted.
	Interrupted Kind = "Interrupted"
	// InterpreterCrashed is a cell whose interpreter process died; the
	// interpreter was restarted.
	InterpreterCrashed Kind = "InterpreterCrashed"
	// GenericError is a cell that failed with an error of no kind of its
	// own: its ename is plain "Error".
	GenericError Kind = "Error"
)

// The kinds of line magics (package kernel) and of %mpirun cells (package
// mpimagic).
const (
	// UsageError is a magic used wrongly: unknown magic, bad options.
	UsageError Kind = "UsageError"
	// MagicError is a magic that failed for another reason than its use.
	MagicError Kind = "MagicError"
	// MPIError is an MPI that cannot be used: no launcher, no toolchain.
	MPIError Kind = "MPIError"
	// BuildError is a %mpirun program whose build failed for another
	// reason than its code.
	BuildError Kind = "BuildError"
	// ExportError is an --export that could not write its files.
	ExportError Kind = "ExportError"
	// SubmitError is a batch job that sbatch refused.
	SubmitError Kind = "SubmitError"
	// LaunchError is an MPI launcher that failed before the ranks ran.
	LaunchError Kind = "LaunchError"
	// RankError is a run where ranks failed.
	RankError Kind = "RankError"
	// Timeout is a run stopped by --timeout or by the batch system's time
	// limit.
	Timeout Kind = "Timeout"
	// Cancelled is a batch job cancelled outside the notebook.
	Cancelled Kind = "Cancelled"
)

// Completion answers complete_request; Start and End are code point offsets.
type Completion struct {
	Matches []string `json:"matches"`
	Start   int      `json:"cursor_start"`
	End     int      `json:"cursor_end"`
	// Types gives what each match names, index for index ("function",
	// "variable", "class", "module", ...: see goeval's Kind constants); nil
	// when unknown. Signatures likewise gives a function's signature, or "".
	Types      []string `json:"types,omitempty"`
	Signatures []string `json:"signatures,omitempty"`
}

// Inspection answers inspect_request.
type Inspection struct {
	Found bool           `json:"found"`
	Data  map[string]any `json:"data"`
}
