package kernel

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// ProtocolVersion is the Jupyter messaging protocol version the kernel speaks.
// 5.4 only deprecates shutdown_request on the shell channel (the kernel still
// honours it there, for older clients). Clients read the version from
// kernel_info_reply and use only what it includes: the features of 5.5 (XPUB
// iopub, subshells, supported_features) are outside it.
const ProtocolVersion = "5.4"

// delimiter separates the routing identities from the message proper.
const delimiter = "<IDS|MSG>"

// limits bounds the messages the kernel accepts. The transport bounds each
// frame; these bound the parts of a message, so that what a peer sends is
// never echoed (the header, as every reply's parent) or handed on (content to
// the interpreter) without a bound: together they bound a message the kernel
// accepts at about 33 MiB. Frames and identities are checked first; the
// parts after the signature (a pass over the bytes the transport let in), so
// that a signed request with a part over its limit can be told why, in an
// error reply. Too many frames, oversized identities or an oversized header
// leave nothing safe to reply with: such a message is dropped (and logged).
type limits struct {
	frames     int // all frames, identities included
	identities int // bytes of the routing identities, which a reply echoes
	header     int // bytes of the header, and of the parent_header
	metadata   int // bytes of the metadata
	content    int // bytes of the content
	buffers    int // bytes of all buffers together
}

// defaultLimits are generous: a 16 MiB cell is far beyond any notebook's,
// and mpigo serves no comms, the only messages that carry buffers.
var defaultLimits = limits{
	frames:     1024,
	identities: 64 << 10,
	header:     64 << 10,
	metadata:   1 << 20,
	content:    16 << 20,
	buffers:    16 << 20,
}

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
	// Digest is the signature in canonical form (its decoded bytes), which
	// the replay guard remembers: the hex of a signature may be spelled in
	// upper or lower case, and both spellings must count as one message.
	Digest string
	// Invalid, when set, is why the kernel answers this signed message with
	// an error reply instead of serving it.
	Invalid *protoError
	// replied is set once a reply to this request was sent, so that a
	// handler's panic after its reply does not send a second one.
	replied bool
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

// verify checks that sig is the hex HMAC-SHA256 of parts, in constant time,
// and returns its canonical form (the decoded digest); it returns "" without
// a key, when nothing is signed. Upper- and lower-case hex are the same
// signature; anything else that is not 64 hex digits is refused before any
// work is done on it.
func (s signer) verify(sig []byte, parts ...[]byte) (string, error) {
	if len(s.key) == 0 {
		return "", nil
	}
	if len(sig) != hex.EncodedLen(sha256.Size) {
		return "", errBadSignature(fmt.Sprintf("%d characters, want %d", len(sig), hex.EncodedLen(sha256.Size)))
	}
	var got [sha256.Size]byte
	if _, err := hex.Decode(got[:], sig); err != nil {
		return "", errBadSignature("not hex")
	}
	mac := hmac.New(sha256.New, s.key)
	for _, p := range parts {
		mac.Write(p)
	}
	if !hmac.Equal(got[:], mac.Sum(nil)) {
		return "", errBadSignature("does not match the message")
	}
	return string(got[:]), nil
}

// decode parses the frames of a message received on a ROUTER socket, with
// the default limits. It is a pure function so that every kind of malformed
// input can be unit tested and fuzzed.
//
// The error is a *protoError. When it is answerable, the message is returned
// too, as far as it could be read (identities, header, digest), with Invalid
// set, so that the kernel can send the error reply.
func decode(frames [][]byte, s signer) (*message, error) {
	return decodeLimited(frames, s, defaultLimits)
}

// decodeLimited is decode with limits lim.
func decodeLimited(frames [][]byte, s signer, lim limits) (*message, error) {
	if len(frames) > lim.frames {
		return nil, errTooManyFrames(len(frames), lim.frames)
	}
	d := -1
	for i, f := range frames {
		if string(f) == delimiter {
			d = i
			break
		}
	}
	if d < 0 {
		return nil, errNoDelimiter()
	}
	if n := totalLen(frames[:d]); n > lim.identities {
		return nil, errBigIdentities(n, lim.identities)
	}
	rest := frames[d+1:]
	if len(rest) < 5 {
		return nil, errTooFewFrames(len(rest))
	}
	sig, hdr, parent, meta, content := rest[0], rest[1], rest[2], rest[3], rest[4]
	digest, err := s.verify(sig, hdr, parent, meta, content)
	if err != nil {
		return nil, err
	}
	h, perr := decodeHeader(hdr, lim.header)
	if perr != nil && !perr.answerable() {
		return nil, perr
	}
	m := &message{
		Identities: frames[:d],
		Header:     h,
		RawHeader:  json.RawMessage(hdr),
		Parent:     json.RawMessage(parent),
		Metadata:   json.RawMessage(meta),
		Content:    json.RawMessage(content),
		Buffers:    rest[5:],
		Digest:     digest,
	}
	if len(m.Buffers) == 0 {
		m.Buffers = nil
	}
	if perr == nil {
		perr = checkParts(m, lim)
	}
	if perr != nil {
		m.Invalid = perr
		return m, perr
	}
	return m, nil
}

// decodeHeader reads a message header. A header that is too large to echo
// back, is not a JSON object or has no msg_type leaves nothing to reply to
// (a drop); a header with a field of the wrong type is answerable.
func decodeHeader(raw []byte, max int) (header, *protoError) {
	var h header
	if len(raw) > max {
		return h, errBadHeader(fmt.Sprintf("%d bytes, over the limit of %d", len(raw), max))
	}
	if !isJSONObject(raw) {
		return h, errBadHeader("not a JSON object")
	}
	// Exact keys first: encoding/json matches struct fields case-insensitively,
	// and the reply type must come from the msg_type key itself.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return h, errBadHeader(err.Error())
	}
	var msgType string
	if err := json.Unmarshal(fields["msg_type"], &msgType); err != nil || msgType == "" {
		return h, errBadHeader("no msg_type string")
	}
	err := json.Unmarshal(raw, &h)
	h.MsgType = msgType
	if err != nil {
		return h, errBadRequest("header: %v", err)
	}
	return h, nil
}

// checkParts checks the sizes of m's parts and that the JSON ones are objects.
func checkParts(m *message, lim limits) *protoError {
	for _, part := range []struct {
		name string
		data []byte
		max  int
	}{
		{"parent_header", m.Parent, lim.header},
		{"metadata", m.Metadata, lim.metadata},
		{"content", m.Content, lim.content},
	} {
		if len(part.data) > part.max {
			return errTooLarge(part.name, len(part.data), part.max)
		}
		if !isJSONObject(part.data) {
			return errBadRequest("%s is not a JSON object", part.name)
		}
	}
	if total := totalLen(m.Buffers); total > lim.buffers {
		return errTooLarge("buffers", total, lim.buffers)
	}
	return nil
}

// totalLen returns the number of bytes in frames.
func totalLen(frames [][]byte) int {
	n := 0
	for _, f := range frames {
		n += len(f)
	}
	return n
}

// isJSONObject reports whether b is valid JSON, in UTF-8, whose top level is
// an object. Go's decoder would take invalid UTF-8 in strings, but the
// header is echoed to the client as the parent of every reply, and
// jupyter_client cannot read a message that is not UTF-8.
func isJSONObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) >= 2 && b[0] == '{' && utf8.Valid(b) && json.Valid(b)
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

// fresh records digest (a message's canonical signature, see
// message.Digest) and reports whether it had not been seen before.
func (g *replayGuard) fresh(digest string) bool {
	if digest == "" {
		return true // unsigned sessions cannot be protected
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, dup := g.seen[digest]; dup {
		return false
	}
	if old := g.ring[g.next]; old != "" {
		delete(g.seen, old)
	}
	g.ring[g.next] = digest
	g.next = (g.next + 1) % len(g.ring)
	g.seen[digest] = struct{}{}
	return true
}
