package kernel

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mpigo/mpigo/goeval"
)

func TestHelpRequest(t *testing.T) {
	for _, tt := range []struct {
		code   string
		name   string
		detail int
		ok     bool
	}{
		{"strings.ToUpper?", "strings.ToUpper", 0, true},
		{"?strings.ToUpper", "strings.ToUpper", 0, true},
		{"strings.ToUpper??", "strings.ToUpper", 1, true},
		{"??x", "x", 1, true},
		{"  fmt?\n", "fmt", 0, true},
		{"%cd?", "%cd", 0, true},
		{"%%mpirun?", "%%mpirun", 0, true},
		{"π?", "π", 0, true},
		{"?x?", "", 0, false},
		{"strings.ToUpper", "", 0, false},
		{"x := a?", "", 0, false},
		{"f()?", "", 0, false},
		{"a.?", "", 0, false},
		{"1x?", "", 0, false},
		{"x???", "", 0, false},
		{"?", "", 0, false},
	} {
		name, detail, ok := helpRequest(tt.code)
		if name != tt.name || detail != tt.detail || ok != tt.ok {
			t.Errorf("helpRequest(%q) = %q, %d, %v; want %q, %d, %v", tt.code, name, detail, ok, tt.name, tt.detail, tt.ok)
		}
	}
}

// TestHelpPager checks that name? answers with a "page" payload carrying the
// inspection of name, and that a name without documentation says so.
func TestHelpPager(t *testing.T) {
	tk := startKernel(t, nil, false)
	for _, tt := range []struct {
		code, page, stdout string
	}{
		{"fmt.Println?", "doc 11 0", ""},
		{"fmt.Println??", "doc 11 1", ""},
		{"%pwd?", "%pwd", ""},
		{"nodoc?", "", "no documentation found for nodoc\n"},
	} {
		t.Run(tt.code, func(t *testing.T) {
			r, iopub := tk.execute(tt.code, nil)
			ct := content(t, r)
			payload, _ := ct["payload"].([]any)
			if ct["status"] != "ok" || payload == nil {
				t.Fatalf("execute_reply = %v", ct)
			}
			var page string
			if len(payload) == 1 {
				p := payload[0].(map[string]any)
				if p["source"] != "page" {
					t.Errorf("payload source = %v, want page", p["source"])
				}
				page, _ = p["data"].(map[string]any)["text/plain"].(string)
			}
			if tt.page == "" && len(payload) != 0 || tt.page != "" && (len(payload) != 1 || !strings.HasPrefix(page, tt.page)) {
				t.Errorf("payload = %v, want a page starting %q", payload, tt.page)
			}
			var stdout string
			for _, m := range iopub {
				if m.Header.MsgType == "stream" {
					stdout += content(t, m)["text"].(string)
				}
			}
			if stdout != tt.stdout {
				t.Errorf("stdout = %q, want %q", stdout, tt.stdout)
			}
		})
	}
}

// TestIsCompleteWhileRunning checks that is_complete_request is answered
// while a cell runs, and that the front end still sees the kernel busy
// afterwards (the running cell's busy status follows the request's idle).
func TestIsCompleteWhileRunning(t *testing.T) {
	tk := startKernel(t, nil, false)
	c := tk.client
	cell := c.send(c.shell, "execute_request", map[string]any{"code": "block"})
	if c.box.waitFor(cell, "stream") == nil {
		t.Fatal("cell did not start")
	}
	id := c.send(c.shell, "is_complete_request", map[string]any{"code": "for {"})
	r := c.replyWithin(c.shell, id, waitLimit)
	if r == nil {
		t.Fatal("no is_complete_reply while a cell runs")
	}
	if ct := content(t, r); ct["status"] != "incomplete" {
		t.Errorf("is_complete_reply = %v", ct)
	}
	if got := types(t, c.iopubFor(id)); got != "status:busy status:idle" {
		t.Errorf("iopub of is_complete = %q", got)
	}
	if m := c.box.waitFor(cell, "status"); m == nil {
		t.Fatal("no status for the running cell")
	}
	// After the is_complete's idle, the last status published is the
	// running cell's busy.
	if last := lastStatus(t, c); last != "busy "+cell {
		t.Errorf("last status = %q, want the running cell's busy", last)
	}
	c.reply(c.control, c.send(c.control, "interrupt_request", map[string]any{}))
	if ct := content(t, c.reply(c.shell, cell)); ct["ename"] != "Interrupted" {
		t.Errorf("cell reply = %v", ct)
	}
	c.iopubFor(cell)
}

// lastStatus returns "STATE PARENT_ID" of the last status message seen, once
// the is_complete traffic has settled (a busy for the running cell follows
// the idle).
func lastStatus(t *testing.T, c *client) string {
	deadline := time.Now().Add(waitLimit)
	for {
		c.box.mu.Lock()
		var last string
		for _, m := range c.box.msgs {
			if m.Header.MsgType == "status" {
				last = content(t, m)["execution_state"].(string) + " " + parentID(m)
			}
		}
		c.box.mu.Unlock()
		if strings.HasPrefix(last, "busy") || time.Now().After(deadline) {
			return last
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkIsComplete measures an is_complete round trip over ZeroMQ, as a
// front end sees it, with mpigo's real Go parser (goeval.IsComplete), once
// with the kernel idle and once while a cell runs (JupyterLab's console gives
// up after 250 ms). It reports the median and the worst round trip.
func BenchmarkIsComplete(b *testing.B) {
	for _, running := range []bool{false, true} {
		b.Run(fmt.Sprintf("cellRunning=%v", running), func(b *testing.B) {
			tk := startKernelWith(b, func(cfg *Config) { cfg.IsComplete = goeval.IsComplete })
			c := tk.client
			if running {
				cell := c.send(c.shell, "execute_request", map[string]any{"code": "block"})
				if c.box.waitFor(cell, "stream") == nil {
					b.Fatal("cell did not start")
				}
			}
			code := "func f(x int) int {\n\tif x > 0 {\n\t\treturn x\n\t}\n\treturn -x\n"
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				id := c.send(c.shell, "is_complete_request", map[string]any{"code": code})
				if c.replyWithin(c.shell, id, waitLimit) == nil {
					b.Fatal("no is_complete_reply")
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "µs-median")
			b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "µs-max")
		})
	}
}

// TestCompletionTypes checks complete_reply's _jupyter_types_experimental:
// one entry per match, in order, with the match's type, and the signature
// where the engine knows it; magics are of type "magic".
func TestCompletionTypes(t *testing.T) {
	tk := startKernel(t, nil, false)
	c := tk.client
	for _, tt := range []struct {
		code string
		want string // the entries, "text:type:start:end[:signature]", space-separated
	}{
		{"fmt.Pr", "Println:function:4:6:func(...any) (int, error) Printf:function:4:6"},
		{"%en", "%env:magic:0:3"},
		{"%zzz", ""},
	} {
		t.Run(tt.code, func(t *testing.T) {
			id := c.send(c.shell, "complete_request", map[string]any{"code": tt.code, "cursor_pos": len(tt.code)})
			ct := content(t, c.reply(c.shell, id))
			items, ok := ct["metadata"].(map[string]any)["_jupyter_types_experimental"].([]any)
			if !ok {
				t.Fatalf("no _jupyter_types_experimental in %v", ct)
			}
			var got []string
			for i, it := range items {
				m := it.(map[string]any)
				if m["text"] != ct["matches"].([]any)[i] {
					t.Errorf("entry %d is %v, match %v", i, m["text"], ct["matches"].([]any)[i])
				}
				e := fmt.Sprintf("%v:%v:%v:%v", m["text"], m["type"], m["start"], m["end"])
				if sig, ok := m["signature"]; ok {
					e += ":" + sig.(string)
				}
				got = append(got, e)
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("entries = %q, want %q", g, tt.want)
			}
		})
	}
}
