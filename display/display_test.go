package display

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"strings"
	"testing"
)

// capture runs f with display records going to a buffer, under token.
func capture(t *testing.T, token string, f func()) string {
	t.Helper()
	t.Setenv(EnvToken, token)
	var buf bytes.Buffer
	out.Lock()
	out.w = &buf
	out.Unlock()
	defer func() { out.Lock(); out.w = nil; out.Unlock() }()
	f()
	return buf.String()
}

func decode(t *testing.T, token, s string) []Message {
	t.Helper()
	sp := NewSplitter(token)
	var msgs []Message
	for _, p := range append(sp.Split([]byte(s)), sp.Flush()...) {
		if p.Record == nil {
			t.Fatalf("unexpected text %q", p.Text)
		}
		var m Message
		if err := json.Unmarshal(p.Record.Payload, &m); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

func TestFunctionsProduceMIMEBundles(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	cases := []struct {
		name      string
		call      func()
		mime      string
		plain     string
		displayID string
	}{
		{"HTML", func() { HTML("<p>a &amp; b</p><p>c</p>") }, "text/html", "a & b\nc", ""},
		{"Markdown", func() { Markdown("# T") }, "text/markdown", "# T", ""},
		{"SVG", func() { SVG("<svg/>") }, "image/svg+xml", "[SVG image]", ""},
		{"Latex", func() { Latex("$x$") }, "text/latex", "$x$", ""},
		{"JavaScript", func() { JavaScript("1") }, "application/javascript", "[JavaScript]", ""},
		{"Text", func() { Text("hi") }, "text/plain", "hi", ""},
		{"Image", func() { Image(img) }, "image/png", "[PNG image 3x2]", ""},
		{"JSON", func() { JSON(map[string]int{"a": 1}) }, "application/json", "{\n  \"a\": 1\n}", ""},
		{"Data", func() { Data(map[string]any{"text/html": "<b>x</b>"}) }, "text/html", "x", ""},
		{"Update", func() { Update("p", map[string]any{"text/plain": "50%"}) }, "text/plain", "50%", "p"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msgs := decode(t, "tok", capture(t, "tok", c.call))
			if len(msgs) != 1 {
				t.Fatalf("got %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if _, ok := m.Data[c.mime]; !ok {
				t.Errorf("no %s in %v", c.mime, m.Data)
			}
			if got := m.Data["text/plain"]; got != c.plain {
				t.Errorf("text/plain = %q, want %q", got, c.plain)
			}
			if m.DisplayID != c.displayID || m.Update != (c.displayID != "") {
				t.Errorf("display id %q update %v", m.DisplayID, m.Update)
			}
		})
	}
}

func TestPNGIsBase64OfTheBytes(t *testing.T) {
	raw := []byte("\x89PNG not really")
	m := decode(t, "k", capture(t, "k", func() { PNG(raw) }))[0]
	b, err := base64.StdEncoding.DecodeString(m.Data["image/png"].(string))
	if err != nil || !bytes.Equal(b, raw) {
		t.Fatalf("image/png does not round-trip: %v", err)
	}
}

func TestOutsideKernelPrintsFallback(t *testing.T) {
	got := capture(t, "", func() { HTML("<b>bold</b> text"); Markdown("*m*") })
	if got != "bold text\n*m*\n" {
		t.Fatalf("fallback output %q", got)
	}
}

func TestSplitterChunksAndForgery(t *testing.T) {
	rec := EncodeRecord("tok", "sync", []byte("42"))
	forged := EncodeRecord("bad", "display", []byte("{}"))
	stream := "héllo" + rec + "mid\x1b[0m" + forged + "end\x1b"
	// Feed the stream in every chunk size, so records split anywhere are found.
	for size := 1; size <= len(stream); size++ {
		sp := NewSplitter("tok")
		var text strings.Builder
		var recs []string
		for i := 0; i < len(stream); i += size {
			for _, p := range sp.Split([]byte(stream[i:min(i+size, len(stream))])) {
				if p.Record != nil {
					recs = append(recs, p.Record.Kind+":"+string(p.Record.Payload))
				} else {
					text.Write(p.Text)
				}
			}
		}
		for _, p := range sp.Flush() {
			text.Write(p.Text)
		}
		if want := "héllomid\x1b[0m" + forged + "end\x1b"; text.String() != want {
			t.Fatalf("size %d: text %q, want %q", size, text.String(), want)
		}
		if len(recs) != 1 || recs[0] != "sync:42" {
			t.Fatalf("size %d: records %v", size, recs)
		}
	}
}

func TestSplitterKeepsRunesWhole(t *testing.T) {
	e := []byte("é")    // 2 bytes
	euro := []byte("€") // 3 bytes
	cases := []struct {
		name   string
		chunks [][]byte
		want   []string // text pieces, Flush included
	}{
		{"ascii", [][]byte{[]byte("abc")}, []string{"abc"}},
		{"2-byte rune split", [][]byte{append([]byte("a"), e[0]), e[1:]}, []string{"a", "é"}},
		{"3-byte rune split", [][]byte{append([]byte("a"), euro[:2]...), euro[2:]}, []string{"a", "€"}},
		{"invalid byte passes", [][]byte{{'a', 0xff}}, []string{"a\xff"}},
		{"cut rune at the end is flushed", [][]byte{append([]byte("a"), e[0])}, []string{"a", string(e[:1])}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sp := NewSplitter("")
			var got []string
			for _, ch := range c.chunks {
				for _, p := range sp.Split(ch) {
					got = append(got, string(p.Text))
				}
			}
			for _, p := range sp.Flush() {
				got = append(got, string(p.Text))
			}
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Fatalf("pieces %q, want %q", got, c.want)
			}
		})
	}
}

// TestInCell: the first use of a display id in a cell shows it, later ones
// update it; a message without an id is never an update.
func TestInCell(t *testing.T) {
	shown := map[string]bool{}
	for _, tt := range []struct {
		m      Message
		update bool
	}{
		{Message{DisplayID: "p", Update: true}, false}, // first use: shown
		{Message{DisplayID: "p", Update: true}, true},
		{Message{DisplayID: "p"}, false}, // a new display with the same id
		{Message{Update: true}, false},   // no id: nothing to update
		{Message{DisplayID: "q"}, false},
	} {
		if got := tt.m.InCell(shown); got.Update != tt.update || got.DisplayID != tt.m.DisplayID {
			t.Errorf("InCell(%+v) = %+v, want update %v", tt.m, got, tt.update)
		}
	}
	if !shown["p"] || !shown["q"] || len(shown) != 2 {
		t.Errorf("shown = %v", shown)
	}
}
