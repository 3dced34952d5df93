package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/mpigo/mpigo/cellio"
)

// engineTimeout bounds requests the front end makes while the user types
// (completion, inspection), so that a stuck engine cannot wedge the shell.
const engineTimeout = 30 * time.Second

// dispatch handles one request from l (shell or control) between a busy and
// an idle status, which stay balanced whatever the handler does (see serve).
func (k *kernel) dispatch(l *link, m *message, onShell bool) {
	k.publishStatus(m, "busy")
	quit := k.serve(l, m, onShell)
	k.publishStatus(m, "idle")
	if quit {
		k.requestQuit()
	}
}

// route runs the handler of m's type and reports a shutdown request.
// Requests that touch the engine or the history are only served on the
// shell, which handles them one at a time.
func (k *kernel) route(l *link, m *message, onShell bool) (quit bool) {
	switch t := m.Header.MsgType; t {
	case "kernel_info_request":
		k.reply(l, m, "kernel_info_reply", k.kernelInfo())
	case "shutdown_request":
		k.handleShutdown(l, m)
		return true
	case "interrupt_request":
		k.interrupt()
		k.reply(l, m, "interrupt_reply", map[string]any{"status": "ok"})
	case "is_complete_request":
		k.handleIsComplete(l, m)
	case "comm_info_request":
		k.handleCommInfo(l, m)
	case "debug_request":
		// The spec serves it on control only (as ipykernel does): the shell
		// may be busy with the very cell being debugged.
		if onShell {
			k.replyError(l, m, onShell, errWrongChannel(t, l.name))
			break
		}
		k.handleDebug(l, m)
	case "comm_open", "comm_msg", "comm_close":
		k.log.Info("ignoring comm message (no comms are supported)", "msg_type", t)
	case "execute_request", "complete_request", "inspect_request", "history_request":
		if !onShell {
			k.replyError(l, m, onShell, errWrongChannel(t, l.name))
			break
		}
		k.routeShell(m)
	default:
		k.replyError(l, m, onShell, errUnknownType(t))
	}
	return false
}

// routeShell runs the handler of a shell-only request.
func (k *kernel) routeShell(m *message) {
	switch m.Header.MsgType {
	case "execute_request":
		k.handleExecute(m)
	case "complete_request":
		k.handleComplete(m)
	case "inspect_request":
		k.handleInspect(m)
	case "history_request":
		k.handleHistory(m)
	}
}

// handleShutdown answers a shutdown_request; Run then returns. A malformed
// request still shuts down, as in ipykernel: whoever can sign may stop the
// kernel anyway, and a client that asks wants it gone.
func (k *kernel) handleShutdown(l *link, m *message) {
	var req struct {
		Restart bool `json:"restart"`
	}
	_ = json.Unmarshal(m.Content, &req)
	content := map[string]any{"status": "ok", "restart": req.Restart}
	k.reply(l, m, "shutdown_reply", content)
	k.publish(m, "shutdown_reply", content) // ipykernel does, and clients listen for it
}

func (k *kernel) handleCommInfo(l *link, m *message) {
	var req struct {
		TargetName *string `json:"target_name"`
	}
	if err := decodeContent(m, &req); err != nil {
		k.replyError(l, m, false, err)
		return
	}
	k.reply(l, m, "comm_info_reply", map[string]any{"status": "ok", "comms": map[string]any{}})
}

func (k *kernel) kernelInfo() map[string]any {
	goVersion := strings.TrimPrefix(runtime.Version(), "go")
	return map[string]any{
		"status":                 "ok",
		"protocol_version":       ProtocolVersion,
		"implementation":         "mpigo",
		"implementation_version": k.cfg.Version,
		"language_info": map[string]any{
			"name":               "go",
			"version":            goVersion,
			"mimetype":           "text/x-go",
			"file_extension":     ".go",
			"pygments_lexer":     "go",
			"codemirror_mode":    "go",
			"nbconvert_exporter": "script",
		},
		"banner": fmt.Sprintf("mpigo %s: Go %s in Jupyter, with MPI.\n"+
			"Cells are Go; imports are added for you. Type %%help for the magics.", k.cfg.Version, goVersion),
		"help_links": []map[string]string{
			{"text": "Go documentation", "url": "https://go.dev/doc/"},
			{"text": "mpigo README", "url": "https://github.com/mpigo/mpigo#readme"},
			{"text": "A Tour of Go", "url": "https://go.dev/tour/"},
		},
		"debugger":           k.debuggerReady(),
		"supported_features": k.supportedFeatures(),
	}
}

// supportedFeatures lists the optional features of the protocol the kernel
// serves (JEP 92): the debugger, when it is ready.
func (k *kernel) supportedFeatures() []string {
	if k.debuggerReady() {
		return []string{"debugger"}
	}
	return []string{}
}

// executeRequest is the content of execute_request; pointers tell a missing
// field (which takes the protocol's default) from false.
type executeRequest struct {
	Code            string                     `json:"code"`
	Silent          bool                       `json:"silent"`
	StoreHistory    *bool                      `json:"store_history"`
	UserExpressions map[string]json.RawMessage `json:"user_expressions"`
	AllowStdin      *bool                      `json:"allow_stdin"`
	StopOnError     *bool                      `json:"stop_on_error"`
}

// handleExecute runs a cell.
func (k *kernel) handleExecute(m *message) {
	var req executeRequest
	if err := decodeContent(m, &req); err != nil {
		k.replyError(k.socks.shell, m, true, err)
		return
	}
	store := !req.Silent && (req.StoreHistory == nil || *req.StoreHistory)
	allowStdin := req.AllowStdin == nil || *req.AllowStdin
	stopOnError := req.StopOnError == nil || *req.StopOnError
	if store {
		k.execCount++
	}
	count := k.execCount
	if !req.Silent {
		k.publish(m, "execute_input", map[string]any{"code": req.Code, "execution_count": count})
	}

	ctx, cancel := context.WithCancel(k.runCtx)
	defer cancel()
	k.mu.Lock()
	k.cancelRun, k.running = cancel, m
	k.mu.Unlock()
	// Cleared on every way out, a panic included (serve recovers it): a
	// stale running cell would have is_complete republish its busy status.
	defer k.clearRunning()
	out := &cellOutput{k: k, parent: m, ctx: ctx, silent: req.Silent, allowStdin: allowStdin}
	defer out.close()
	res, payload, err := k.evaluate(ctx, req.Code, count, allowStdin, out)
	out.close() // what the cell sent so far is queued before the idle status
	k.clearRunning()
	interrupted := ctx.Err() != nil
	cancel()

	if err != nil {
		if store {
			k.history.add(count, req.Code, "")
		}
		werr := toWorkerError(err, interrupted)
		if !req.Silent {
			k.publish(m, "error", map[string]any{
				"ename": string(werr.Name), "evalue": werr.Value, "traceback": werr.Traceback,
			})
		}
		k.reply(k.socks.shell, m, "execute_reply", errorContent(count, werr))
		if stopOnError && !req.Silent {
			k.abortQueued()
		}
		return
	}
	var plain string
	if res.Data != nil && !req.Silent {
		k.publish(m, "execute_result", map[string]any{
			"execution_count": count, "data": res.Data, "metadata": map[string]any{},
		})
		plain, _ = res.Data["text/plain"].(string)
	}
	if store {
		k.history.add(count, req.Code, plain)
	}
	k.reply(k.socks.shell, m, "execute_reply", map[string]any{
		"status":           "ok",
		"execution_count":  count,
		"user_expressions": userExpressions(req.UserExpressions),
		"payload":          payload,
	})
}

// clearRunning forgets the running cell.
func (k *kernel) clearRunning() {
	k.mu.Lock()
	k.cancelRun, k.running = nil, nil
	k.mu.Unlock()
}

// evaluate runs a cell: a help request (name?, which answers with a pager
// payload), or else Go and magics.
func (k *kernel) evaluate(ctx context.Context, code string, count int, allowStdin bool, out cellio.Output) (cellio.Result, []any, error) {
	if name, detail, ok := helpRequest(code); ok {
		payload, err := k.help(ctx, name, detail, out)
		return cellio.Result{}, payload, err
	}
	res, err := k.runCell(ctx, code, count, allowStdin, out)
	return res, []any{}, err
}

// userExpressions answers every requested user expression with an error:
// mpigo evaluates none (they would need a second, side-effect free evaluator).
func userExpressions(req map[string]json.RawMessage) map[string]any {
	out := make(map[string]any, len(req))
	for name := range req {
		out[name] = map[string]any{
			"status":    "error",
			"ename":     "NotImplementedError",
			"evalue":    "mpigo does not evaluate user_expressions",
			"traceback": []string{},
		}
	}
	return out
}

// toWorkerError turns any error from a cell into the fields of an error
// message. Cells the engine failed report a *cellio.Error; anything else is
// wrapped, and a bare context error after an interrupt reads as one.
func toWorkerError(err error, interrupted bool) *cellio.Error {
	var werr *cellio.Error
	if errors.As(err, &werr) {
		werr = &cellio.Error{Name: werr.Name, Value: werr.Value, Traceback: werr.Traceback}
	} else if interrupted && errors.Is(err, context.Canceled) {
		werr = interruptedError()
	} else {
		werr = genericError(err)
	}
	if werr.Name == "" {
		werr.Name = cellio.GenericError
	}
	if len(werr.Traceback) == 0 {
		// Front ends show the traceback, not ename/evalue, when there is one.
		werr.Traceback = []string{string(werr.Name) + ": " + werr.Value}
	}
	return werr
}

// interruptedError is the error of a cell interrupted while the engine had
// not reported an error of its own.
func interruptedError() *cellio.Error {
	return &cellio.Error{Name: cellio.Interrupted, Value: "the cell was interrupted"}
}

// genericError is the error of a cell that failed with an error that has no
// kind of its own.
func genericError(err error) *cellio.Error {
	return &cellio.Error{Name: cellio.GenericError, Value: err.Error()}
}

func errorContent(count int, e *cellio.Error) map[string]any {
	tb := e.Traceback
	if tb == nil {
		tb = []string{}
	}
	return map[string]any{
		"status":          "error",
		"execution_count": count,
		"ename":           string(e.Name),
		"evalue":          e.Value,
		"traceback":       tb,
	}
}

func (k *kernel) handleComplete(m *message) {
	var req struct {
		Code      string `json:"code"`
		CursorPos int    `json:"cursor_pos"`
	}
	if err := decodeEditorRequest(m, &req, &req.Code); err != nil {
		k.replyError(k.socks.shell, m, true, err)
		return
	}
	cursor := clampCursor(req.Code, req.CursorPos)
	c, err := k.complete(req.Code, cursor)
	if err != nil {
		k.log.Warn("completion failed", "err", err)
		c = cellio.Completion{Start: cursor, End: cursor}
	}
	if c.Matches == nil {
		c.Matches = []string{}
	}
	k.reply(k.socks.shell, m, "complete_reply", map[string]any{
		"status":       "ok",
		"matches":      c.Matches,
		"cursor_start": c.Start,
		"cursor_end":   c.End,
		"metadata":     completionMetadata(c),
	})
}

// completionMetadata returns the metadata of a complete_reply: when the type
// of every match is known, _jupyter_types_experimental, which JupyterLab
// reads index for index with the matches to show each one's type (IPython's
// shape: start, end, text, type and an optional signature).
func completionMetadata(c cellio.Completion) map[string]any {
	if len(c.Types) != len(c.Matches) {
		return map[string]any{}
	}
	items := make([]map[string]any, len(c.Matches))
	for i, text := range c.Matches {
		item := map[string]any{"start": c.Start, "end": c.End, "text": text, "type": c.Types[i]}
		if i < len(c.Signatures) && c.Signatures[i] != "" {
			item["signature"] = c.Signatures[i]
		}
		items[i] = item
	}
	return map[string]any{"_jupyter_types_experimental": items}
}

// complete completes magic names on a magic line and asks the engine
// otherwise, with magic lines blanked so that the engine sees plain Go.
func (k *kernel) complete(code string, cursor int) (cellio.Completion, error) {
	if line, col, ok := magicLineAt(code, cursor); ok {
		return completeMagic(line, col, cursor, k.lineMagics(), k.cfg.CellMagics), nil
	}
	ctx, cancel := context.WithTimeout(k.runCtx, engineTimeout)
	defer cancel()
	return k.engine.Complete(ctx, maskMagics(code), cursor)
}

func (k *kernel) handleInspect(m *message) {
	var req struct {
		Code        string `json:"code"`
		CursorPos   int    `json:"cursor_pos"`
		DetailLevel int    `json:"detail_level"`
	}
	if err := decodeEditorRequest(m, &req, &req.Code); err != nil {
		k.replyError(k.socks.shell, m, true, err)
		return
	}
	cursor := clampCursor(req.Code, req.CursorPos)
	req.DetailLevel = min(max(req.DetailLevel, 0), 1) // the protocol's levels
	var ins cellio.Inspection
	var err error
	if line, _, ok := magicLineAt(req.Code, cursor); ok {
		ins = inspectMagic(line, k.lineMagics())
	} else {
		ctx, cancel := context.WithTimeout(k.runCtx, engineTimeout)
		ins, err = k.engine.Inspect(ctx, maskMagics(req.Code), cursor, req.DetailLevel)
		cancel()
	}
	if err != nil {
		k.log.Warn("inspection failed", "err", err)
		ins = cellio.Inspection{}
	}
	if ins.Data == nil {
		ins.Data = map[string]any{}
	}
	k.reply(k.socks.shell, m, "inspect_reply", map[string]any{
		"status":   "ok",
		"found":    ins.Found,
		"data":     ins.Data,
		"metadata": map[string]any{},
	})
}

// answerIsComplete answers an is_complete_request as soon as it arrives,
// ahead of the shell queue: JupyterLab's console asks on every Enter and waits
// 250 ms at most (then it runs the input, complete or not), and the answer
// needs only a parse of the code, never the engine, so it need not wait for a
// running cell. Front ends take any status message as the kernel's state, so
// when a cell is running its busy status is published again after this
// request's idle.
func (k *kernel) answerIsComplete(m *message) {
	k.publishStatus(m, "busy")
	k.serve(k.socks.shell, m, false)
	k.publishStatus(m, "idle")
	// Under k.mu, the running cell cannot publish its idle status in
	// between: handleExecute clears k.running under k.mu before that.
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.running != nil {
		k.publishStatus(k.running, "busy")
	}
}

func (k *kernel) handleIsComplete(l *link, m *message) {
	var req struct {
		Code string `json:"code"`
	}
	if err := decodeEditorRequest(m, &req, &req.Code); err != nil {
		k.replyError(l, m, false, err)
		return
	}
	status, indent := isComplete(req.Code, k.cfg.CellMagics, k.cfg.IsComplete)
	content := map[string]any{"status": status}
	if status == "incomplete" {
		content["indent"] = indent
	}
	k.reply(l, m, "is_complete_reply", content)
}

func (k *kernel) handleHistory(m *message) {
	var req historyRequest
	if err := decodeContent(m, &req); err != nil {
		k.replyError(k.socks.shell, m, true, err)
		return
	}
	h, err := k.history.query(req)
	if err != nil {
		var perr *protoError
		if !errors.As(err, &perr) {
			perr = errBadRequest("history_request: %v", err)
		}
		k.replyError(k.socks.shell, m, true, perr)
		return
	}
	k.reply(k.socks.shell, m, "history_reply", map[string]any{"status": "ok", "history": h})
}

// decodeEditorRequest decodes the content of a complete, inspect or
// is_complete request into v and bounds its code, which decoding stores in
// *code.
func decodeEditorRequest(m *message, v any, code *string) *protoError {
	if err := decodeContent(m, v); err != nil {
		return err
	}
	return checkEditorCode(*code)
}

// clampCursor keeps a front end's cursor within the code.
func clampCursor(code string, cursor int) int {
	n := len([]rune(code))
	if cursor < 0 || cursor > n {
		return n
	}
	return cursor
}
