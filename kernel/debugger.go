package kernel

import (
	"context"

	"github.com/mpigo/mpigo/debugproto"
)

// Debugger is what an Engine implements to be debugged from JupyterLab
// (the Jupyter Debug Protocol). The kernel answers the requests that need
// no interpreter itself (initialize, debugInfo, dumpCell, source,
// setBreakpoints, ...; see handleDebug) and keeps the session's state
// (debugproto.Session); it calls the engine for the session's variables
// while nothing is stopped, tells it the session's configuration whenever
// it changes, and forwards the requests that need a stopped interpreter.
//
// The kernel serves debug_request on the control channel, concurrently
// with the shell, so these methods are called while Execute runs: one that
// needs the interpreter idle must return at once with an error rather than
// wait for the cell (the control channel must keep answering).
type Debugger interface {
	// DebugVariables lists the session's variables (what the cells
	// declared), for JupyterLab's variable explorer: name, type, value as
	// text, and Children for the fields, elements or entries of structs,
	// slices, arrays and maps, bounded in depth and count. While the
	// interpreter runs a cell it fails with debugproto.ErrInterpreterBusy.
	DebugVariables(ctx context.Context) ([]debugproto.Variable, error)
	// DebugRichVariable returns the MIME bundle of the session's variable
	// name (at least text/plain), for richInspectVariables.
	DebugRichVariable(ctx context.Context, name string) (map[string]any, error)
	// DebugConfigure hands the engine the debug session's configuration:
	// on attach, after each setBreakpoints and setExceptionBreakpoints, and
	// on disconnect (Enabled false). The engine runs cells under its
	// debugger while Enabled, compiling each cell under the path Paths
	// gives its code so that breakpoints set by source path match, and
	// reports stops and resumptions through Events.
	DebugConfigure(ctx context.Context, cfg debugproto.Config) error
	// DebugRequest answers a request that needs a stopped interpreter
	// (see forwardedCommands): stackTrace, scopes, variables, evaluate,
	// richInspectVariables, continue, next, stepIn, stepOut, pause,
	// threads. The kernel sends it
	// only while a thread is stopped, except pause, which stops a running
	// cell. The response's seq is set by the kernel.
	DebugRequest(ctx context.Context, req debugproto.Request) (debugproto.Response, error)
}

// forwardedCommands are the requests the engine answers (DebugRequest).
var forwardedCommands = map[string]bool{
	"stackTrace": true, "scopes": true, "variables": true, "evaluate": true,
	"richInspectVariables": true, "continue": true, "next": true, "stepIn": true, "stepOut": true, "pause": true,
	"threads": true,
}

// startedCommands need initialize first, as in ipykernel.
var startedCommands = map[string]bool{
	"attach": true, "configurationDone": true, "dumpCell": true, "setBreakpoints": true,
	"setExceptionBreakpoints": true, "source": true,
}
