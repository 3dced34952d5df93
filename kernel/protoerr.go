package kernel

import (
	"fmt"
	"strings"
)

// protoKind says what was wrong with a message the kernel received. The
// first kinds leave the kernel nobody to answer (the message cannot be
// trusted, or says nothing about what reply it wants): such messages are
// logged and dropped. The others are answered with an error reply.
type protoKind int

const (
	kindNoDelimiter   protoKind = iota + 1 // no <IDS|MSG> frame
	kindTooFewFrames                       // fewer than five frames after the delimiter
	kindTooManyFrames                      // more frames than the limit
	kindBigIdentities                      // routing identities over their limit (echoed in a reply)
	kindBadSignature                       // signature malformed or not the message's
	kindBadHeader                          // header unusable: no reply type can be derived

	kindBadRequest   // a part or field of a signed request is malformed
	kindTooLarge     // a part of a signed request is over its size limit
	kindUnknownType  // a *_request the kernel does not serve
	kindWrongChannel // a request sent on a channel that does not serve it
	kindInternal     // the handler panicked
)

// protoError is why the kernel refused a message. Construct one with the
// function of its kind (errNoDelimiter, ..., errInternal); callers tell kinds
// apart with errors.As and the kind field, never by the message text.
type protoError struct {
	kind   protoKind
	detail string
}

func (e *protoError) Error() string { return e.detail }

// answerable reports whether the sender should get an error reply: the
// message was authenticated and its header names a request type.
func (e *protoError) answerable() bool { return e.kind.answerable() }

// answerable reports whether errors of kind k are answered (see protoKind).
func (k protoKind) answerable() bool { return k >= kindBadRequest }

// ename is the error name an error reply carries for e.
func (e *protoError) ename() string {
	switch e.kind {
	case kindTooLarge:
		return "RequestTooLarge"
	case kindUnknownType:
		return "UnknownMessageType"
	case kindWrongChannel:
		return "WrongChannel"
	case kindInternal:
		return "InternalError"
	default:
		return "BadRequest"
	}
}

func errNoDelimiter() *protoError {
	return &protoError{kindNoDelimiter, "no " + delimiter + " delimiter"}
}

func errTooFewFrames(n int) *protoError {
	return &protoError{kindTooFewFrames, fmt.Sprintf("%d frames after the delimiter, want at least 5", n)}
}

func errTooManyFrames(n, max int) *protoError {
	return &protoError{kindTooManyFrames, fmt.Sprintf("%d frames, over the limit of %d", n, max)}
}

func errBigIdentities(n, max int) *protoError {
	return &protoError{kindBigIdentities, fmt.Sprintf("routing identities of %d bytes, over the limit of %d", n, max)}
}

func errBadSignature(why string) *protoError {
	return &protoError{kindBadSignature, "invalid signature: " + why}
}

func errBadHeader(why string) *protoError {
	return &protoError{kindBadHeader, "unusable header: " + why}
}

func errBadRequest(format string, args ...any) *protoError {
	return &protoError{kindBadRequest, fmt.Sprintf(format, args...)}
}

func errTooLarge(part string, size, max int) *protoError {
	return &protoError{kindTooLarge, fmt.Sprintf("%s is %d bytes, over the limit of %d", part, size, max)}
}

func errUnknownType(msgType string) *protoError {
	return &protoError{kindUnknownType, fmt.Sprintf("unknown message type %q", clip(msgType))}
}

func errWrongChannel(msgType, channel string) *protoError {
	return &protoError{kindWrongChannel, fmt.Sprintf("%s is not served on the %s channel", clip(msgType), channel)}
}

func errInternal(msgType string) *protoError {
	return &protoError{kindInternal, fmt.Sprintf("an internal error occurred in the kernel while handling %s; "+
		"the kernel logged it and keeps running", clip(msgType))}
}

// clip shortens s for logs and error messages: a hostile message type or
// field may be megabytes long.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "..."
}
