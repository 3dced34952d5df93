// Package display shows rich output (HTML, Markdown, images, JSON, ...) in a
// Jupyter notebook from Go code run by the mpigo kernel, and from programs that
// %mpirun starts.
//
// Each function emits one display_data message with the given MIME type and a
// text/plain fallback. Outside mpigo (a plain `go run`), the fallback text is
// printed to standard output instead, so code that uses display still works in
// a terminal or a batch job.
//
//	display.HTML("<b>bold</b>")
//	display.Markdown("# Title\n*emphasis*")
//	display.Image(img) // any image.Image, sent as PNG
//
// A display with an id can be replaced in place later, which suits progress
// reports and live plots:
//
//	for i := 0; i <= 100; i += 10 {
//		display.Update("progress", map[string]any{"text/html": fmt.Sprintf("<progress value=%d max=100></progress>", i)})
//		time.Sleep(100 * time.Millisecond)
//	}
package display

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"image"
	_ "image/jpeg" // so JPEG sizes can be read for the text fallback
	"image/png"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// EnvToken is the environment variable through which the kernel enables rich
// output: its value is a secret token that marks display records on stdout.
const EnvToken = "MPIGO_DISPLAY"

// Record framing on stdout: ESC ] 5379 ; TOKEN ; KIND ; BASE64(JSON) BEL.
// An OSC sequence keeps display records in order with the text around them,
// and terminals ignore it should one ever reach a terminal.
const (
	RecordStart = "\x1b]5379;"
	RecordEnd   = "\x07"
)

// Message is the JSON payload of a display record.
type Message struct {
	Data      map[string]any `json:"data"`
	Metadata  map[string]any `json:"metadata,omitempty"`
	DisplayID string         `json:"display_id,omitempty"`
	// Update asks to replace the display with DisplayID when it is already
	// shown; the kernel shows it anew the first time a cell uses the id.
	Update bool `json:"update,omitempty"`
	// Clear asks to clear the cell's output instead of showing Data; with
	// Wait, the front end clears it only when new output arrives.
	Clear bool `json:"clear,omitempty"`
	Wait  bool `json:"wait,omitempty"`
}

// out serialises writes so that records from concurrent goroutines never
// interleave with each other.
var out struct {
	sync.Mutex
	w io.Writer // nil: os.Stdout, looked up at call time so redirection works
}

// HTML shows an HTML fragment.
//
//	display.HTML("<table><tr><td>1</td></tr></table>")
func HTML(s string) { show(map[string]any{"text/html": s, "text/plain": htmlText(s)}) }

// Markdown shows Markdown text.
//
//	display.Markdown("**rank 0** finished")
func Markdown(s string) { show(map[string]any{"text/markdown": s, "text/plain": s}) }

// SVG shows an SVG image given as its XML source.
//
//	display.SVG(`<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><circle cx="10" cy="10" r="8"/></svg>`)
func SVG(s string) { show(map[string]any{"image/svg+xml": s, "text/plain": "[SVG image]"}) }

// Latex shows LaTeX math, e.g. display.Latex(`$\sum_i x_i$`).
func Latex(s string) { show(map[string]any{"text/latex": s, "text/plain": s}) }

// JavaScript runs JavaScript in front ends that allow it (Jupyter Notebook).
//
//	display.JavaScript(`console.log("hello")`)
func JavaScript(s string) {
	show(map[string]any{"application/javascript": s, "text/plain": "[JavaScript]"})
}

// Text shows plain text as a display (unlike fmt.Print, it can be updated in
// place with Update).
func Text(s string) { show(map[string]any{"text/plain": s}) }

// PNG shows a PNG image from its encoded bytes.
//
//	b, _ := os.ReadFile("plot.png"); display.PNG(b)
func PNG(b []byte) { show(imageData("image/png", "PNG", b)) }

// JPEG shows a JPEG image from its encoded bytes.
func JPEG(b []byte) { show(imageData("image/jpeg", "JPEG", b)) }

// Image shows any image.Image, encoded as PNG.
//
//	img := image.NewRGBA(image.Rect(0, 0, 64, 64)); display.Image(img)
func Image(img image.Image) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		fmt.Fprintf(os.Stderr, "display.Image: encoding PNG: %v\n", err)
		return
	}
	PNG(buf.Bytes())
}

// JSON shows v as JSON (application/json), rendered as a tree by JupyterLab.
//
//	display.JSON(map[string]any{"ranks": 4, "ok": true})
func JSON(v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fmt.Fprintf(os.Stderr, "display.JSON: %v\n", err)
		return
	}
	show(map[string]any{"application/json": json.RawMessage(b), "text/plain": string(b)})
}

// Data shows a MIME bundle as is: keys are MIME types, values their content
// (binary types base64-encoded, as Jupyter expects). A text/plain fallback is
// added when missing.
//
//	display.Data(map[string]any{"text/html": "<i>hi</i>", "text/plain": "hi"})
func Data(data map[string]any) { show(withFallback(data)) }

// Update shows data under id the first time a cell uses id, and replaces that
// display in place on later calls (Jupyter's update_display_data).
//
//	display.Update("status", map[string]any{"text/plain": "step 3 of 10"})
func Update(id string, data map[string]any) {
	emit(Message{Data: withFallback(data), DisplayID: id, Update: true})
}

// Clear clears the output of the running cell (Jupyter's clear_output). With
// wait, the old output stays until new output replaces it, which avoids
// flicker when redrawing in a loop:
//
//	for i := 0; i < 10; i++ {
//		display.Clear(true)
//		display.Markdown(fmt.Sprintf("step **%d**", i))
//	}
//
// Outside the kernel it does nothing.
func Clear(wait bool) { emit(Message{Clear: true, Wait: wait}) }

func show(data map[string]any) { emit(Message{Data: data}) }

// emit writes one display record, or the text fallback outside the kernel.
func emit(m Message) {
	out.Lock()
	defer out.Unlock()
	w := out.w
	if w == nil {
		w = os.Stdout
	}
	token := os.Getenv(EnvToken)
	if token == "" {
		if m.Clear {
			return
		}
		text, _ := m.Data["text/plain"].(string)
		if !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		io.WriteString(w, text)
		return
	}
	b, err := json.Marshal(m)
	if err != nil {
		fmt.Fprintf(os.Stderr, "display: encoding output: %v\n", err)
		return
	}
	io.WriteString(w, RecordStart+token+";display;"+base64.StdEncoding.EncodeToString(b)+RecordEnd)
}

func imageData(mime, kind string, b []byte) map[string]any {
	desc := "[" + kind + " image]"
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(b)); err == nil {
		desc = fmt.Sprintf("[%s image %dx%d]", kind, cfg.Width, cfg.Height)
	}
	return map[string]any{mime: base64.StdEncoding.EncodeToString(b), "text/plain": desc}
}

func withFallback(data map[string]any) map[string]any {
	if _, ok := data["text/plain"]; ok {
		return data
	}
	d := make(map[string]any, len(data)+1)
	types := make([]string, 0, len(data))
	for k, v := range data {
		d[k] = v
		types = append(types, k)
	}
	sort.Strings(types)
	if s, ok := data["text/html"].(string); ok {
		d["text/plain"] = htmlText(s)
	} else {
		d["text/plain"] = "[" + strings.Join(types, ", ") + "]"
	}
	return d
}

var (
	breaks = regexp.MustCompile(`(?i)<br\s*/?>|</(p|div|tr|li|h[1-6])>`)
	cells  = regexp.MustCompile(`(?i)</t[dh]>`)
	tags   = regexp.MustCompile(`(?is)<script.*?</script>|<style.*?</style>|<[^>]*>`)
	blanks = regexp.MustCompile(`[ \t]*\n[ \t\n]*`)
)

// htmlText is a readable plain-text rendering of an HTML fragment, for
// terminals (jupyter console) and the text/plain fallback.
func htmlText(s string) string {
	s = breaks.ReplaceAllString(s, "\n")
	s = cells.ReplaceAllString(s, "\t")
	s = html.UnescapeString(tags.ReplaceAllString(s, ""))
	return strings.TrimSpace(blanks.ReplaceAllString(s, "\n"))
}

// InCell is m as a cell's output, in a cell where the display ids in shown
// were displayed already: the first use of an id shows it, later ones
// update it (Update is kept only for an id shown before). It records m's
// id in shown.
func (m Message) InCell(shown map[string]bool) Message {
	if m.DisplayID == "" {
		m.Update = false
		return m
	}
	m.Update = m.Update && shown[m.DisplayID]
	shown[m.DisplayID] = true
	return m
}
