package kernel

import (
	"context"
	"errors"
	"strings"

	"github.com/mpigo/mpigo/debugproto"
)

// debugAttach starts debugging cells: the engine gets the configuration.
func (k *kernel) debugAttach(ctx context.Context, s *debugproto.Session, _ debugproto.Request) (any, error) {
	k.configureDebugger(ctx, s, true)
	return nil, nil
}

// debugDisconnect ends the session: breakpoints are forgotten and cells run
// without the debugger again.
func (k *kernel) debugDisconnect(ctx context.Context, s *debugproto.Session, _ debugproto.Request) (any, error) {
	s.Stop()
	k.configureDebugger(ctx, s, false)
	return nil, nil
}

// configureDebugger hands the engine the session's configuration, if the
// engine has a debugger; a failure is logged, not answered: the request
// that changed the configuration did change it, and the engine reads it
// again at the next change.
func (k *kernel) configureDebugger(ctx context.Context, s *debugproto.Session, enabled bool) {
	d, ok := k.debugger()
	if !ok {
		return
	}
	cfg := debugproto.Config{
		Enabled:          enabled,
		Paths:            s.Paths(),
		Breakpoints:      s.Breakpoints(),
		ExceptionFilters: s.ExceptionFilters(),
		Events:           k.engineEvent,
	}
	if err := d.DebugConfigure(ctx, cfg); err != nil {
		k.log.Warn("debugger: configuring the engine", "err", err)
	}
}

// forwardDebug has the engine answer req, which needs a stopped
// interpreter (or, for pause, a running one).
func (k *kernel) forwardDebug(ctx context.Context, req debugproto.Request) debugproto.Response {
	d, ok := k.debugger()
	if !ok {
		return debugproto.Fail(req, debugproto.ErrNoEngine(req.Command, "this engine has no debugger"))
	}
	resp, err := d.DebugRequest(ctx, req)
	if err != nil {
		return debugproto.Fail(req, debugproto.ErrNoEngine(req.Command, err.Error()))
	}
	resp.Type, resp.RequestSeq, resp.Command = "response", req.Seq, req.Command
	return resp
}

func debugModules(context.Context, *debugproto.Session, debugproto.Request) (any, error) {
	return map[string]any{"modules": []any{}, "totalModules": 0}, nil
}

// debugDumpCell writes a cell's code where JupyterLab expects its source.
func debugDumpCell(_ context.Context, s *debugproto.Session, req debugproto.Request) (any, error) {
	var args struct {
		Code *string `json:"code"`
	}
	if err := debugproto.DecodeArgs(req, &args); err != nil {
		return nil, err
	}
	if args.Code == nil {
		return nil, debugproto.ErrMissing(req.Command, "code")
	}
	path, err := s.Paths().Dump(*args.Code)
	if err != nil {
		return nil, err
	}
	return map[string]any{"sourcePath": path}, nil
}

// debugSource returns the code of a dumped cell.
func debugSource(_ context.Context, s *debugproto.Session, req debugproto.Request) (any, error) {
	var args struct {
		Source debugproto.Source `json:"source"`
	}
	if err := debugproto.DecodeArgs(req, &args); err != nil {
		return nil, err
	}
	code, err := s.Paths().Read(args.Source.Path)
	if err != nil {
		return nil, err
	}
	return map[string]any{"content": code, "mimeType": "text/x-go"}, nil
}

// debugSetBreakpoints replaces a source's breakpoints.
func (k *kernel) debugSetBreakpoints(ctx context.Context, s *debugproto.Session, req debugproto.Request) (any, error) {
	var args struct {
		Source      debugproto.Source             `json:"source"`
		Breakpoints []debugproto.SourceBreakpoint `json:"breakpoints"`
	}
	if err := debugproto.DecodeArgs(req, &args); err != nil {
		return nil, err
	}
	if args.Source.Path == "" {
		return nil, debugproto.ErrMissing(req.Command, "source.path")
	}
	bps, err := s.SetBreakpoints(args.Source.Path, args.Breakpoints)
	if err != nil {
		return nil, err
	}
	if magic := k.cellMagicOf(s, args.Source.Path); magic != "" {
		for i := range bps {
			bps[i].Verified = false
			bps[i].Message = "breakpoints are not supported in %" + magic + " cells: they run compiled or on other processes, not in the notebook's interpreter"
		}
	}
	k.configureDebugger(ctx, s, true)
	return map[string]any{"breakpoints": bps}, nil
}

// cellMagicOf names the cell magic of the dumped cell at path ("" for a
// Go cell, or a path that is no dumped cell).
func (k *kernel) cellMagicOf(s *debugproto.Session, path string) string {
	code, err := s.Paths().Read(path)
	if err != nil {
		return ""
	}
	first, _, _ := strings.Cut(code, "\n")
	first = strings.TrimSuffix(first, "\r")
	if !strings.HasPrefix(first, "%") {
		return ""
	}
	name, _, _ := magicName(first)
	if _, ok := k.cfg.CellMagics[name]; ok {
		return name
	}
	return ""
}

// debugSetExceptionBreakpoints stores the exception filters. None is
// announced, so JupyterLab sends an empty list.
func (k *kernel) debugSetExceptionBreakpoints(ctx context.Context, s *debugproto.Session, req debugproto.Request) (any, error) {
	var args struct {
		Filters []string `json:"filters"`
	}
	if err := debugproto.DecodeArgs(req, &args); err != nil {
		return nil, err
	}
	if err := s.SetExceptionFilters(args.Filters); err != nil {
		return nil, err
	}
	k.configureDebugger(ctx, s, true)
	return map[string]any{"breakpoints": []any{}}, nil
}

// debugInspectVariables lists the session's variables for the variable
// explorer, with references to expand structs, slices and maps. While the
// interpreter runs a cell (stopped in it or not) it answers with the list
// of the last time it could ask: JupyterLab asks whenever a cell starts or
// ends and breaks on a failed reply (it reads body.variables of every
// inspectVariables response).
func (k *kernel) debugInspectVariables(ctx context.Context, s *debugproto.Session, req debugproto.Request) (any, error) {
	d, ok := k.debugger()
	if !ok {
		return nil, debugproto.ErrNoEngine(req.Command, "this engine has no debugger")
	}
	var vars []debugproto.Variable
	var err error
	if k.cellRunning() {
		err = debugproto.ErrInterpreterBusy
	} else {
		vars, err = d.DebugVariables(ctx)
	}
	k.debug.mu.Lock()
	defer k.debug.mu.Unlock()
	switch {
	case errors.Is(err, debugproto.ErrInterpreterBusy):
		vars = k.debug.lastVars
	case err != nil:
		return nil, debugproto.ErrNoEngine(req.Command, err.Error())
	default:
		k.debug.lastVars = vars
	}
	if vars == nil {
		vars = []debugproto.Variable{}
	}
	return map[string]any{"variables": s.Expose(vars)}, nil
}

// debugRichInspectVariables returns a variable's MIME bundle.
func (k *kernel) debugRichInspectVariables(ctx context.Context, s *debugproto.Session, req debugproto.Request) (any, error) {
	var args struct {
		VariableName string `json:"variableName"`
	}
	if err := debugproto.DecodeArgs(req, &args); err != nil {
		return nil, err
	}
	if args.VariableName == "" {
		return nil, debugproto.ErrMissing(req.Command, "variableName")
	}
	d, ok := k.debugger()
	if !ok {
		return nil, debugproto.ErrNoEngine(req.Command, "this engine has no debugger")
	}
	if k.cellRunning() && !s.Stopped() {
		return nil, debugproto.ErrBusy(req.Command)
	}
	data, err := d.DebugRichVariable(ctx, args.VariableName)
	if err != nil {
		return nil, debugproto.ErrNoEngine(req.Command, err.Error())
	}
	return map[string]any{"data": data, "metadata": map[string]any{}}, nil
}

// debugChildren expands a variable inspectVariables listed (variables,
// while nothing is stopped). A reference it no longer knows (the explorer
// refreshed) has no children.
func debugChildren(_ context.Context, s *debugproto.Session, req debugproto.Request) (any, error) {
	var args struct {
		VariablesReference int `json:"variablesReference"`
	}
	if err := debugproto.DecodeArgs(req, &args); err != nil {
		return nil, err
	}
	vars, _ := s.Children(args.VariablesReference)
	if vars == nil {
		vars = []debugproto.Variable{}
	}
	return map[string]any{"variables": vars}, nil
}

// cellRunning reports whether a cell is running.
func (k *kernel) cellRunning() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.running != nil
}
