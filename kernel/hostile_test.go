package kernel

import (
	"fmt"
	"strings"
	"testing"

	"github.com/go-zeromq/zmq4"
	"github.com/google/uuid"
)

// rawRequest is a signed request whose header and content are given as
// bytes, so that they can be anything.
type rawRequest struct {
	header, parent, metadata, content string
}

// rawHeader returns a well-formed header of type msgType with a new msg_id,
// and that id.
func rawHeader(msgType string) (string, string) {
	id := uuid.NewString()
	return fmt.Sprintf(`{"msg_id":%q,"session":"s","username":"u","date":"","msg_type":%q,"version":"5.4"}`, id, msgType), id
}

// frames returns r's frames, signed with s.
func (r rawRequest) frames(s signer) [][]byte {
	parts := [][]byte{[]byte(r.header), []byte(or(r.parent, "{}")), []byte(or(r.metadata, "{}")), []byte(r.content)}
	return append([][]byte{[]byte(delimiter), []byte(s.sign(parts...))}, parts...)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// sendFrames sends frames on s.
func (c *client) sendFrames(s zmq4.Socket, frames [][]byte) {
	c.t.Helper()
	if err := s.Send(zmq4.NewMsgFrom(frames...)); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// checkBalanced checks that the iopub messages of request id are one busy
// and, last, one idle.
func checkBalanced(t *testing.T, c *client, id string) {
	t.Helper()
	msgs := c.iopubFor(id)
	got := types(t, msgs)
	if !strings.HasPrefix(got, "status:busy") || strings.Count(got, "status:busy") != 1 || strings.Count(got, "status:idle") != 1 {
		t.Errorf("iopub of %s = %q, want one busy and one idle", id, got)
	}
}

// TestHostileSignedRequests sends signed requests with bad fields: each gets
// a reply of its type (an error, or the reply with the bad value clamped),
// with balanced busy and idle, and the kernel keeps answering.
func TestHostileSignedRequests(t *testing.T) {
	tk := startKernel(t, nil, false)
	c := tk.client
	huge := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name      string
		control   bool
		msgType   string
		header    string // replaces the well-formed header when set; %s is the msg_id
		parent    string
		metadata  string
		content   string
		wantType  string
		wantEname string // "" wants status ok
	}{
		{name: "code a number", msgType: "execute_request", content: `{"code":5}`, wantEname: "BadRequest"},
		{name: "silent a string", msgType: "execute_request", content: `{"code":"print x","silent":"yes"}`, wantEname: "BadRequest"},
		{name: "content a list", msgType: "execute_request", content: `[]`, wantEname: "BadRequest"},
		{name: "content null", msgType: "execute_request", content: `null`, wantEname: "BadRequest"},
		{name: "content not JSON", msgType: "execute_request", content: `{"code":`, wantEname: "BadRequest"},
		{name: "code over the content limit", msgType: "execute_request", content: `{"code":"` + huge(defaultLimits.content) + `"}`, wantEname: "RequestTooLarge"},
		{name: "user_expressions a list", msgType: "execute_request", content: `{"code":"","user_expressions":[1]}`, wantEname: "BadRequest"},
		{name: "execute on control", control: true, msgType: "execute_request", content: `{"code":"print x"}`, wantEname: "WrongChannel"},
		{name: "cursor_pos too large for an int", msgType: "complete_request", content: `{"code":"fmt.Pr","cursor_pos":1e30}`, wantEname: "BadRequest"},
		{name: "cursor_pos a string", msgType: "complete_request", content: `{"code":"fmt.Pr","cursor_pos":"6"}`, wantEname: "BadRequest"},
		{name: "cursor_pos negative", msgType: "complete_request", content: `{"code":"fmt.Pr","cursor_pos":-5}`},
		{name: "cursor_pos past the end", msgType: "complete_request", content: `{"code":"fmt.Pr","cursor_pos":99999999}`},
		{name: "completion code over its limit", msgType: "complete_request", content: `{"code":"` + huge(maxEditorCode+1) + `","cursor_pos":0}`, wantEname: "RequestTooLarge"},
		{name: "detail_level huge", msgType: "inspect_request", content: `{"code":"fmt.Println","cursor_pos":3,"detail_level":2147483647}`},
		{name: "is_complete code a number", msgType: "is_complete_request", content: `{"code":5}`, wantEname: "BadRequest"},
		{name: "is_complete code over its limit", msgType: "is_complete_request", content: `{"code":"` + huge(maxEditorCode+1) + `"}`, wantEname: "RequestTooLarge"},
		{name: "history pattern of four million ?", msgType: "history_request", content: `{"hist_access_type":"search","pattern":"` + strings.Repeat("?", 4_000_000) + `"}`, wantEname: "RequestTooLarge"},
		{name: "history pattern a number", msgType: "history_request", content: `{"hist_access_type":"search","pattern":5}`, wantEname: "BadRequest"},
		{name: "history n a string", msgType: "history_request", content: `{"hist_access_type":"tail","n":"10"}`, wantEname: "BadRequest"},
		{name: "history n negative", msgType: "history_request", content: `{"hist_access_type":"tail","n":-1}`},
		{name: "history n huge", msgType: "history_request", content: `{"hist_access_type":"tail","n":9223372036854775807}`},
		{name: "history session too large for an int", msgType: "history_request", content: `{"hist_access_type":"range","session":1e20}`, wantEname: "BadRequest"},
		{name: "history access type a number", msgType: "history_request", content: `{"hist_access_type":7}`, wantEname: "BadRequest"},
		{name: "comm_info target a number", msgType: "comm_info_request", content: `{"target_name":5}`, wantEname: "BadRequest"},
		{name: "unknown request", msgType: "no_such_request", content: `{}`, wantType: "no_such_reply", wantEname: "UnknownMessageType"},
		{name: "unknown request on control", control: true, msgType: "no_such_request", content: `{}`, wantType: "no_such_reply", wantEname: "UnknownMessageType"},
		{name: "header field of the wrong type", msgType: "kernel_info_request", header: `{"msg_id":"%s","msg_type":"kernel_info_request","username":5}`, content: `{}`, wantEname: "BadRequest"},
		{name: "header with only msg_id and msg_type", msgType: "kernel_info_request", header: `{"msg_id":"%s","msg_type":"kernel_info_request"}`, content: `{}`},
		{name: "parent header a list", msgType: "kernel_info_request", parent: `[]`, content: `{}`, wantEname: "BadRequest"},
		{name: "metadata a string", msgType: "kernel_info_request", metadata: `"x"`, content: `{}`, wantEname: "BadRequest"},
		{name: "metadata over its limit", msgType: "kernel_info_request", metadata: `{"x":"` + huge(defaultLimits.metadata) + `"}`, content: `{}`, wantEname: "RequestTooLarge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sock := c.shell
			if tt.control {
				sock = c.control
			}
			hdr, id := rawHeader(tt.msgType)
			if tt.header != "" {
				hdr = fmt.Sprintf(tt.header, id)
			}
			c.sendFrames(sock, rawRequest{header: hdr, parent: tt.parent, metadata: tt.metadata, content: tt.content}.frames(c.signer))
			r := c.reply(sock, id)
			wantType := or(tt.wantType, replyType(tt.msgType))
			ct := content(t, r)
			if r.Header.MsgType != wantType {
				t.Errorf("reply type %s, want %s", r.Header.MsgType, wantType)
			}
			if tt.wantEname == "" && ct["status"] != "ok" {
				t.Errorf("reply %v, want status ok", ct)
			}
			if tt.wantEname != "" && (ct["status"] != "error" || ct["ename"] != tt.wantEname || ct["evalue"] == "" || len(ct["traceback"].([]any)) == 0) {
				t.Errorf("reply %s, want status error, ename %s, an evalue and a traceback", clip(fmt.Sprint(ct)), tt.wantEname)
			}
			if _, has := ct["execution_count"]; wantType == "execute_reply" && !tt.control && !has {
				t.Errorf("execute_reply without execution_count: %v", ct)
			}
			checkBalanced(t, c, id)
		})
	}
	if ct := content(t, c.reply(c.shell, c.send(c.shell, "kernel_info_request", map[string]any{}))); ct["status"] != "ok" {
		t.Errorf("kernel_info after the bad requests = %v", ct)
	}
}

// TestUnanswerableSignedRequests sends signed messages that leave nothing to
// reply to (no usable msg_type, a header too large to echo): they are
// dropped, and the kernel keeps answering in order.
func TestUnanswerableSignedRequests(t *testing.T) {
	tk := startKernel(t, nil, false)
	c := tk.client
	for _, hdr := range []string{
		`{"msg_id":"a"}`,
		`{"msg_id":"b","msg_type":""}`,
		`{"msg_id":"c","msg_type":["execute_request"]}`,
		`{"msg_id":"d","msg_type":"kernel_info_request","pad":"` + strings.Repeat("x", defaultLimits.header) + `"}`,
		`[]`,
		`not json`,
	} {
		c.sendFrames(c.shell, rawRequest{header: hdr, content: "{}"}.frames(c.signer))
	}
	id := c.send(c.shell, "kernel_info_request", map[string]any{})
	if r := c.replyWithin(c.shell, id, waitLimit); r == nil {
		t.Fatal("no kernel_info_reply after the unanswerable messages")
	}
}

// TestReplayCanonicalSignature re-sends a captured execute_request with its
// signature spelled in upper and in mixed case: the cell runs once.
func TestReplayCanonicalSignature(t *testing.T) {
	tk := startKernel(t, nil, false)
	c := tk.client
	hdr, id := rawHeader("execute_request")
	frames := rawRequest{header: hdr, content: `{"code":"print once"}`}.frames(c.signer)
	c.sendFrames(c.shell, frames)
	c.reply(c.shell, id)
	c.iopubFor(id)
	for _, spell := range []func(string) string{strings.ToUpper, mixedCase, strings.ToLower} {
		replay := append([][]byte(nil), frames...)
		replay[1] = []byte(spell(string(frames[1])))
		c.sendFrames(c.shell, replay)
	}
	later := c.send(c.shell, "kernel_info_request", map[string]any{})
	c.reply(c.shell, later) // shell replies come in order: a replay's would be here by now
	c.noReply(c.shell, id)
	tk.engine.mu.Lock()
	defer tk.engine.mu.Unlock()
	if n := len(tk.engine.requests); n != 1 {
		t.Errorf("the cell ran %d times, want once", n)
	}
}

// TestRequestBoundaryRecover makes handlers panic: the request gets an
// InternalError reply, busy and idle stay balanced, and the kernel keeps
// serving, on the shell and the control channel alike.
func TestRequestBoundaryRecover(t *testing.T) {
	tk := startKernelWith(t, func(cfg *Config) {
		cfg.beforeHandle = func(m *message) {
			if strings.Contains(string(m.Content), "panic-here") {
				panic("injected panic")
			}
		}
	})
	c := tk.client
	tests := []struct {
		name    string
		sock    zmq4.Socket
		msgType string
		content map[string]any
	}{
		{"kernel_info on shell", c.shell, "kernel_info_request", map[string]any{"x": "panic-here"}},
		{"kernel_info on control", c.control, "kernel_info_request", map[string]any{"x": "panic-here"}},
		{"is_complete on the shell reader", c.shell, "is_complete_request", map[string]any{"code": "panic-here"}},
		{"history", c.shell, "history_request", map[string]any{"hist_access_type": "tail", "x": "panic-here"}},
		{"engine panics in execute", c.shell, "execute_request", map[string]any{"code": "print before\npanic boom"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := c.send(tt.sock, tt.msgType, tt.content)
			ct := content(t, c.reply(tt.sock, id))
			if ct["status"] != "error" || ct["ename"] != "InternalError" || !strings.Contains(fmt.Sprint(ct["evalue"]), "internal error") {
				t.Errorf("reply = %v, want an InternalError", ct)
			}
			checkBalanced(t, c, id)
			again := c.send(tt.sock, "kernel_info_request", map[string]any{})
			if ct := content(t, c.reply(tt.sock, again)); ct["status"] != "ok" {
				t.Errorf("kernel_info after the panic = %v", ct)
			}
		})
	}
	tk.k.mu.Lock()
	running := tk.k.running
	tk.k.mu.Unlock()
	if running != nil {
		t.Error("the panicked cell is still recorded as running")
	}
	if r, _ := tk.execute("value 2", nil); content(t, r)["status"] != "ok" {
		t.Error("a cell after the panics failed")
	}
}

// TestReplyType checks the reply type an error reply gets.
func TestReplyType(t *testing.T) {
	for in, want := range map[string]string{
		"execute_request": "execute_reply",
		"foo_request":     "foo_reply",
		"_request":        "",
		"comm_msg":        "",
		"input_reply":     "",
		"":                "",
	} {
		if got := replyType(in); got != want {
			t.Errorf("replyType(%q) = %q, want %q", in, got, want)
		}
	}
}
