package kernel

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
)

// ProtocolVersion is the Jupyter messaging protocol version the kernel speaks.
// 5.4 only deprecates shutdown_request on the shell channel (the kernel still
// honours it there, for older clients); 5.5 (XPUB iopub, subshells, debugger
// and supported_features) is not implemented.
const ProtocolVersion = "5.4"

// delimiter separates the routing identities from the message proper.
const delimiter = "<IDS|MSG>"

// Errors returned by decode; the socket readers log them and drop the message.
var (
	errNoDelimiter  = errors.New("no <IDS|MSG> delimiter")
	errTooFewFrames = errors.New("too few frames after the delimiter")
	errBadSignature = errors.New("invalid signature")
	errBadHeader    = errors.New("header has no msg_type")
)

// header is a Jupyter message header.
type header struct {
	MsgID    string `json:"msg_id"`
	Session  string `json:"session"`
	Username string `json:"username"`
	Date     string `json:"date"`
	MsgType  string `json:"msg_type"`
	Version  string `json:"version"`
}

// message is one Jupyter message. The JSON parts are kept raw: handlers decode
// the content they expect, and the header a request arrived with is echoed
// verbatim as the parent of its replies.
type message struct {
	Identities [][]byte
	Header     header
	RawHeader  json.RawMessage
	Parent     json.RawMessage
	Metadata   json.RawMessage
	Content    json.RawMessage
	Buffers    [][]byte
	Signature  string // as received; used to reject replays
}

// signer signs and verifies messages with HMAC-SHA256. An empty key disables
// signing, as jupyter_client does.
type signer struct {
	key []byte
}

// sign returns the lowercase hex HMAC-SHA256 of parts, or "" without a key.
func (s signer) sign(parts ...[]byte) string {
	if len(s.key) == 0 {
		return ""
	}
	mac := hmac.New(sha256.New, s.key)
	for _, p := range parts {
		mac.Write(p)
	}
	return hex.EncodeToString(mac.Sum(nil))
}

// verify reports whether sig (hex) is the signature of parts, in constant time.
func (s signer) verify(sig []byte, parts ...[]byte) bool {
	if len(s.key) == 0 {
		return true
	}
	got := make([]byte, hex.DecodedLen(len(sig)))
	if _, err := hex.Decode(got, sig); err != nil {
		return false
	}
	mac := hmac.New(sha256.New, s.key)
	for _, p := range parts {
		mac.Write(p)
	}
	return hmac.Equal(got, mac.Sum(nil))
}

// decode parses the frames of a message received on a ROUTER socket. It is a
// pure function so that every kind of malformed input can be unit tested.
func decode(frames [][]byte, s signer) (*message, error) {
	d := -1
	for i, f := range frames {
		if string(f) == delimiter {
			d = i
			break
		}
	}
	if d < 0 {
		return nil, errNoDelimiter
	}
	rest := frames[d+1:]
	if len(rest) < 5 {
		return nil, fmt.Errorf("%w: %d", errTooFewFrames, len(rest))
	}
	sig, hdr, parent, meta, content := rest[0], rest[1], rest[2], rest[3], rest[4]
	if !s.verify(sig, hdr, parent, meta, content) {
		return nil, errBadSignature
	}
	m := &message{
		Identities: frames[:d],
		RawHeader:  json.RawMessage(hdr),
		Parent:     json.RawMessage(parent),
		Metadata:   json.RawMessage(meta),
		Content:    json.RawMessage(content),
		Signature:  string(sig),
	}
	if len(rest) > 5 {
		m.Buffers = rest[5:]
	}
	for _, part := range []struct {
		name string
		data []byte
	}{{"header", hdr}, {"parent_header", parent}, {"metadata", meta}, {"content", content}} {
		if !isJSONObject(part.data) {
			return nil, fmt.Errorf("%s is not a JSON object", part.name)
		}
	}
	if err := json.Unmarshal(hdr, &m.Header); err != nil {
		return nil, fmt.Errorf("decoding header: %w", err)
	}
	if m.Header.MsgType == "" {
		return nil, errBadHeader
	}
	return m, nil
}

// isJSONObject reports whether b is valid JSON whose top level is an object.
func isJSONObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) >= 2 && b[0] == '{' && json.Valid(b)
}

// encode returns the frames of m, signed with s.
func encode(m *message, s signer) [][]byte {
	parent := orEmptyObject(m.Parent)
	meta := orEmptyObject(m.Metadata)
	content := orEmptyObject(m.Content)
	frames := make([][]byte, 0, len(m.Identities)+6+len(m.Buffers))
	frames = append(frames, m.Identities...)
	frames = append(frames,
		[]byte(delimiter),
		[]byte(s.sign(m.RawHeader, parent, meta, content)),
		m.RawHeader, parent, meta, content)
	return append(frames, m.Buffers...)
}

func orEmptyObject(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("{}")
	}
	return b
}

// marshal encodes v as JSON without escaping <, > and & (output often holds
// HTML, and the escapes only make messages harder to read).
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// timestamp formats t the way Jupyter expects: RFC 3339, UTC, microseconds.
func timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

// newMessage builds a message of type msgType from this kernel's session, as
// a reply to (or output of) parent, which may be nil.
func newMessage(session, msgType string, parent *message, content any) (*message, error) {
	h := header{
		MsgID:    uuid.NewString(),
		Session:  session,
		Username: "kernel",
		Date:     timestamp(time.Now()),
		MsgType:  msgType,
		Version:  ProtocolVersion,
	}
	rawHeader, err := marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encoding %s header: %w", msgType, err)
	}
	rawContent, err := marshal(content)
	if err != nil {
		return nil, fmt.Errorf("encoding %s content: %w", msgType, err)
	}
	m := &message{
		Header:    h,
		RawHeader: rawHeader,
		Parent:    json.RawMessage("{}"),
		Metadata:  json.RawMessage("{}"),
		Content:   rawContent,
	}
	if parent != nil {
		m.Parent = parent.RawHeader
	}
	return m, nil
}

// replayGuard remembers recent signatures so that a captured message cannot be
// replayed, as jupyter_client's Session does with its digest history.
type replayGuard struct {
	mu   sync.Mutex
	seen map[string]struct{}
	ring []string
	next int
}

func newReplayGuard(size int) *replayGuard {
	return &replayGuard{seen: make(map[string]struct{}, size), ring: make([]string, size)}
}

// fresh records sig and reports whether it had not been seen before.
func (g *replayGuard) fresh(sig string) bool {
	if sig == "" {
		return true // unsigned sessions cannot be protected
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, dup := g.seen[sig]; dup {
		return false
	}
	if old := g.ring[g.next]; old != "" {
		delete(g.seen, old)
	}
	g.ring[g.next] = sig
	g.next = (g.next + 1) % len(g.ring)
	g.seen[sig] = struct{}{}
	return true
}
