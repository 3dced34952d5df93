package kernel

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// fuzzSigner signs the messages FuzzDecode builds. Most inputs are signed
// correctly, so that the fuzzer explores what lies past the signature check.
var fuzzSigner = signer{key: []byte("fuzz-key")}

// fuzzLimits are small, so that every size check is reached.
var fuzzLimits = limits{frames: 16, identities: 64, header: 512, metadata: 256, content: 2048, buffers: 64}

// Signature spellings FuzzDecode tries, chosen by its sigMode argument.
const (
	sigLower   = iota // as jupyter_client signs
	sigUpper          // the same digest in upper case
	sigMixed          // and in mixed case
	sigGarbage        // the fuzzer's bytes
	sigEmpty
	sigTruncated
	sigModes
)

// fuzzFrames builds a message's frames: identities split from ids at NUL
// bytes, the delimiter, a signature spelled as sigMode says, the four JSON
// parts and buffers split from extra at NUL bytes.
func fuzzFrames(ids, hdr, parent, meta, content []byte, sigMode byte, extra []byte) [][]byte {
	var frames [][]byte
	if len(ids) > 0 {
		frames = append(frames, bytes.Split(ids, []byte{0})...)
	}
	sig := fuzzSigner.sign(hdr, parent, meta, content)
	switch sigMode % sigModes {
	case sigUpper:
		sig = strings.ToUpper(sig)
	case sigMixed:
		sig = mixedCase(sig)
	case sigGarbage:
		sig = string(extra)
	case sigEmpty:
		sig = ""
	case sigTruncated:
		sig = sig[:len(sig)-1]
	}
	frames = append(frames, []byte(delimiter), []byte(sig), hdr, parent, meta, content)
	if len(extra) > 0 && sigMode%sigModes != sigGarbage {
		frames = append(frames, bytes.Split(extra, []byte{0})...)
	}
	return frames
}

func addDecodeSeeds(f *testing.F) {
	info := []byte(infoHeader)
	hist := []byte(`{"msg_id":"h","msg_type":"history_request"}`)
	exec := []byte(`{"msg_id":"e","session":"s","username":"u","date":"2026-01-01T00:00:00Z","msg_type":"execute_request","version":"5.4"}`)
	obj := []byte("{}")
	seeds := []struct {
		ids, hdr, parent, meta, content []byte
		sigMode                         byte
		extra                           []byte
	}{
		{[]byte("client"), info, obj, obj, obj, sigLower, nil},
		{[]byte("a\x00b"), exec, obj, obj, []byte(`{"code":"fmt.Println(1)","silent":false,"store_history":true,"user_expressions":{"x":"1"},"allow_stdin":true,"stop_on_error":true}`), sigLower, []byte("buf1\x00buf2")},
		{nil, exec, obj, obj, []byte(`{"code":"x := 1"}`), sigUpper, nil},
		{nil, exec, obj, obj, []byte(`{"code":"x := 1"}`), sigMixed, nil},
		{nil, info, obj, obj, obj, sigGarbage, []byte("0000")},
		{nil, info, obj, obj, obj, sigEmpty, nil},
		{nil, info, obj, obj, obj, sigTruncated, nil},
		{nil, hist, obj, obj, []byte(`{"hist_access_type":"search","pattern":"` + strings.Repeat("?", 600) + `","n":-1,"unique":true}`), sigLower, nil},
		{nil, hist, obj, obj, []byte(`{"hist_access_type":"search","pattern":"[a-c]*x?","n":2}`), sigLower, nil},
		{nil, hist, obj, obj, []byte(`{"hist_access_type":"range","session":1e20,"start":-5}`), sigLower, nil},
		{nil, []byte(`{"msg_id":"c","msg_type":"complete_request"}`), obj, obj, []byte(`{"code":"%cd /tmp\nfmt.Pr","cursor_pos":-7}`), sigLower, nil},
		{nil, []byte(`{"msg_id":"i","msg_type":"inspect_request"}`), obj, obj, []byte(`{"code":"fmt.Println?","cursor_pos":1e30,"detail_level":9}`), sigLower, nil},
		{nil, []byte(`{"msg_id":"q","msg_type":"is_complete_request"}`), obj, obj, []byte(`{"code":"for {"}`), sigLower, nil},
		{nil, info, []byte("null"), obj, obj, sigLower, nil},
		{nil, info, obj, []byte("7"), []byte("[]"), sigLower, nil},
		{nil, []byte(`{"msg_id":5,"msg_type":"kernel_info_request"}`), obj, obj, obj, sigLower, nil},
		{nil, []byte(`{"MSG_TYPE":"kernel_info_request"}`), obj, obj, obj, sigLower, nil},
		{nil, []byte(`{"msg_type":"` + "\xff" + `_request"}`), obj, obj, obj, sigLower, nil},
		{nil, []byte(`{"msg_type":`), obj, obj, obj, sigLower, nil},
		{nil, []byte(`{"msg_type":"x_request","a":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]}`), obj, obj, obj, sigLower, nil},
		{[]byte(strings.Repeat("\x00", 20)), info, obj, obj, obj, sigLower, nil},
	}
	for _, s := range seeds {
		f.Add(s.ids, s.hdr, s.parent, s.meta, s.content, s.sigMode, s.extra)
	}
}

// FuzzDecode feeds built frames through what the kernel does with bytes from
// the network before any engine sees them: frame splitting, the signature
// check and its canonical form, the JSON header and parts with their
// limits, the decoding of a request's content, the pure parts of its
// handler (history search, cursor and magic handling), and the encoding of
// the reply. Nothing may panic, errors must be of the documented kinds, and
// every reply must decode again.
func FuzzDecode(f *testing.F) {
	addDecodeSeeds(f)
	var h history
	for i, in := range []string{"x := 1", "fmt.Println(x)", "%cd /tmp", "a\nb", "é?*[]"} {
		h.add(i+1, in, "")
	}
	f.Fuzz(func(t *testing.T, ids, hdr, parent, meta, content []byte, sigMode byte, extra []byte) {
		frames := fuzzFrames(ids, hdr, parent, meta, content, sigMode, extra)
		m, err := decodeLimited(frames, fuzzSigner, fuzzLimits)
		checkDecodeResult(t, m, err, sigMode)
		if m == nil {
			return
		}
		if m.Invalid == nil {
			exerciseContent(t, m, &h)
		}
		checkReply(t, m)
	})
}

// checkDecodeResult checks decode's contract: a *protoError of a known kind;
// a message exactly when the error is nil or answerable; a wrongly spelled
// signature never accepted, a correct one in any case accepted with the
// canonical digest.
func checkDecodeResult(t *testing.T, m *message, err error, sigMode byte) {
	var perr *protoError
	if err != nil && !errors.As(err, &perr) {
		t.Fatalf("decode error %v is not a *protoError", err)
	}
	if perr != nil && (perr.kind < kindNoDelimiter || perr.kind > kindInternal) {
		t.Fatalf("unknown error kind %d", perr.kind)
	}
	if (m != nil) != (err == nil || perr.answerable()) {
		t.Fatalf("decode returned message %v with error %v", m != nil, err)
	}
	if m == nil {
		return
	}
	if (m.Invalid != nil) != (err != nil) || m.Header.MsgType == "" {
		t.Fatalf("message Invalid %v, msg_type %q, error %v", m.Invalid, m.Header.MsgType, err)
	}
	switch sigMode % sigModes {
	case sigLower, sigUpper, sigMixed:
		if len(m.Digest) != 32 {
			t.Fatalf("digest of %d bytes", len(m.Digest))
		}
	case sigGarbage:
	default:
		t.Fatalf("a message with signature mode %d was accepted", sigMode%sigModes)
	}
}

// exerciseContent decodes a valid request's content the way its handler
// does and runs the handler's pure parts.
func exerciseContent(t *testing.T, m *message, h *history) {
	switch m.Header.MsgType {
	case "history_request":
		var req historyRequest
		if decodeContent(m, &req) == nil {
			if _, err := h.query(req); err != nil && kindOf(err) != kindTooLarge {
				t.Fatalf("history query: %v", err)
			}
		}
	case "execute_request":
		var req executeRequest
		if decodeContent(m, &req) == nil {
			userExpressions(req.UserExpressions)
			helpRequest(req.Code)
			splitCell(req.Code)
		}
	case "complete_request", "inspect_request", "is_complete_request":
		var req struct {
			Code      string `json:"code"`
			CursorPos int    `json:"cursor_pos"`
		}
		if decodeEditorRequest(m, &req, &req.Code) == nil {
			cursor := clampCursor(req.Code, req.CursorPos)
			if line, col, ok := magicLineAt(req.Code, cursor); ok {
				completeMagic(line, col, cursor, lineMagicHelp, nil)
				inspectMagic(line, lineMagicHelp)
			}
			maskMagics(req.Code)
			isComplete(req.Code, nil, nil)
		}
	}
}

// checkReply builds the reply the kernel would send to m (an error reply
// for an invalid one) and checks that a client decodes it, with m's header
// as its parent.
func checkReply(t *testing.T, m *message) {
	rt := replyType(m.Header.MsgType)
	if rt == "" {
		return
	}
	perr := m.Invalid
	if perr == nil {
		perr = errInternal(m.Header.MsgType)
	}
	reply, err := newMessage("session", rt, m, map[string]any{"status": "error", "ename": perr.ename(), "evalue": perr.detail})
	if err != nil {
		t.Fatalf("building the reply: %v", err)
	}
	reply.Identities = m.Identities
	back, err := decode(encode(reply, fuzzSigner), fuzzSigner)
	if err != nil {
		t.Fatalf("the reply to %q does not decode: %v", m.RawHeader, err)
	}
	if !bytes.Equal(back.Parent, m.RawHeader) {
		t.Fatalf("reply parent %q, want the request header %q", back.Parent, m.RawHeader)
	}
}
