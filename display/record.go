package display

import (
	"bytes"
	"encoding/base64"
	"unicode/utf8"
)

// maxRecord bounds how much text is held back while waiting for the end of
// something that looks like a record; past it the bytes are plain text.
const maxRecord = 64 << 20

// Record is one framed record found in a stream: a display Message (Kind
// "display") or a marker the kernel writes for its own use.
type Record struct {
	Kind    string
	Payload []byte
}

// Piece is a run of plain text or a record, in stream order.
type Piece struct {
	Text   []byte  // set for text
	Record *Record // set for a record
}

// EncodeRecord frames payload as a record of the given kind for token.
func EncodeRecord(token, kind string, payload []byte) string {
	return RecordStart + token + ";" + kind + ";" + base64.StdEncoding.EncodeToString(payload) + RecordEnd
}

// Splitter separates the records marked with one token from the text around
// them in a byte stream that arrives in arbitrary chunks, and never splits a
// UTF-8 sequence between two pieces of text (a Jupyter stream message must
// hold valid text). With an empty token it only does the latter. Records carrying
// another token (or none) stay text, so a program cannot forge them without
// the token.
type Splitter struct {
	token   []byte
	pending []byte
}

// NewSplitter returns a Splitter for records marked with token.
func NewSplitter(token string) *Splitter { return &Splitter{token: []byte(token)} }

// Split consumes p and returns the complete pieces it can. Bytes that may be
// the beginning of a record are held back until a later Split or Flush.
func (s *Splitter) Split(p []byte) []Piece {
	buf := append(s.pending, p...)
	s.pending = nil
	var pieces []Piece
	text := func(b []byte) {
		if len(b) > 0 {
			pieces = append(pieces, Piece{Text: bytes.Clone(b)})
		}
	}
	start := []byte(RecordStart)
	for len(buf) > 0 {
		i := bytes.Index(buf, start)
		if i < 0 {
			// Hold back what may start a record, and an incomplete UTF-8
			// sequence, so that text pieces always hold whole runes.
			keep := max(partialPrefix(buf, start), len(buf)-completeUTF8(buf))
			text(buf[:len(buf)-keep])
			s.pending = bytes.Clone(buf[len(buf)-keep:])
			return pieces
		}
		text(buf[:i])
		buf = buf[i:]
		j := bytes.IndexByte(buf, RecordEnd[0])
		if j < 0 {
			if len(buf) > maxRecord {
				text(buf)
				return pieces
			}
			s.pending = bytes.Clone(buf)
			return pieces
		}
		if rec := s.parse(buf[len(start):j]); rec != nil {
			pieces = append(pieces, Piece{Record: rec})
		} else {
			text(buf[:j+1])
		}
		buf = buf[j+1:]
	}
	return pieces
}

// Flush returns whatever is held back, as text.
func (s *Splitter) Flush() []Piece {
	if len(s.pending) == 0 {
		return nil
	}
	p := Piece{Text: s.pending}
	s.pending = nil
	return []Piece{p}
}

// parse decodes "TOKEN;KIND;BASE64", or returns nil when it is not a record of ours.
func (s *Splitter) parse(b []byte) *Record {
	tok, rest, ok := bytes.Cut(b, []byte(";"))
	if !ok || len(s.token) == 0 || !bytes.Equal(tok, s.token) {
		return nil
	}
	kind, enc, ok := bytes.Cut(rest, []byte(";"))
	if !ok {
		return nil
	}
	payload, err := base64.StdEncoding.DecodeString(string(enc))
	if err != nil {
		return nil
	}
	return &Record{Kind: string(kind), Payload: payload}
}

// partialPrefix returns the length of the longest suffix of b that is a proper
// prefix of start.
func partialPrefix(b, start []byte) int {
	for n := min(len(b), len(start)-1); n > 0; n-- {
		if bytes.HasSuffix(b, start[:n]) {
			return n
		}
	}
	return 0
}

// completeUTF8 returns the length of b without a trailing incomplete UTF-8
// sequence (invalid bytes count as complete: nothing can complete them).
func completeUTF8(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return i
			}
			break
		}
	}
	return len(b)
}
