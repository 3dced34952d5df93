package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/google/uuid"
	"github.com/mpigo/mpigo/cellio"
)

const waitLimit = 10 * time.Second

// fakeEngine interprets a toy language, one command per line:
//
//	print TEXT   stream TEXT and a newline to stdout
//	warn TEXT    the same on stderr
//	value TEXT   make TEXT the cell's text/plain result
//	display      show HTML with display id "d1", then update it
//	input        ask for a line and print "hello LINE"
//	fail         fail with a RuntimeError
//	block        print "blocking", then wait for an interrupt
//	gate         wait until the test opens the gate
//	panic TEXT   panic (a bug in the kernel's own code, as the kernel sees it)
type fakeEngine struct {
	mu       sync.Mutex
	requests []cellio.Request
	lastEnv  string // "K=V", or "-K" after an unset
	lastDir  string
	resets   int
	closed   bool
	gate     chan struct{}
	complete []string // codes passed to Complete
}

func (e *fakeEngine) Execute(ctx context.Context, req cellio.Request, out cellio.Output) (cellio.Result, error) {
	e.mu.Lock()
	e.requests = append(e.requests, req)
	gate := e.gate
	e.mu.Unlock()
	var res cellio.Result
	for _, line := range strings.Split(req.Code, "\n") {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch cmd {
		case "":
		case "print":
			out.Stream("stdout", arg+"\n")
		case "warn":
			out.Stream("stderr", arg+"\n")
		case "value":
			res = cellio.Result{Data: map[string]any{"text/plain": arg}}
		case "display":
			out.Display(cellio.Display{Data: map[string]any{"text/html": "<b>1</b>"}, DisplayID: "d1"})
			out.Display(cellio.Display{Data: map[string]any{"text/html": "<b>2</b>"}, DisplayID: "d1", Update: true})
		case "input":
			v, err := out.Input("name? ", false)
			if err != nil {
				return cellio.Result{}, &cellio.Error{Name: "InputError", Value: err.Error()}
			}
			out.Stream("stdout", "hello "+v+"\n")
		case "fail":
			return cellio.Result{}, &cellio.Error{Name: "RuntimeError", Value: "boom", Traceback: []string{"cell[1]:1", "panic: boom"}}
		case "block":
			out.Stream("stdout", "blocking\n")
			<-ctx.Done()
			return cellio.Result{}, &cellio.Error{Name: cellio.Interrupted, Value: "interrupted"}
		case "panic":
			panic("fake engine: " + arg)
		case "gate":
			select {
			case <-gate:
			case <-ctx.Done():
			}
		default:
			return cellio.Result{}, fmt.Errorf("fake engine: unknown command %q", cmd)
		}
	}
	return res, nil
}

func (e *fakeEngine) Complete(ctx context.Context, code string, cursor int) (cellio.Completion, error) {
	e.mu.Lock()
	e.complete = append(e.complete, code)
	e.mu.Unlock()
	return cellio.Completion{Matches: []string{"Println", "Printf"}, Start: cursor - 2, End: cursor,
		Types: []string{"function", "function"}, Signatures: []string{"func(...any) (int, error)", ""}}, nil
}

func (e *fakeEngine) Inspect(ctx context.Context, code string, cursor, detail int) (cellio.Inspection, error) {
	if code == "nodoc" {
		return cellio.Inspection{Data: map[string]any{}}, nil
	}
	return cellio.Inspection{Found: true, Data: map[string]any{"text/plain": fmt.Sprintf("doc %d %d", cursor, detail)}}, nil
}

func (e *fakeEngine) Reset(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.resets++
	return nil
}

func (e *fakeEngine) Setenv(ctx context.Context, key, value string, unset bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if unset {
		e.lastEnv = "-" + key
	} else {
		e.lastEnv = key + "=" + value
	}
	return nil
}

func (e *fakeEngine) Chdir(ctx context.Context, dir string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lastDir = dir
	return nil
}

func (e *fakeEngine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	return nil
}

func (e *fakeEngine) lastRequest() cellio.Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.requests) == 0 {
		return cellio.Request{}
	}
	return e.requests[len(e.requests)-1]
}

// testKernel is a kernel running in-process and a client talking to it.
type testKernel struct {
	t      testing.TB
	engine *fakeEngine
	k      *kernel
	ci     ConnectionInfo
	cancel context.CancelFunc
	done   chan error
	client *client
	// count is the execution count of the last execute_reply, so that a
	// subtest expects counts relative to it and passes when run alone.
	count float64
}

// freePorts returns n TCP ports that were free a moment ago.
func freePorts(t testing.TB, n int) []int {
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return NewLogger(os.Stderr, "debug")
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func startKernel(t testing.TB, cellMagics map[string]CellMagic, signals bool) *testKernel {
	t.Helper()
	return startKernelWith(t, func(cfg *Config) {
		cfg.CellMagics = cellMagics
		cfg.HandleSignals = signals
	})
}

// startKernelWith starts a kernel whose Config configure has adjusted.
func startKernelWith(t testing.TB, configure func(*Config)) *testKernel {
	t.Helper()
	var tk *testKernel
	// The ports were free a moment ago; another process may take one first.
	for attempt := 1; tk == nil; attempt++ {
		var err error
		tk, err = tryStartKernel(t, configure)
		if err != nil && (attempt == 3 || !strings.Contains(err.Error(), "binding")) {
			t.Fatalf("kernel did not start: %v", err)
		}
	}
	t.Cleanup(func() {
		tk.cancel()
		select {
		case <-tk.done:
		case <-time.After(waitLimit):
			t.Error("kernel did not stop after its context was cancelled")
		}
	})
	tk.client = newClient(t, tk.ci, "client-"+uuid.NewString())
	tk.client.awaitIOPub()
	return tk
}

func tryStartKernel(t testing.TB, configure func(*Config)) (*testKernel, error) {
	p := freePorts(t, 5)
	ci := ConnectionInfo{
		Transport: "tcp", IP: "127.0.0.1", ShellPort: p[0], IOPubPort: p[1], StdinPort: p[2],
		ControlPort: p[3], HBPort: p[4], Key: uuid.NewString(), SignatureScheme: "hmac-sha256",
	}
	data, _ := json.Marshal(ci)
	file := filepath.Join(t.TempDir(), "kernel.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	tk := &testKernel{t: t, engine: &fakeEngine{gate: make(chan struct{})}, ci: ci, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	tk.cancel = cancel
	started := make(chan *kernel, 1)
	cfg := Config{
		ConnectionFile: file,
		Engine:         tk.engine,
		IsComplete: func(code string) (string, string) {
			if strings.HasSuffix(strings.TrimSpace(code), "{") {
				return "incomplete", "\t"
			}
			return "complete", ""
		},
		Logger:  testLogger(t),
		Version: "1.2.3",
	}
	configure(&cfg)
	go func() {
		tk.done <- run(ctx, cfg, func(k *kernel) { started <- k })
	}()
	select {
	case tk.k = <-started:
		return tk, nil
	case err := <-tk.done:
		cancel()
		return nil, err
	case <-time.After(waitLimit):
		cancel()
		return nil, errors.New("timed out")
	}
}

// client is a Jupyter front end made of zmq4 sockets.
type client struct {
	t       testing.TB
	ci      ConnectionInfo
	signer  signer
	session string
	shell   zmq4.Socket
	control zmq4.Socket
	stdin   zmq4.Socket
	iopub   zmq4.Socket

	replies map[zmq4.Socket]chan *message
	box     mailbox
}

func dialOpts(id string) []zmq4.Option {
	opts := []zmq4.Option{zmq4.WithDialerMaxRetries(40), zmq4.WithTimeout(waitLimit),
		zmq4.WithLogger(slog.NewLogLogger(slog.New(slog.NewTextHandler(io.Discard, nil)).Handler(), slog.LevelDebug))}
	if id != "" {
		opts = append(opts, zmq4.WithID(zmq4.SocketIdentity(id)))
	}
	return opts
}

func newClient(t testing.TB, ci ConnectionInfo, identity string) *client {
	t.Helper()
	c := &client{t: t, ci: ci, signer: signer{key: []byte(ci.Key)}, session: identity, replies: map[zmq4.Socket]chan *message{}}
	ctx := context.Background()
	// jupyter_client gives the shell, control and stdin sockets the session
	// id as identity; the kernel relies on it to route input_request.
	c.shell = zmq4.NewDealer(ctx, dialOpts(identity)...)
	c.control = zmq4.NewDealer(ctx, dialOpts(identity)...)
	c.stdin = zmq4.NewDealer(ctx, dialOpts(identity)...)
	c.iopub = zmq4.NewSub(ctx, dialOpts("")...)
	for _, d := range []struct {
		s    zmq4.Socket
		port int
	}{{c.shell, ci.ShellPort}, {c.control, ci.ControlPort}, {c.stdin, ci.StdinPort}, {c.iopub, ci.IOPubPort}} {
		if err := d.s.Dial(ci.endpoint(d.port)); err != nil {
			t.Fatalf("dial %d: %v", d.port, err)
		}
	}
	if err := c.iopub.SetOption(zmq4.OptionSubscribe, ""); err != nil {
		t.Fatal(err)
	}
	for _, s := range []zmq4.Socket{c.shell, c.control, c.stdin} {
		ch := make(chan *message, 100)
		c.replies[s] = ch
		go c.read(s, func(m *message) { ch <- m })
	}
	go c.read(c.iopub, c.box.add)
	t.Cleanup(c.close)
	return c
}

func (c *client) close() {
	for _, s := range []zmq4.Socket{c.shell, c.control, c.stdin, c.iopub} {
		s.Close()
	}
}

func (c *client) read(s zmq4.Socket, deliver func(*message)) {
	for {
		zm, err := s.Recv()
		if err != nil {
			return
		}
		m, err := decode(zm.Frames, c.signer)
		if err != nil {
			c.t.Errorf("client got a bad message: %v (%q)", err, zm.Frames)
			continue
		}
		deliver(m)
	}
}

// awaitIOPub sends kernel_info requests until the iopub subscription is live
// (ZeroMQ's slow joiner: a PUB drops what it sends before the SUB subscribed).
func (c *client) awaitIOPub() {
	c.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for time.Now().Before(deadline) {
		id := c.send(c.shell, "kernel_info_request", map[string]any{})
		c.reply(c.shell, id)
		if c.box.waitIdle(id, 300*time.Millisecond) != nil {
			return
		}
	}
	c.t.Fatal("iopub never delivered a message")
}

// send sends a signed request and returns its msg_id.
func (c *client) send(s zmq4.Socket, msgType string, content any) string {
	c.t.Helper()
	return c.sendSigned(s, c.signer, msgType, content)
}

func (c *client) sendSigned(s zmq4.Socket, sg signer, msgType string, content any) string {
	c.t.Helper()
	h := header{MsgID: uuid.NewString(), Session: c.session, Username: "test", Date: timestamp(time.Now()), MsgType: msgType, Version: ProtocolVersion}
	rawHeader, _ := json.Marshal(h)
	rawContent, err := json.Marshal(content)
	if err != nil {
		c.t.Fatal(err)
	}
	frames := encode(&message{RawHeader: rawHeader, Content: rawContent}, sg)
	if err := s.Send(zmq4.NewMsgFrom(frames...)); err != nil {
		c.t.Fatalf("send %s: %v", msgType, err)
	}
	return h.MsgID
}

// reply waits for the reply to msgID on s, skipping replies to other requests.
func (c *client) reply(s zmq4.Socket, msgID string) *message {
	c.t.Helper()
	m := c.replyWithin(s, msgID, waitLimit)
	if m == nil {
		c.t.Fatalf("no reply to %s", msgID)
	}
	return m
}

// replyWithin waits up to d for the reply to msgID on s, or returns nil.
func (c *client) replyWithin(s zmq4.Socket, msgID string, d time.Duration) *message {
	timeout := time.After(d)
	for {
		select {
		case m := <-c.replies[s]:
			if parentID(m) == msgID {
				return m
			}
		case <-timeout:
			return nil
		}
	}
}

// inputRoundTrip runs an "input" cell and answers its input_request with
// value; it returns the execute request's id, the input_request and the
// execute_reply. zmq4 registers a peer a moment after the peer's Dial
// returns, and a ROUTER drops messages for peers it does not know yet, so an
// input_request sent right after the stdin socket connected can be lost; the
// cell is then interrupted and run again.
func (c *client) inputRoundTrip(value string) (id string, req, reply *message) {
	c.t.Helper()
	for range 5 {
		id = c.send(c.shell, "execute_request", map[string]any{"code": "input", "allow_stdin": true})
		if req = c.replyWithin(c.stdin, id, 2*time.Second); req != nil {
			c.send(c.stdin, "input_reply", map[string]any{"value": value})
			return id, req, c.reply(c.shell, id)
		}
		c.send(c.control, "interrupt_request", map[string]any{})
		c.reply(c.shell, id)
		c.iopubFor(id)
	}
	c.t.Fatal("no input_request reached the stdin socket")
	return "", nil, nil
}

// noReply fails if s has a reply to msgID waiting. Shell replies come in
// order, so once a later request was answered, an earlier one would be here.
func (c *client) noReply(s zmq4.Socket, msgID string) {
	c.t.Helper()
	for {
		select {
		case m := <-c.replies[s]:
			if parentID(m) == msgID {
				c.t.Errorf("unexpected reply %s to %s", m.Header.MsgType, msgID)
			}
		default:
			return
		}
	}
}

// iopubFor returns the iopub messages for request msgID, up to its idle.
func (c *client) iopubFor(msgID string) []*message {
	c.t.Helper()
	msgs := c.box.waitIdle(msgID, waitLimit)
	if msgs == nil {
		c.t.Fatalf("no idle status for %s", msgID)
	}
	return msgs
}

func parentID(m *message) string {
	var h header
	_ = json.Unmarshal(m.Parent, &h)
	return h.MsgID
}

func content(t testing.TB, m *message) map[string]any {
	t.Helper()
	var c map[string]any
	if err := json.Unmarshal(m.Content, &c); err != nil {
		t.Fatalf("content of %s: %v", m.Header.MsgType, err)
	}
	return c
}

// mailbox collects iopub messages.
type mailbox struct {
	mu   sync.Mutex
	msgs []*message
}

func (b *mailbox) add(m *message) {
	b.mu.Lock()
	b.msgs = append(b.msgs, m)
	b.mu.Unlock()
}

// waitIdle waits up to d for the idle status of request msgID and returns
// that request's messages up to it, or nil.
func (b *mailbox) waitIdle(msgID string, d time.Duration) []*message {
	deadline := time.Now().Add(d)
	for {
		b.mu.Lock()
		var got []*message
		for _, m := range b.msgs {
			if parentID(m) != msgID {
				continue
			}
			got = append(got, m)
			if m.Header.MsgType == "status" && strings.Contains(string(m.Content), `"idle"`) {
				b.mu.Unlock()
				return got
			}
		}
		b.mu.Unlock()
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitFor waits for an iopub message for msgID of type msgType.
func (b *mailbox) waitFor(msgID, msgType string) *message {
	deadline := time.Now().Add(waitLimit)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		for _, m := range b.msgs {
			if parentID(m) == msgID && m.Header.MsgType == msgType {
				b.mu.Unlock()
				return m
			}
		}
		b.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// types summarizes messages as "type" or "status:state" / "stream:name".
func types(t testing.TB, msgs []*message) string {
	var out []string
	for _, m := range msgs {
		s := m.Header.MsgType
		switch s {
		case "status":
			s += ":" + content(t, m)["execution_state"].(string)
		case "stream":
			s += ":" + content(t, m)["name"].(string)
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func (tk *testKernel) execute(code string, extra map[string]any) (reply *message, iopub []*message) {
	tk.t.Helper()
	c := map[string]any{"code": code, "silent": false, "store_history": true, "user_expressions": map[string]any{}, "allow_stdin": true, "stop_on_error": true}
	for k, v := range extra {
		c[k] = v
	}
	id := tk.client.send(tk.client.shell, "execute_request", c)
	reply = tk.client.reply(tk.client.shell, id)
	var ct struct {
		Count float64 `json:"execution_count"`
	}
	if json.Unmarshal(reply.Content, &ct) == nil {
		tk.count = ct.Count
	}
	return reply, tk.client.iopubFor(id)
}

func TestKernel(t *testing.T) {
	echo := func(ctx context.Context, args []string, body string, out cellio.Output) (cellio.Result, error) {
		n, ok := ExecutionCount(ctx)
		out.Stream("stdout", fmt.Sprintf("args=%q body=%q count=%d,%v\n", args, body, n, ok))
		return cellio.Result{Data: map[string]any{"text/plain": "from magic"}}, nil
	}
	tk := startKernel(t, map[string]CellMagic{"echo": echo}, false)
	c := tk.client

	t.Run("kernel_info", func(t *testing.T) {
		id := c.send(c.shell, "kernel_info_request", map[string]any{})
		r := c.reply(c.shell, id)
		if r.Header.MsgType != "kernel_info_reply" || r.Header.Version != "5.4" || r.Header.Username != "kernel" {
			t.Fatalf("reply header %+v", r.Header)
		}
		ct := content(t, r)
		li := ct["language_info"].(map[string]any)
		if ct["status"] != "ok" || ct["protocol_version"] != "5.4" || ct["implementation"] != "mpigo" ||
			ct["implementation_version"] != "1.2.3" || ct["debugger"] != false || li["name"] != "go" ||
			li["mimetype"] != "text/x-go" || li["file_extension"] != ".go" || li["codemirror_mode"] != "go" ||
			li["pygments_lexer"] != "go" || li["nbconvert_exporter"] != "script" || strings.HasPrefix(li["version"].(string), "go") {
			t.Errorf("kernel_info_reply = %v", ct)
		}
		if links := ct["help_links"].([]any); len(links) != 3 {
			t.Errorf("help_links = %v", links)
		}
		if got := types(t, c.iopubFor(id)); got != "status:busy status:idle" {
			t.Errorf("iopub = %s", got)
		}
		// Control answers kernel_info too.
		id = c.send(c.control, "kernel_info_request", map[string]any{})
		if r := c.reply(c.control, id); r.Header.MsgType != "kernel_info_reply" {
			t.Errorf("control reply %s", r.Header.MsgType)
		}
	})

	t.Run("execute", func(t *testing.T) {
		r, io := tk.execute("print hello\nwarn careful\nvalue 42", map[string]any{"user_expressions": map[string]any{"x": "1+1"}})
		if got := types(t, io); got != "status:busy execute_input stream:stdout stream:stderr execute_result status:idle" {
			t.Fatalf("iopub = %s", got)
		}
		in := content(t, io[1])
		if in["code"] != "print hello\nwarn careful\nvalue 42" || in["execution_count"] != 1.0 {
			t.Errorf("execute_input = %v", in)
		}
		if got := content(t, io[2])["text"]; got != "hello\n" {
			t.Errorf("stream text = %q", got)
		}
		res := content(t, io[4])
		if res["execution_count"] != 1.0 || res["data"].(map[string]any)["text/plain"] != "42" || len(res["metadata"].(map[string]any)) != 0 {
			t.Errorf("execute_result = %v", res)
		}
		ct := content(t, r)
		if ct["status"] != "ok" || ct["execution_count"] != 1.0 || len(ct["payload"].([]any)) != 0 {
			t.Errorf("execute_reply = %v", ct)
		}
		if ue := ct["user_expressions"].(map[string]any); ue["x"].(map[string]any)["status"] != "error" {
			t.Errorf("user_expressions = %v", ue)
		}
		for _, m := range io {
			if parentID(m) != parentID(r) || m.Header.Session != r.Header.Session {
				t.Errorf("%s has parent %s, session %s", m.Header.MsgType, parentID(m), m.Header.Session)
			}
		}
		if req := tk.engine.lastRequest(); req.Cell != 1 || !req.AllowStdin {
			t.Errorf("engine request = %+v", req)
		}
	})

	t.Run("error", func(t *testing.T) {
		want := tk.count + 1
		r, io := tk.execute("print before\nfail", nil)
		if got := types(t, io); got != "status:busy execute_input stream:stdout error status:idle" {
			t.Fatalf("iopub = %s", got)
		}
		e := content(t, io[3])
		if e["ename"] != "RuntimeError" || e["evalue"] != "boom" || len(e["traceback"].([]any)) != 2 {
			t.Errorf("error = %v", e)
		}
		ct := content(t, r)
		if ct["status"] != "error" || ct["ename"] != "RuntimeError" || ct["evalue"] != "boom" || ct["execution_count"] != want {
			t.Errorf("execute_reply = %v", ct)
		}
	})

	t.Run("silent and no history", func(t *testing.T) {
		n := tk.count
		r, io := tk.execute("print quiet\nvalue 1", map[string]any{"silent": true})
		if got := types(t, io); got != "status:busy status:idle" {
			t.Errorf("silent iopub = %s", got)
		}
		if ct := content(t, r); ct["execution_count"] != n || ct["status"] != "ok" {
			t.Errorf("silent reply = %v", ct)
		}
		r, io = tk.execute("value 1", map[string]any{"store_history": false})
		if got := types(t, io); got != "status:busy execute_input execute_result status:idle" {
			t.Errorf("no-history iopub = %s", got)
		}
		if ct := content(t, r); ct["execution_count"] != n {
			t.Errorf("no-history reply = %v", ct)
		}
		r, _ = tk.execute("", nil)
		if ct := content(t, r); ct["execution_count"] != n+1 || ct["status"] != "ok" {
			t.Errorf("empty cell reply = %v", ct)
		}
	})

	t.Run("magics", func(t *testing.T) {
		t.Setenv("MPIGO_KT", "")
		r, io := tk.execute("%env MPIGO_KT=on\nprint go\n!printf 'sh %s\\n' \"$MPIGO_KT\"; exit 4\nvalue last", nil)
		if ct := content(t, r); ct["status"] != "ok" {
			t.Fatalf("reply = %v", ct)
		}
		var text strings.Builder
		for _, m := range io {
			if m.Header.MsgType == "stream" {
				text.WriteString(content(t, m)["text"].(string))
			}
		}
		if want := "env: MPIGO_KT=on\ngo\nsh on\nexit status 4\n"; text.String() != want {
			t.Errorf("streams = %q, want %q", text.String(), want)
		}
		if got := types(t, io); !strings.HasSuffix(got, "execute_result status:idle") {
			t.Errorf("iopub = %s", got)
		}
		if req := tk.engine.lastRequest(); req.Code != "\n\n\nvalue last" {
			t.Errorf("last Go segment = %q, want its cell line numbers kept", req.Code)
		}
		if os.Getenv("MPIGO_KT") != "on" || tk.engine.lastEnv != "MPIGO_KT=on" {
			t.Errorf("env: kernel %q, engine %q", os.Getenv("MPIGO_KT"), tk.engine.lastEnv)
		}

		r, io = tk.execute("print first\n%bogus arg\nprint never", nil)
		ct := content(t, r)
		if ct["status"] != "error" || ct["ename"] != "UsageError" || !strings.Contains(ct["evalue"].(string), "%bogus") {
			t.Errorf("unknown magic reply = %v", ct)
		}
		if got := types(t, io); got != "status:busy execute_input stream:stdout error status:idle" {
			t.Errorf("unknown magic iopub = %s", got)
		}

		r, io = tk.execute("%%echo a 'b c'\nbody line", nil)
		if ct := content(t, r); ct["status"] != "ok" {
			t.Fatalf("cell magic reply = %v", ct)
		}
		count := int(content(t, r)["execution_count"].(float64))
		if got := content(t, io[2])["text"]; got != fmt.Sprintf(`args=["a" "b c"] body="body line" count=%d,true`+"\n", count) || count < 1 {
			t.Errorf("cell magic output = %q", got)
		}
		if got := types(t, io); got != "status:busy execute_input stream:stdout execute_result status:idle" {
			t.Errorf("cell magic iopub = %s", got)
		}
	})

	t.Run("display", func(t *testing.T) {
		_, io := tk.execute("display", nil)
		if got := types(t, io); got != "status:busy execute_input display_data update_display_data status:idle" {
			t.Fatalf("iopub = %s", got)
		}
		for _, m := range io[2:4] {
			ct := content(t, m)
			if ct["transient"].(map[string]any)["display_id"] != "d1" || ct["data"] == nil || ct["metadata"] == nil {
				t.Errorf("%s = %v", m.Header.MsgType, ct)
			}
		}
	})

	t.Run("input", func(t *testing.T) {
		id, req, r := c.inputRoundTrip("Bob")
		if req.Header.MsgType != "input_request" || content(t, req)["prompt"] != "name? " || content(t, req)["password"] != false {
			t.Fatalf("input_request = %s %v", req.Header.MsgType, content(t, req))
		}
		if ct := content(t, r); ct["status"] != "ok" {
			t.Errorf("reply = %v", ct)
		}
		if s := c.box.waitFor(id, "stream"); s == nil || content(t, s)["text"] != "hello Bob\n" {
			t.Errorf("stream after input = %v", s)
		}

		r, _ = tk.execute("input", map[string]any{"allow_stdin": false})
		if ct := content(t, r); ct["status"] != "error" || ct["ename"] != "InputError" {
			t.Errorf("input without stdin: %v", ct)
		}
	})

	t.Run("complete inspect is_complete history comm_info", func(t *testing.T) {
		id := c.send(c.shell, "complete_request", map[string]any{"code": "%cd /tmp\nfmt.Pr", "cursor_pos": 15})
		ct := content(t, c.reply(c.shell, id))
		if ct["status"] != "ok" || ct["cursor_start"] != 13.0 || ct["cursor_end"] != 15.0 || len(ct["matches"].([]any)) != 2 {
			t.Errorf("complete_reply = %v", ct)
		}
		tk.engine.mu.Lock()
		if last := tk.engine.complete[len(tk.engine.complete)-1]; last != "        \nfmt.Pr" {
			t.Errorf("engine completed %q, want the magic line blanked", last)
		}
		tk.engine.mu.Unlock()
		id = c.send(c.shell, "complete_request", map[string]any{"code": "%en", "cursor_pos": 3})
		if ct := content(t, c.reply(c.shell, id)); fmt.Sprint(ct["matches"]) != "[%env]" || ct["cursor_start"] != 0.0 {
			t.Errorf("magic completion = %v", ct)
		}

		id = c.send(c.shell, "inspect_request", map[string]any{"code": "fmt.Println", "cursor_pos": 5, "detail_level": 1})
		ct = content(t, c.reply(c.shell, id))
		if ct["status"] != "ok" || ct["found"] != true || ct["data"].(map[string]any)["text/plain"] != "doc 5 1" {
			t.Errorf("inspect_reply = %v", ct)
		}

		for code, want := range map[string]string{"for {": "incomplete", "x := 1": "complete", "%pwd": "complete"} {
			id = c.send(c.shell, "is_complete_request", map[string]any{"code": code})
			ct = content(t, c.reply(c.shell, id))
			if ct["status"] != want || (want == "incomplete") != (ct["indent"] != nil) {
				t.Errorf("is_complete(%q) = %v", code, ct)
			}
		}

		// Its own history, so that the subtest passes alone.
		tk.execute("print history probe", nil)
		probe := tk.count
		tk.execute("value 7", nil)
		id = c.send(c.shell, "history_request", map[string]any{"hist_access_type": "tail", "n": 2, "output": false, "raw": true})
		ct = content(t, c.reply(c.shell, id))
		h := ct["history"].([]any)
		if ct["status"] != "ok" || len(h) != 2 || len(h[1].([]any)) != 3 {
			t.Errorf("history_reply = %v", ct)
		}
		id = c.send(c.shell, "history_request", map[string]any{"hist_access_type": "search", "pattern": "print history*", "output": false, "raw": true})
		ct = content(t, c.reply(c.shell, id))
		if h := ct["history"].([]any); len(h) != 1 || h[0].([]any)[1] != probe {
			t.Errorf("history search = %v", ct)
		}

		id = c.send(c.shell, "comm_info_request", map[string]any{})
		ct = content(t, c.reply(c.shell, id))
		if ct["status"] != "ok" || len(ct["comms"].(map[string]any)) != 0 {
			t.Errorf("comm_info_reply = %v", ct)
		}
	})

	t.Run("bad input is dropped", func(t *testing.T) {
		forged := c.sendSigned(c.shell, signer{key: []byte("wrong key")}, "kernel_info_request", map[string]any{})
		unsigned := c.sendSigned(c.shell, signer{}, "kernel_info_request", map[string]any{})
		unknown := c.send(c.shell, "no_such_request", map[string]any{})
		comm := c.send(c.shell, "comm_open", map[string]any{"comm_id": "x", "target_name": "t", "data": map[string]any{}})
		for _, frames := range [][]string{
			{"garbage"},
			{delimiter},
			{delimiter, "sig", "{}"},
			{"id", delimiter, "0000", "{", "}", "{}", "{}"},
			{delimiter, c.signer.sign([]byte(`{"msg_type":`), []byte("{}"), []byte("{}"), []byte("{}")), `{"msg_type":`, "{}", "{}", "{}"},
		} {
			if err := c.shell.Send(zmq4.NewMsgFromString(frames)); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.control.Send(zmq4.NewMsgFromString([]string{"more garbage"})); err != nil {
			t.Fatal(err)
		}
		// An unknown request is answered with an error; the kernel still
		// answers, in order, after all that.
		if ct := content(t, c.reply(c.shell, unknown)); ct["status"] != "error" || ct["ename"] != "UnknownMessageType" {
			t.Errorf("reply to an unknown request = %v", ct)
		}
		id := c.send(c.shell, "kernel_info_request", map[string]any{})
		c.reply(c.shell, id)
		c.noReply(c.shell, forged)
		c.noReply(c.shell, unsigned)
		c.noReply(c.shell, comm)
		if got := types(t, c.iopubFor(unknown)); got != "status:busy status:idle" {
			t.Errorf("unknown type iopub = %s", got)
		}
		c.box.mu.Lock()
		for _, m := range c.box.msgs {
			if p := parentID(m); p == forged || p == unsigned {
				t.Errorf("iopub %s for a forged request", m.Header.MsgType)
			}
		}
		c.box.mu.Unlock()
		id = c.send(c.control, "kernel_info_request", map[string]any{})
		c.reply(c.control, id)
	})

	t.Run("replayed message is dropped", func(t *testing.T) {
		h, _ := json.Marshal(header{MsgID: uuid.NewString(), Session: c.session, MsgType: "kernel_info_request", Version: "5.3"})
		frames := encode(&message{RawHeader: h}, c.signer)
		for range 2 {
			if err := c.shell.Send(zmq4.NewMsgFrom(frames...)); err != nil {
				t.Fatal(err)
			}
		}
		var hh header
		_ = json.Unmarshal(h, &hh)
		c.reply(c.shell, hh.MsgID)
		id := c.send(c.shell, "kernel_info_request", map[string]any{})
		c.reply(c.shell, id)
		c.noReply(c.shell, hh.MsgID)
	})

	t.Run("stop on error aborts queued cells", func(t *testing.T) {
		first := c.send(c.shell, "execute_request", map[string]any{"code": "gate\nfail"})
		second := c.send(c.shell, "execute_request", map[string]any{"code": "print never"})
		deadline := time.Now().Add(waitLimit)
		for len(tk.k.shellQ) == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		close(tk.engine.gate)
		if ct := content(t, c.reply(c.shell, first)); ct["status"] != "error" {
			t.Errorf("first = %v", ct)
		}
		if ct := content(t, c.reply(c.shell, second)); ct["status"] != "aborted" {
			t.Errorf("second = %v, want aborted", ct)
		}
		if got := types(t, c.iopubFor(second)); got != "status:busy status:idle" {
			t.Errorf("aborted iopub = %s", got)
		}
	})

	t.Run("interrupt", func(t *testing.T) {
		id := c.send(c.shell, "execute_request", map[string]any{"code": "block"})
		if c.box.waitFor(id, "stream") == nil {
			t.Fatal("cell did not start")
		}
		irq := c.send(c.control, "interrupt_request", map[string]any{})
		if ct := content(t, c.reply(c.control, irq)); ct["status"] != "ok" {
			t.Errorf("interrupt_reply = %v", ct)
		}
		if ct := content(t, c.reply(c.shell, id)); ct["status"] != "error" || ct["ename"] != "Interrupted" {
			t.Errorf("interrupted reply = %v", ct)
		}
		if got := types(t, c.iopubFor(id)); got != "status:busy execute_input stream:stdout error status:idle" {
			t.Errorf("iopub = %s", got)
		}

		// Interrupt while the cell waits for input.
		id = c.send(c.shell, "execute_request", map[string]any{"code": "input"})
		c.reply(c.stdin, id)
		c.send(c.control, "interrupt_request", map[string]any{})
		if ct := content(t, c.reply(c.shell, id)); ct["status"] != "error" {
			t.Errorf("interrupted input reply = %v", ct)
		}
		c.iopubFor(id) // after a failed cell, a client waits for idle before sending more

		// Interrupt a shell command.
		id = c.send(c.shell, "execute_request", map[string]any{"code": "!echo started; sleep 30"})
		if c.box.waitFor(id, "stream") == nil {
			t.Fatal("command did not start")
		}
		c.send(c.control, "interrupt_request", map[string]any{})
		if ct := content(t, c.reply(c.shell, id)); ct["status"] != "error" || ct["ename"] != "Interrupted" {
			t.Errorf("interrupted command reply = %v", ct)
		}
		c.iopubFor(id)

		// The kernel is still fine.
		r, _ := tk.execute("value ok", nil)
		if ct := content(t, r); ct["status"] != "ok" {
			t.Errorf("after interrupts: %v", ct)
		}
	})

	t.Run("heartbeat", func(t *testing.T) {
		req := zmq4.NewReq(context.Background(), dialOpts("")...)
		defer req.Close()
		if err := req.Dial(tk.ci.endpoint(tk.ci.HBPort)); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			ping := fmt.Sprintf("ping %d", i)
			if err := req.Send(zmq4.NewMsgString(ping)); err != nil {
				t.Fatal(err)
			}
			m, err := req.Recv()
			if err != nil || string(m.Bytes()) != ping {
				t.Fatalf("heartbeat echo = %q, %v", m.Bytes(), err)
			}
		}
	})
}

func TestShutdown(t *testing.T) {
	for _, channel := range []string{"control", "shell"} {
		t.Run(channel, func(t *testing.T) {
			tk := startKernel(t, nil, false)
			c := tk.client
			s := c.control
			if channel == "shell" {
				s = c.shell
			}
			id := c.send(s, "shutdown_request", map[string]any{"restart": true})
			r := c.reply(s, id)
			if ct := content(t, r); r.Header.MsgType != "shutdown_reply" || ct["status"] != "ok" || ct["restart"] != true {
				t.Errorf("shutdown_reply = %s %v", r.Header.MsgType, ct)
			}
			if m := c.box.waitFor(id, "shutdown_reply"); m == nil {
				t.Error("no shutdown_reply on iopub")
			}
			select {
			case err := <-tk.done:
				if err != nil {
					t.Errorf("Run = %v, want nil", err)
				}
				tk.done <- err // for the cleanup
			case <-time.After(waitLimit):
				t.Fatal("Run did not return after shutdown_request")
			}
			tk.engine.mu.Lock()
			if !tk.engine.closed {
				t.Error("engine not closed")
			}
			tk.engine.mu.Unlock()
		})
	}
}

func TestShutdownWhileRunning(t *testing.T) {
	tk := startKernel(t, nil, false)
	c := tk.client
	id := c.send(c.shell, "execute_request", map[string]any{"code": "block"})
	if c.box.waitFor(id, "stream") == nil {
		t.Fatal("cell did not start")
	}
	c.reply(c.control, c.send(c.control, "shutdown_request", map[string]any{"restart": false}))
	select {
	case err := <-tk.done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
		tk.done <- err
	case <-time.After(waitLimit):
		t.Fatal("Run did not return")
	}
}

func TestContextCancel(t *testing.T) {
	tk := startKernel(t, nil, false)
	tk.cancel()
	select {
	case err := <-tk.done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
		tk.done <- err
	case <-time.After(waitLimit):
		t.Fatal("Run did not return")
	}
	tk.engine.mu.Lock()
	defer tk.engine.mu.Unlock()
	if !tk.engine.closed {
		t.Error("engine not closed")
	}
}

func TestSignals(t *testing.T) {
	tk := startKernel(t, nil, true)
	c := tk.client
	id := c.send(c.shell, "execute_request", map[string]any{"code": "block"})
	if c.box.waitFor(id, "stream") == nil {
		t.Fatal("cell did not start")
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if ct := content(t, c.reply(c.shell, id)); ct["status"] != "error" || ct["ename"] != "Interrupted" {
		t.Errorf("reply after SIGINT = %v", ct)
	}
	c.iopubFor(id)
	r, _ := tk.execute("value alive", nil)
	if ct := content(t, r); ct["status"] != "ok" {
		t.Errorf("after SIGINT: %v", ct)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-tk.done:
		if err != nil {
			t.Errorf("Run after SIGTERM = %v, want nil", err)
		}
		tk.done <- err
	case <-time.After(waitLimit):
		t.Fatal("Run did not return after SIGTERM")
	}
}

// TestReconnectSameIdentity checks what zmq4 (which has no ROUTER_HANDOVER)
// does when a front end reconnects with the identity it had, as
// jupyter_client does (identity = session id): replies must reach the new
// connection.
func TestReconnectSameIdentity(t *testing.T) {
	tk := startKernel(t, nil, false)
	identity := "session-" + uuid.NewString()
	ask := func(c *client) {
		t.Helper()
		id := c.send(c.shell, "kernel_info_request", map[string]any{})
		if r := c.reply(c.shell, id); r.Header.MsgType != "kernel_info_reply" {
			t.Fatalf("reply %s", r.Header.MsgType)
		}
		id = c.send(c.control, "kernel_info_request", map[string]any{})
		c.reply(c.control, id)
	}
	first := newClient(t, tk.ci, identity)
	ask(first)
	first.close()
	second := newClient(t, tk.ci, identity)
	ask(second)
	// A stdin round trip goes to the reconnected client too.
	if _, _, r := second.inputRoundTrip("again"); content(t, r)["status"] != "ok" {
		t.Errorf("execute after reconnect = %v", content(t, r))
	}
	// And a third time, with the second one still connected: both share the
	// identity; the new one must still get its replies.
	third := newClient(t, tk.ci, identity)
	ask(third)
}

func TestRunStartupErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	p := freePorts(t, 4)
	ci := ConnectionInfo{Transport: "tcp", IP: "127.0.0.1", ShellPort: p[0], IOPubPort: p[1], StdinPort: p[2],
		ControlPort: p[3], HBPort: busy.Addr().(*net.TCPAddr).Port}
	data, _ := json.Marshal(ci)
	taken := filepath.Join(t.TempDir(), "taken.json")
	if err := os.WriteFile(taken, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, file, want string
	}{
		{"missing file", filepath.Join(t.TempDir(), "nope.json"), "connection file"},
		{"port taken", taken, "binding heartbeat socket"},
	} {
		eng := &fakeEngine{}
		err := Run(context.Background(), Config{ConnectionFile: tt.file, Engine: eng, Logger: testLogger(t)})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Run = %v, want an error about %q", tt.name, err, tt.want)
		}
		if !eng.closed {
			t.Errorf("%s: engine not closed", tt.name)
		}
	}
	if err := Run(context.Background(), Config{ConnectionFile: taken}); err == nil {
		t.Error("Run without an engine should fail")
	}
}
