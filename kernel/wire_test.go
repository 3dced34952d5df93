package kernel

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// The expected digests were computed independently with Python:
//
//	hmac.new(b"key", b"The quick brown fox jumps over the lazy dog", hashlib.sha256).hexdigest()
//	hmac.new(b"secret-key", b'{"msg_id":"1","msg_type":"kernel_info_request"}{}{}{}', hashlib.sha256).hexdigest()
const (
	foxDigest  = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
	infoHeader = `{"msg_id":"1","msg_type":"kernel_info_request"}`
	infoDigest = "d24613c901272087168eb7a17b371d2f54d14044dca08737846f4baf86191b6a"
)

func TestSign(t *testing.T) {
	tests := []struct {
		name  string
		key   string
		parts []string
		want  string
	}{
		{"wikipedia vector", "key", []string{"The quick brown fox jumps over the lazy dog"}, foxDigest},
		{"split parts concatenate", "key", []string{"The quick brown fox ", "jumps over the lazy dog"}, foxDigest},
		{"jupyter message", "secret-key", []string{infoHeader, "{}", "{}", "{}"}, infoDigest},
		{"no key no signature", "", []string{infoHeader, "{}", "{}", "{}"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (signer{key: []byte(tt.key)}).sign(bytesOf(tt.parts)...); got != tt.want {
				t.Errorf("sign = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	parts := bytesOf([]string{infoHeader, "{}", "{}", "{}"})
	tests := []struct {
		name string
		key  string
		sig  string
		want bool
	}{
		{"good", "secret-key", infoDigest, true},
		{"uppercase hex is the same digest", "secret-key", strings.ToUpper(infoDigest), true},
		{"mixed case hex is the same digest", "secret-key", mixedCase(infoDigest), true},
		{"wrong key", "other-key", infoDigest, false},
		{"one digit off", "secret-key", infoDigest[:63] + "c", false},
		{"truncated", "secret-key", infoDigest[:62], false},
		{"odd length", "secret-key", infoDigest[:63], false},
		{"too long", "secret-key", infoDigest + "00", false},
		{"trailing space", "secret-key", infoDigest + " ", false},
		{"not hex", "secret-key", strings.Repeat("zz", 32), false},
		{"empty signature", "secret-key", "", false},
		{"no key accepts anything", "", "whatever", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := (signer{key: []byte(tt.key)}).verify([]byte(tt.sig), parts...)
			if got := err == nil; got != tt.want {
				t.Errorf("verify: %v, want ok %v", err, tt.want)
			}
			if err != nil && kindOf(err) != kindBadSignature {
				t.Errorf("verify error %v is not a kindBadSignature", err)
			}
		})
	}
}

// TestDigestCanonical checks that every spelling of a signature has one
// digest, the key the replay guard remembers, and that unsigned sessions
// have none.
func TestDigestCanonical(t *testing.T) {
	parts := bytesOf([]string{infoHeader, "{}", "{}", "{}"})
	s := signer{key: []byte("secret-key")}
	want, _ := hex.DecodeString(infoDigest)
	for _, sig := range []string{infoDigest, strings.ToUpper(infoDigest), mixedCase(infoDigest)} {
		got, err := s.verify([]byte(sig), parts...)
		if err != nil || got != string(want) {
			t.Errorf("verify(%s) = %x, %v; want %x", sig, got, err, want)
		}
	}
	if got, err := (signer{}).verify([]byte(infoDigest), parts...); got != "" || err != nil {
		t.Errorf("unsigned verify = %q, %v; want no digest", got, err)
	}
}

// mixedCase upper-cases every other letter of s.
func mixedCase(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); i += 2 {
		b[i] = strings.ToUpper(string(b[i]))[0]
	}
	return string(b)
}

// kindOf returns the kind of a *protoError, or 0 for any other error.
func kindOf(err error) protoKind {
	var perr *protoError
	if errors.As(err, &perr) {
		return perr.kind
	}
	return 0
}

func bytesOf(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func TestDecode(t *testing.T) {
	s := signer{key: []byte("secret-key")}
	signed := func(ids []string, hdr, parent, meta, content string, extra ...string) [][]byte {
		f := bytesOf(ids)
		f = append(f, []byte(delimiter), []byte(s.sign([]byte(hdr), []byte(parent), []byte(meta), []byte(content))),
			[]byte(hdr), []byte(parent), []byte(meta), []byte(content))
		return append(f, bytesOf(extra)...)
	}
	good := signed([]string{"client-id"}, infoHeader, "{}", "{}", "{}")
	withBuffers := signed([]string{"a", "b"}, infoHeader, "{}", "{}", `{"x":1}`, "buf1", "buf2")
	tampered := signed(nil, infoHeader, "{}", "{}", `{"code":"1"}`)
	tampered[len(tampered)-1] = []byte(`{"code":"2"}`)

	tests := []struct {
		name   string
		frames [][]byte
		want   protoKind // 0: decodes
		check  func(t *testing.T, m *message)
	}{
		{name: "good", frames: good, check: func(t *testing.T, m *message) {
			if m.Header.MsgType != "kernel_info_request" || m.Header.MsgID != "1" {
				t.Errorf("header = %+v", m.Header)
			}
			if len(m.Identities) != 1 || string(m.Identities[0]) != "client-id" {
				t.Errorf("identities = %q", m.Identities)
			}
			if string(m.RawHeader) != infoHeader {
				t.Errorf("raw header = %s", m.RawHeader)
			}
		}},
		{name: "identities and buffers", frames: withBuffers, check: func(t *testing.T, m *message) {
			if len(m.Identities) != 2 || len(m.Buffers) != 2 || string(m.Buffers[1]) != "buf2" {
				t.Errorf("identities %q buffers %q", m.Identities, m.Buffers)
			}
			if string(m.Content) != `{"x":1}` {
				t.Errorf("content = %s", m.Content)
			}
		}},
		{name: "no frames", frames: nil, want: kindNoDelimiter},
		{name: "no delimiter", frames: bytesOf([]string{"id", "sig", infoHeader, "{}", "{}", "{}"}), want: kindNoDelimiter},
		{name: "nothing after delimiter", frames: bytesOf([]string{"id", delimiter}), want: kindTooFewFrames},
		{name: "four frames after delimiter", frames: good[:len(good)-1], want: kindTooFewFrames},
		{name: "too many frames", frames: signed(nil, infoHeader, "{}", "{}", "{}", make([]string, defaultLimits.frames)...), want: kindTooManyFrames},
		{name: "identities too large", frames: signed([]string{strings.Repeat("i", defaultLimits.identities/2), strings.Repeat("i", defaultLimits.identities/2+1)}, infoHeader, "{}", "{}", "{}"), want: kindBigIdentities},
		{name: "bad signature", frames: replace(good, 2, []byte(infoDigest[:63]+"0")), want: kindBadSignature},
		{name: "huge signature", frames: replace(good, 2, []byte(strings.Repeat("a", 1<<20))), want: kindBadSignature},
		{name: "tampered content", frames: tampered, want: kindBadSignature},
		{name: "missing signature", frames: replace(good, 2, nil), want: kindBadSignature},
		{name: "broken header JSON", frames: signed(nil, `{"msg_type":`, "{}", "{}", "{}"), want: kindBadHeader},
		{name: "header not an object", frames: signed(nil, `["x"]`, "{}", "{}", "{}"), want: kindBadHeader},
		{name: "header without msg_type", frames: signed(nil, `{"msg_id":"1"}`, "{}", "{}", "{}"), want: kindBadHeader},
		{name: "msg_type not a string", frames: signed(nil, `{"msg_type":3}`, "{}", "{}", "{}"), want: kindBadHeader},
		{name: "msg_type only in another case", frames: signed(nil, `{"MSG_TYPE":"kernel_info_request"}`, "{}", "{}", "{}"), want: kindBadHeader},
		{name: "header too large to echo", frames: signed(nil, `{"msg_type":"kernel_info_request","x":"`+strings.Repeat("x", defaultLimits.header)+`"}`, "{}", "{}", "{}"), want: kindBadHeader},
		{name: "header field of the wrong type", frames: signed(nil, `{"msg_type":"kernel_info_request","msg_id":5}`, "{}", "{}", "{}"), want: kindBadRequest,
			check: wantAnswerable("kernel_info_request")},
		{name: "broken content", frames: signed(nil, infoHeader, "{}", "{}", `{"code":`), want: kindBadRequest, check: wantAnswerable("kernel_info_request")},
		{name: "empty content", frames: signed(nil, infoHeader, "{}", "{}", ""), want: kindBadRequest, check: wantAnswerable("kernel_info_request")},
		{name: "content a list", frames: signed(nil, infoHeader, "{}", "{}", "[]"), want: kindBadRequest, check: wantAnswerable("kernel_info_request")},
		{name: "parent not an object", frames: signed(nil, infoHeader, "null", "{}", "{}"), want: kindBadRequest},
		{name: "metadata not an object", frames: signed(nil, infoHeader, "{}", "7", "{}"), want: kindBadRequest},
		{name: "content too large", frames: signed(nil, infoHeader, "{}", "{}", `{"code":"`+strings.Repeat("x", defaultLimits.content)+`"}`), want: kindTooLarge,
			check: wantAnswerable("kernel_info_request")},
		{name: "metadata too large", frames: signed(nil, infoHeader, "{}", `{"x":"`+strings.Repeat("x", defaultLimits.metadata)+`"}`, "{}"), want: kindTooLarge},
		{name: "parent too large", frames: signed(nil, infoHeader, `{"x":"`+strings.Repeat("x", defaultLimits.header)+`"}`, "{}", "{}"), want: kindTooLarge},
		{name: "buffers too large", frames: signed(nil, infoHeader, "{}", "{}", "{}", strings.Repeat("b", defaultLimits.buffers/2+1), strings.Repeat("b", defaultLimits.buffers/2)), want: kindTooLarge},
		{name: "binary garbage", frames: [][]byte{{0xff, 0x00}, []byte(delimiter), {0xff}, {0xfe}, {0xfd}, {0xfc}, {0xfb}}, want: kindBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := decode(tt.frames, s)
			if got := kindOf(err); got != tt.want || (err != nil) != (tt.want != 0) {
				t.Fatalf("decode error = %v (kind %d), want kind %d", err, got, tt.want)
			}
			if err != nil && kindOf(err).answerable() != (m != nil) {
				t.Fatalf("decode returned message %v with error %v", m, err)
			}
			if tt.check != nil {
				tt.check(t, m)
			}
		})
	}
}

// wantAnswerable checks that a message decoded with an answerable error
// carries what the error reply needs.
func wantAnswerable(msgType string) func(t *testing.T, m *message) {
	return func(t *testing.T, m *message) {
		if m.Invalid == nil || m.Header.MsgType != msgType || m.Digest == "" || len(m.RawHeader) == 0 {
			t.Errorf("answerable message = %+v, want Invalid, msg_type %s, digest, raw header", m, msgType)
		}
	}
}

func replace(frames [][]byte, i int, f []byte) [][]byte {
	out := append([][]byte(nil), frames...)
	out[i] = f
	return out
}

func TestDecodeUnsigned(t *testing.T) {
	frames := bytesOf([]string{delimiter, "", infoHeader, "{}", "{}", "{}"})
	if _, err := decode(frames, signer{}); err != nil {
		t.Fatalf("unsigned session: %v", err)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	s := signer{key: []byte("k")}
	req, err := decode(bytesOf([]string{"peer", delimiter, s.sign([]byte(infoHeader), []byte("{}"), []byte("{}"), []byte("{}")),
		infoHeader, "{}", "{}", "{}"}), s)
	if err != nil {
		t.Fatal(err)
	}
	m, err := newMessage("sess", "kernel_info_reply", req, map[string]any{"html": "<b>&</b>"})
	if err != nil {
		t.Fatal(err)
	}
	m.Identities = req.Identities
	m.Buffers = [][]byte{[]byte("raw")}
	back, err := decode(encode(m, s), s)
	if err != nil {
		t.Fatalf("decoding our own message: %v", err)
	}
	if string(back.Identities[0]) != "peer" || string(back.Buffers[0]) != "raw" {
		t.Errorf("identities %q buffers %q", back.Identities, back.Buffers)
	}
	if string(back.Parent) != infoHeader {
		t.Errorf("parent = %s, want the request's header", back.Parent)
	}
	if string(back.Content) != `{"html":"<b>&</b>"}` {
		t.Errorf("content = %s", back.Content)
	}
	h := back.Header
	if h.Session != "sess" || h.Username != "kernel" || h.Version != ProtocolVersion || h.MsgType != "kernel_info_reply" || h.MsgID == "" {
		t.Errorf("header = %+v", h)
	}
	if _, err := time.Parse(time.RFC3339Nano, h.Date); err != nil || !strings.HasSuffix(h.Date, "Z") || len(h.Date) != len("2006-01-02T15:04:05.000000Z") {
		t.Errorf("date %q: want RFC 3339 UTC with microseconds (%v)", h.Date, err)
	}
	var raw map[string]any
	if err := json.Unmarshal(back.RawHeader, &raw); err != nil || len(raw) != 6 {
		t.Errorf("header JSON %s", back.RawHeader)
	}
}

func TestReplayGuard(t *testing.T) {
	g := newReplayGuard(2)
	steps := []struct {
		sig  string
		want bool
	}{
		{"a", true}, {"a", false}, {"b", true}, {"c", true}, // "a" falls out of the window
		{"a", true}, {"c", false}, {"", true}, {"", true},
	}
	for i, s := range steps {
		if got := g.fresh(s.sig); got != s.want {
			t.Errorf("step %d: fresh(%q) = %v, want %v", i, s.sig, got, s.want)
		}
	}
}

func TestParseConnectionInfo(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		wantErr string
		check   func(t *testing.T, ci ConnectionInfo)
	}{
		{name: "full", json: `{"shell_port":1,"iopub_port":2,"stdin_port":3,"control_port":4,"hb_port":5,"ip":"127.0.0.1","key":"k","transport":"tcp","signature_scheme":"hmac-sha256","kernel_name":"mpigo"}`,
			check: func(t *testing.T, ci ConnectionInfo) {
				if ci.endpoint(ci.ShellPort) != "tcp://127.0.0.1:1" || ci.Key != "k" {
					t.Errorf("%+v", ci)
				}
			}},
		{name: "defaults", json: `{"shell_port":1,"iopub_port":2,"stdin_port":3,"control_port":4,"hb_port":5}`,
			check: func(t *testing.T, ci ConnectionInfo) {
				if ci.Transport != "tcp" || ci.IP != "127.0.0.1" || ci.SignatureScheme != "hmac-sha256" {
					t.Errorf("%+v", ci)
				}
			}},
		{name: "ipv6", json: `{"shell_port":1,"iopub_port":2,"stdin_port":3,"control_port":4,"hb_port":5,"ip":"::1"}`,
			check: func(t *testing.T, ci ConnectionInfo) {
				if got := ci.endpoint(5); got != "tcp://[::1]:5" {
					t.Errorf("endpoint = %s", got)
				}
			}},
		{name: "ipc", json: `{"shell_port":1,"iopub_port":2,"stdin_port":3,"control_port":4,"hb_port":5,"ip":"/tmp/k","transport":"ipc"}`,
			check: func(t *testing.T, ci ConnectionInfo) {
				if got := ci.endpoint(4); got != "ipc:///tmp/k-4" {
					t.Errorf("endpoint = %s", got)
				}
			}},
		{name: "md5 rejected", json: `{"shell_port":1,"iopub_port":2,"stdin_port":3,"control_port":4,"hb_port":5,"signature_scheme":"hmac-md5"}`, wantErr: "signature_scheme"},
		{name: "bad transport", json: `{"shell_port":1,"iopub_port":2,"stdin_port":3,"control_port":4,"hb_port":5,"transport":"udp"}`, wantErr: "transport"},
		{name: "missing port", json: `{"shell_port":1,"iopub_port":2,"stdin_port":3,"control_port":4}`, wantErr: "hb_port"},
		{name: "not JSON", json: `{`, wantErr: "parsing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ci, err := parseConnectionInfo([]byte(tt.json))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, ci)
		})
	}
}
