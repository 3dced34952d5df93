package debugproto

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// MaxRequest bounds the content of one debug_request. The largest request
// JupyterLab sends is dumpCell, whose code the kernel bounds again (see
// MaxCell); the margin is for JSON escaping.
const MaxRequest = 2*MaxCell + 64<<10

// Request is a DAP request: the content of a debug_request.
type Request struct {
	Seq     int    `json:"seq"`
	Type    string `json:"type"`
	Command string `json:"command"`
	// Arguments are decoded by the command's handler, which knows their shape.
	Arguments json.RawMessage `json:"arguments,omitempty"`
}

// Response is a DAP response: the content of a debug_reply.
type Response struct {
	Seq        int    `json:"seq"`
	Type       string `json:"type"` // always "response"
	RequestSeq int    `json:"request_seq"`
	Success    bool   `json:"success"`
	Command    string `json:"command"`
	// Message says why a request failed; DAP clients show it.
	Message string `json:"message,omitempty"`
	Body    any    `json:"body,omitempty"`
}

// Event is a DAP event: the content of a debug_event on IOPub.
type Event struct {
	Seq   int    `json:"seq"`
	Type  string `json:"type"` // always "event"
	Event string `json:"event"`
	Body  any    `json:"body,omitempty"`
}

// NewEvent returns an event named name with body; the session numbers it
// when it goes out (see Session.Stamp).
func NewEvent(name string, body any) Event {
	return Event{Type: "event", Event: name, Body: body}
}

// OK returns the successful response to req with body.
func OK(req Request, body any) Response {
	return Response{Type: "response", RequestSeq: req.Seq, Success: true, Command: req.Command, Body: body}
}

// Fail returns the failed response to req that err explains.
func Fail(req Request, err error) Response {
	return Response{Type: "response", RequestSeq: req.Seq, Command: req.Command, Message: err.Error()}
}

// ParseRequest decodes the content of a debug_request. The content comes
// from the network and is checked as such: its size, that it is one JSON
// object, that type is "request" and command is set. On error the returned
// Request holds what could be read of seq and command, for the error
// response.
func ParseRequest(content []byte) (Request, error) {
	if len(content) > MaxRequest {
		return Request{}, errTooLarge("the debug request", len(content), MaxRequest)
	}
	var req Request
	dec := json.NewDecoder(bytes.NewReader(content))
	if err := dec.Decode(&req); err != nil {
		return Request{}, errMalformed("the debug request is not a DAP request object: %v", err)
	}
	if dec.More() {
		return req, errMalformed("the debug request has data after its JSON object")
	}
	req.Command = clip(req.Command)
	switch {
	case req.Type != "request":
		return req, errMalformed("the debug request's type is %q, want \"request\"", clip(req.Type))
	case req.Command == "":
		return req, errMalformed("the debug request names no command")
	}
	return req, nil
}

// DecodeArgs decodes req's arguments into v; missing arguments leave v as
// it is.
func DecodeArgs(req Request, v any) error {
	if len(req.Arguments) == 0 || string(req.Arguments) == "null" {
		return nil
	}
	if err := json.Unmarshal(req.Arguments, v); err != nil {
		return errMalformed("the arguments of %s: %v", req.Command, err)
	}
	return nil
}

// clip shortens s for error messages: a hostile command may be megabytes.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return fmt.Sprintf("%.80s...", s)
}
