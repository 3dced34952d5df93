package launch

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/cellio/celliotest"
	"github.com/mpigo/mpigo/display"
	"github.com/mpigo/mpigo/mpimagic/launch/launchtest"
	"github.com/mpigo/mpigo/mpimagic/rankio"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestCollector(t *testing.T) {
	rec := celliotest.New()
	em := NewEmitter(rec)
	rewrite := func(s string) string { return strings.Replace(s, "\tcell[mpirun]:", "\tcell[7]:", 1) }
	c, err := NewCollector(2, false, em, rewrite, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	// A connection without the token is dropped and changes nothing.
	bad := launchtest.DialRank(t, c.Address(false), "wrong", 0)
	if _, err := bad.Read(make([]byte, 1)); err == nil {
		t.Error("a connection with a bad token stayed open")
	}
	r0 := launchtest.DialRank(t, c.Address(false), c.token, 0)
	r1 := launchtest.DialRank(t, c.Address(false), c.token, 1)
	launchtest.WaitFor(t, "ranks 0 and 1", func() bool { started, _ := c.Counts(); return started == 2 })
	dup := launchtest.DialRank(t, c.Address(false), c.token, 1) // a second rank 1 is refused
	if _, err := dup.Read(make([]byte, 1)); err == nil {
		t.Error("a duplicate rank stayed open")
	}
	rec1 := display.EncodeRecord(c.display, "display", []byte(`{"data":{"text/html":"<b>x</b>"},"display_id":"p","update":true}`))
	frames := []struct {
		conn    net.Conn
		typ     byte
		payload string
	}{
		{r0, rankio.FrameStdout, "hel"},
		{r1, rankio.FrameStdout, "one\ntw"},
		{r0, rankio.FrameStdout, "lo\n" + rec1[:7]},
		{r0, rankio.FrameStdout, rec1[7:] + "after\n"},
		{r1, rankio.FrameStderr, "\tcell[mpirun]:3 +0x1d\n"},
		{r1, rankio.FrameStdout, "o"}, // partial until the exit
		{r0, rankio.FrameStdout, display.EncodeRecord(c.display, "display", []byte(`{"data":{"text/html":"<b>y</b>"},"display_id":"p","update":true}`))},
	}
	for _, f := range frames { // in order on each connection, whatever the interleaving
		if err := rankio.WriteFrame(f.conn, f.typ, []byte(f.payload)); err != nil {
			t.Fatal(err)
		}
	}
	exit, _ := json.Marshal(rankio.Exit{Code: 0, WallNS: 5e6})
	rankio.WriteFrame(r0, rankio.FrameExit, exit)
	exit, _ = json.Marshal(rankio.Exit{Code: -1, Signal: int(syscall.SIGSEGV)})
	rankio.WriteFrame(r1, rankio.FrameExit, exit)
	r0.Close()
	r1.Close()
	launchtest.WaitFor(t, "both ranks to end", func() bool { started, ended := c.Counts(); return started == 2 && ended == 2 && !c.open() })
	c.Close()
	em.Close()

	out := rec.Text("stdout")
	for _, want := range []string{"[rank 0] hello\n", "[rank 1] one\n", "[rank 0] after\n", "[rank 1] two\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout %q lacks %q", out, want)
		}
	}
	if err := rec.Text("stderr"); err != "[rank 1] \tcell[7]:3 +0x1d\n" {
		t.Errorf("stderr = %q", err)
	}
	if len(rec.Displays()) != 2 || rec.Displays()[0].Update || !rec.Displays()[1].Update || rec.Displays()[1].DisplayID != "p" {
		t.Errorf("displays = %+v: want the first shown, the second an update", rec.Displays())
	}
	rs := c.results()
	if !rs[0].OK() || rs[0].Lines != 2 || rs[1].Exit.Signal != int(syscall.SIGSEGV) || rs[1].Lines != 3 {
		t.Errorf("results = %+v", rs)
	}
	if c.firstFailure().IsZero() {
		t.Error("the SIGSEGV is no failure")
	}
}

func TestEmitterMergesInOrder(t *testing.T) {
	rec := celliotest.New()
	em := NewEmitter(rec)
	for i := 0; i < 1000; i++ {
		em.Text("stdout", []byte("x\n"))
	}
	em.Text("stderr", []byte("e\n"))
	em.Close()
	if got := rec.Text("stdout"); got != strings.Repeat("x\n", 1000) {
		t.Errorf("stdout: %d bytes", len(got))
	}
	if rec.Messages() > 10 {
		t.Errorf("%d messages for 1001 lines: not merged", rec.Messages())
	}
}

// startRankIO runs rankio.Main in the test process as rank `rank` of c with the
// given program, and returns its exit status channel.
func startRankIO(t *testing.T, c *Collector, rank string, program ...string) chan int {
	t.Helper()
	t.Setenv(rankio.EnvVar, c.Address(false).String())
	t.Setenv("OMPI_COMM_WORLD_RANK", rank)
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() { done <- rankio.Main(append([]string{"--"}, program...), io.Discard, &stderr) }()
	return done
}

func TestRankIO(t *testing.T) {
	rec := celliotest.New()
	em := NewEmitter(rec)
	c, err := NewCollector(3, false, em, nil, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	done := startRankIO(t, c, "2", "/bin/sh", "-c", `printf 'a'; printf 'b\n'; echo err >&2; printf 'no newline'; exit 3`)
	select {
	case code := <-done:
		if code != 3 {
			t.Errorf("rankio.Main exit status %d, want the program's 3", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("rankio.Main did not return")
	}
	launchtest.WaitFor(t, "the rank's connection to end", func() bool { return !c.open() })
	c.Close()
	em.Close()
	if got := rec.Text("stdout"); got != "[rank 2] ab\n[rank 2] no newline\n" {
		t.Errorf("stdout = %q", got)
	}
	if got := rec.Text("stderr"); got != "[rank 2] err\n" {
		t.Errorf("stderr = %q", got)
	}
	r := c.results()[2]
	if !r.Exited || r.Exit.Code != 3 || r.PID == 0 || r.Host == "" {
		t.Errorf("rank 2 = %+v", r)
	}
}

// TestRankValue: what a rank's wrapper sends in value frames becomes its
// RankResult.Value once it ended, whatever it sent: a value in pieces, too
// much, what is not a Value, nothing at all, or pieces after its exit.
func TestRankValue(t *testing.T) {
	big := make([]byte, rankio.MaxFrame)
	for _, tt := range []struct {
		name   string
		pieces [][]byte
		late   []byte // after the exit
		want   *rankio.Value
	}{
		{"in pieces", [][]byte{[]byte(`{"type":"float64","gob":"CA`), []byte(`g=","json":1.5}`)}, nil, &rankio.Value{Type: "float64", Gob: []byte{8, 8}, JSON: json.RawMessage("1.5")}},
		{"nothing", nil, nil, nil},
		{"an error", [][]byte{[]byte(`{"error":"no"}`)}, nil, &rankio.Value{Err: "no"}},
		{"not a value", [][]byte{[]byte(`{"type":`)}, nil, &rankio.Value{Err: "what it sent is not a value: unexpected end of JSON input"}},
		{"two values", [][]byte{[]byte(`{} {}`)}, nil, &rankio.Value{Err: "what it sent is not a value: invalid character '{' after top-level value"}},
		{"after the exit", [][]byte{[]byte(`{"json":1}`)}, []byte(`garbage`), &rankio.Value{JSON: json.RawMessage("1")}},
		{"too large", slices.Repeat([][]byte{big}, rankio.MaxValue/rankio.MaxFrame+1), nil, &rankio.Value{Err: "its value is larger than the 64 MiB that can be brought back"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			em := NewEmitter(celliotest.New())
			defer em.Close()
			c, err := NewCollector(1, false, em, nil, quietLog)
			if err != nil {
				t.Fatal(err)
			}
			r := launchtest.DialRank(t, c.Address(false), c.token, 0)
			for _, p := range tt.pieces {
				if err := rankio.WriteFrame(r, rankio.FrameValue, p); err != nil {
					t.Fatal(err)
				}
			}
			exit, _ := json.Marshal(rankio.Exit{})
			rankio.WriteFrame(r, rankio.FrameExit, exit)
			if tt.late != nil {
				rankio.WriteFrame(r, rankio.FrameValue, tt.late)
			}
			r.Close()
			launchtest.WaitFor(t, "the rank to end", func() bool { _, ended := c.Counts(); return ended == 1 && !c.open() })
			c.Close()
			if got := c.results()[0].Value; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Value = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestRankIOValue runs the wrapper with rankio.ValueFlag: the program
// finds the value channel in $MPIGO_RANKIO_VALUE, and what it writes there
// is the rank's value.
func TestRankIOValue(t *testing.T) {
	em := NewEmitter(celliotest.New())
	defer em.Close()
	c, err := NewCollector(1, false, em, nil, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(rankio.EnvVar, c.Address(false).String())
	t.Setenv("OMPI_COMM_WORLD_RANK", "0")
	done := make(chan int, 1)
	prog := `echo out; printf '{"type":"int","json":7}' >&$` + rankio.ValueEnvVar
	go func() {
		done <- rankio.Main([]string{rankio.ValueFlag, "--", "/bin/sh", "-c", prog}, io.Discard, io.Discard)
	}()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit status %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("rankio.Main did not return")
	}
	launchtest.WaitFor(t, "the rank's connection to end", func() bool { return !c.open() })
	c.Close()
	if v := c.results()[0].Value; v == nil || v.Type != "int" || string(v.JSON) != "7" {
		t.Errorf("Value = %+v", v)
	}
}

func TestRankIOTerminate(t *testing.T) {
	em := NewEmitter(celliotest.New())
	c, err := NewCollector(1, false, em, nil, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	done := startRankIO(t, c, "0", "/bin/sh", "-c", `echo started; exec sleep 30`)
	launchtest.WaitFor(t, "the rank to start", func() bool { started, _ := c.Counts(); return started == 1 })
	c.stop()
	c.control(rankio.CtlTerminate)
	select {
	case code := <-done:
		if code != 128+int(syscall.SIGTERM) {
			t.Errorf("exit status %d, want %d", code, 128+int(syscall.SIGTERM))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the program was not terminated")
	}
	launchtest.WaitFor(t, "the rank's connection to end", func() bool { return !c.open() })
	c.Close()
	if r := c.results()[0]; r.Exit.Signal != int(syscall.SIGTERM) {
		t.Errorf("rank 0 = %+v", r)
	}
}

// blockedOutput is an Output whose Stream waits until release is closed.
type blockedOutput struct {
	*celliotest.Recorder
	release chan struct{}
}

func (b *blockedOutput) Stream(name, text string) {
	<-b.release
	b.Recorder.Stream(name, text)
}

func TestEmitterBackpressure(t *testing.T) {
	out := &blockedOutput{Recorder: celliotest.New(), release: make(chan struct{})}
	em := NewEmitter(out)
	chunk := make([]byte, maxQueued/2+1)
	em.Text("stdout", chunk) // taken by the flush, which then blocks in Stream
	launchtest.WaitFor(t, "the first flush", func() bool { em.mu.Lock(); defer em.mu.Unlock(); return len(em.q) == 0 })
	em.Text("stdout", chunk)
	em.Text("stdout", chunk) // the queue is now over the bound
	pushed := make(chan struct{})
	go func() { em.Text("stdout", chunk); close(pushed) }()
	select {
	case <-pushed:
		t.Fatal("text was queued past the bound")
	case <-time.After(100 * time.Millisecond):
	}
	em.Display(cellio.Display{Data: map[string]any{"text/plain": "progress"}}) // displays never wait
	close(out.release)
	select {
	case <-pushed:
	case <-time.After(5 * time.Second):
		t.Fatal("the writer was not released")
	}
	em.Close()
	if got := len(out.Text("stdout")); got != 4*len(chunk) {
		t.Errorf("%d bytes out, want %d", got, 4*len(chunk))
	}
}
