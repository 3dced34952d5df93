package worker

import (
	"encoding/json"

	"github.com/mpigo/mpigo/debugproto"
	"github.com/mpigo/mpigo/goeval"
)

// The parent and the child exchange one JSON object per line: requests on the
// child's fd 3, replies and events on its fd 4. Cell output does not travel
// here: it is the child's own stdout and the cell's stderr (fd 5), with
// display records framed in-band (see package display) so that everything
// stays in the order the cell wrote it. The child answers a request only
// after the request's output is written, so the parent, once it has the
// reply, forwards what is left in those pipes before it answers the front
// end (see stream).

// Operations.
const (
	opExecute      = "execute"
	opComplete     = "complete"
	opInspect      = "inspect"
	opReset        = "reset"
	opSetenv       = "setenv"
	opChdir        = "chdir"
	opRestore      = "restore"
	opExportVars   = "exportVars"    // the session's variables, encoded to be carried to another interpreter
	opImportVars   = "importVars"    // variables carried from another interpreter, after a restore
	opImportSlice  = "importSlice"   // Name := a slice of values carried from the ranks (%px --out)
	opVariables    = "variables"     // the session's variables, for the debugger's variable explorer
	opVariableText = "variableText"  // one variable's value as text (richInspectVariables)
	opInterrupt    = "interrupt"     // no reply; Engine sends SIGINT instead: no request is read while a cell runs
	opInput        = "input"         // answers opInputRequest; no reply
	opInputRequest = "input_request" // child → parent, while a cell reads stdin
	opDone         = "done"          // child → parent, the reply to a request
	opReady        = "ready"         // child → parent, first: SIGINT now interrupts cells
	opDebug        = "debug"         // a debugger request for the cell that runs under the debugger (read while it runs)
	opDebugEvent   = "debug_event"   // child → parent, while a cell runs under the debugger: a DAP event
)

// request is a message from the parent to the child.
type request struct {
	ID         int64               `json:"id,omitempty"`
	Op         string              `json:"op"`
	Cell       int                 `json:"cell,omitempty"`
	Code       string              `json:"code,omitempty"`
	Cursor     int                 `json:"cursor,omitempty"`
	Detail     int                 `json:"detail,omitempty"`
	AllowStdin bool                `json:"allow_stdin,omitempty"`
	Key        string              `json:"key,omitempty"`
	Value      string              `json:"value,omitempty"`
	Unset      bool                `json:"unset,omitempty"`
	EOF        bool                `json:"eof,omitempty"`
	Dir        string              `json:"dir,omitempty"`
	Decls      []goeval.Decl       `json:"decls,omitempty"`
	Vars       []goeval.CarriedVar `json:"vars,omitempty"`  // for importVars, importSlice
	Name       string              `json:"name,omitempty"`  // importSlice: the variable
	JSONs      []json.RawMessage   `json:"jsons,omitempty"` // importSlice: the values as JSON
	// execute under the debugger: the cell's source path and the
	// breakpoints by path; debug: the DAP command and its arguments.
	Debug   *debugRun       `json:"debug,omitempty"`
	Command string          `json:"command,omitempty"`
	Args    json.RawMessage `json:"args,omitempty"`
}

// debugRun says how a cell runs under the debugger.
type debugRun struct {
	// Paths names a cell's source file from its code: this cell's, and
	// those of the cells run before, whose functions hold breakpoints too.
	Paths       debugproto.Paths `json:"paths"`
	Breakpoints map[string][]int `json:"breakpoints,omitempty"`
}

// reply is a message from the child to the parent.
type reply struct {
	ID         int64               `json:"id"`
	Op         string              `json:"op"`
	Fail       string              `json:"fail,omitempty"` // the operation itself failed
	CellError  *Error              `json:"cell_error,omitempty"`
	Result     *Result             `json:"result,omitempty"`
	Completion *Completion         `json:"completion,omitempty"`
	Inspection *Inspection         `json:"inspection,omitempty"`
	Decls      []goeval.Decl       `json:"decls,omitempty"`
	DeclsSet   bool                `json:"decls_set,omitempty"` // Decls is the whole new store
	Vars       []goeval.CarriedVar `json:"vars,omitempty"`      // exportVars: the variables carried
	Lost       []goeval.LostVar    `json:"lost,omitempty"`      // exportVars, importVars: those that could not be
	Variables  []goeval.VarInfo    `json:"variables,omitempty"` // variables
	Text       string              `json:"text,omitempty"`      // variableText
	// debug: the DAP response's body; debug_event: the event.
	DebugBody json.RawMessage   `json:"debug_body,omitempty"`
	Event     *debugproto.Event `json:"event,omitempty"`
}

// envToken names the environment variable that gives the child its token;
// display records use display.EnvToken with the same value.
const envToken = "MPIGO_WORKER_TOKEN"
