package kernel

import (
	"encoding/json"
	"errors"
	"runtime/debug"
	"strings"
)

// maxEditorCode bounds the code of complete, inspect and is_complete
// requests: front ends send the cell being edited, and is_complete is
// answered on the shell socket's reader, ahead of the queue, so a huge one
// would hold up every other shell request while it is parsed.
const maxEditorCode = 1 << 20

// accept decodes, authenticates and checks one received message. It returns
// the message to handle (with Invalid set when it is to be answered with an
// error), or nil when the message is dropped, which it logs. No input makes
// it panic (FuzzDecode checks decode); should one, it drops the message
// instead of ending the kernel.
func (k *kernel) accept(l *link, frames [][]byte) (m *message) {
	defer func() {
		if r := recover(); r != nil {
			k.log.Error("panic while decoding a message; dropped it", "socket", l.name,
				"panic", r, "stack", string(debug.Stack()))
			m = nil
		}
	}()
	m, err := decode(frames, k.signer)
	var perr *protoError
	if err != nil && (!errors.As(err, &perr) || !perr.answerable()) {
		k.log.Warn("dropping bad message", "socket", l.name, "frames", len(frames), "err", err)
		return nil
	}
	if !k.replay.fresh(m.Digest) {
		k.log.Warn("dropping replayed message", "socket", l.name, "msg_type", clip(m.Header.MsgType))
		return nil
	}
	return m
}

// deliver hands m to handle, logging instead of dying if handle panics:
// handle runs on a socket's reader, which must keep reading.
func (k *kernel) deliver(l *link, m *message, handle func(*message)) {
	defer func() {
		if r := recover(); r != nil {
			k.log.Error("panic while handling a message", "socket", l.name, "msg_type", clip(m.Header.MsgType),
				"panic", r, "stack", string(debug.Stack()))
		}
	}()
	handle(m)
}

// serve handles request m from l, and is the request boundary's last line
// of defence: a handler that panics is logged with its stack and answered
// with an InternalError reply (unless it had replied already), and the
// kernel goes on. quit reports a shutdown request.
func (k *kernel) serve(l *link, m *message, onShell bool) (quit bool) {
	defer func() {
		if r := recover(); r != nil {
			k.log.Error("panic in request handler; answered with an error and kept running",
				"msg_type", clip(m.Header.MsgType), "msg_id", clip(m.Header.MsgID),
				"panic", r, "stack", string(debug.Stack()))
			k.replyError(l, m, onShell, errInternal(m.Header.MsgType))
			quit = false
		}
	}()
	if m.Invalid != nil {
		k.replyError(l, m, onShell, m.Invalid)
		return false
	}
	if k.cfg.beforeHandle != nil {
		k.cfg.beforeHandle(m)
	}
	return k.route(l, m, onShell)
}

// replyError answers request m with an error reply of its reply type, the
// content every reply may have with status "error"; a message that is not a
// request (no reply type), or was answered already, is only logged.
// execution_count, which an execute_reply carries, is read only on the shell
// goroutine, which owns it.
func (k *kernel) replyError(l *link, m *message, onShell bool, e *protoError) {
	k.log.Warn("refusing request", "socket", l.name, "msg_type", clip(m.Header.MsgType),
		"ename", e.ename(), "err", e.detail)
	rt := replyType(m.Header.MsgType)
	if rt == "" || m.replied {
		return
	}
	content := map[string]any{
		"status":    "error",
		"ename":     e.ename(),
		"evalue":    e.detail,
		"traceback": []string{e.ename() + ": " + e.detail},
	}
	if rt == "execute_reply" && onShell {
		content["execution_count"] = k.execCount
	}
	k.reply(l, m, rt, content)
}

// replyType is the type of the reply to msgType: foo_reply for foo_request,
// "" for a message that is not a request.
func replyType(msgType string) string {
	base, ok := strings.CutSuffix(msgType, "_request")
	if !ok || base == "" {
		return ""
	}
	return base + "_reply"
}

// decodeContent decodes m's content into v. Fields missing take their zero
// values (the protocol's defaults); a field of the wrong type is a bad
// request, which the caller answers with an error reply.
func decodeContent(m *message, v any) *protoError {
	if err := json.Unmarshal(m.Content, v); err != nil {
		return errBadRequest("%s content: %v", clip(m.Header.MsgType), err)
	}
	return nil
}

// checkEditorCode bounds the code of an editor request (see maxEditorCode).
func checkEditorCode(code string) *protoError {
	if len(code) > maxEditorCode {
		return errTooLarge("code", len(code), maxEditorCode)
	}
	return nil
}
