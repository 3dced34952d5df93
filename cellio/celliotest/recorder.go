// Package celliotest provides a cellio.Output for tests, as httptest
// provides a ResponseWriter: it keeps what a cell produces and answers its
// input requests.
package celliotest

import (
	"io"
	"strings"
	"sync"

	"github.com/mpigo/mpigo/cellio"
)

// Recorder is a cellio.Output that keeps what it receives. It is safe for
// concurrent use.
type Recorder struct {
	mu       sync.Mutex
	streams  map[string]*strings.Builder
	displays []cellio.Display
	messages int
	inputs   []string
	asked    int
	onStream func(name, text string)
}

// New returns an empty Recorder whose input requests get io.EOF until
// Answer gives it answers.
func New() *Recorder { return &Recorder{streams: map[string]*strings.Builder{}} }

// Stream implements cellio.Output.
func (r *Recorder) Stream(name, text string) {
	r.mu.Lock()
	if r.streams[name] == nil {
		r.streams[name] = &strings.Builder{}
	}
	r.streams[name].WriteString(text)
	r.messages++
	f := r.onStream
	r.mu.Unlock()
	if f != nil {
		f(name, text)
	}
}

// Display implements cellio.Output.
func (r *Recorder) Display(d cellio.Display) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.displays = append(r.displays, d)
}

// Input implements cellio.Output: the next answer, or io.EOF when there
// is none left.
func (r *Recorder) Input(prompt string, password bool) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked++
	if len(r.inputs) == 0 {
		return "", io.EOF
	}
	a := r.inputs[0]
	r.inputs = r.inputs[1:]
	return a, nil
}

// Answer queues answers to the cell's input requests, in order.
func (r *Recorder) Answer(answers ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inputs = append(r.inputs, answers...)
}

// OnStream calls f with every text streamed from now on, after it is kept.
func (r *Recorder) OnStream(f func(name, text string)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onStream = f
}

// Text returns what was streamed to name ("stdout", "stderr").
func (r *Recorder) Text(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.streams[name] == nil {
		return ""
	}
	return r.streams[name].String()
}

// Displays returns the displays received, in order.
func (r *Recorder) Displays() []cellio.Display {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]cellio.Display(nil), r.displays...)
}

// Messages returns how many Stream calls there were.
func (r *Recorder) Messages() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.messages
}

// Asked returns how many input requests there were.
func (r *Recorder) Asked() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.asked
}
