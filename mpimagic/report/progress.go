package report

import (
	"html"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/mpimagic/launch"
)

// progressEvery is the least time between two progress updates (the last
// one always goes out).
const progressEvery = 100 * time.Millisecond

// Progress is the one-line display a cell updates in place while it
// builds and runs (update_display_data).
type Progress struct {
	em      *launch.Emitter
	id      string
	mu      sync.Mutex
	shown   bool
	last    time.Time
	pending string
	timer   *time.Timer
	done    bool
	magic   string // "%mpirun", which starts every line
}

// NewProgress returns the progress line of an %mpirun cell.
func NewProgress(em *launch.Emitter) *Progress { return NewMagicProgress(em, "%mpirun") }

// NewMagicProgress returns a progress line whose text starts with magic
// ("%ranks").
func NewMagicProgress(em *launch.Emitter, magic string) *Progress {
	return &Progress{em: em, magic: magic, id: "mpigo-mpirun-" + strconv.FormatUint(rand.Uint64(), 16)}
}

// Set shows text; final marks the last state (later calls are ignored).
func (p *Progress) Set(text string, final bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	if final {
		p.done = true
		if p.timer != nil {
			p.timer.Stop()
		}
		p.send(text)
		return
	}
	if wait := progressEvery - time.Since(p.last); p.shown && wait > 0 {
		p.pending = text
		if p.timer == nil {
			p.timer = time.AfterFunc(wait, p.flushPending)
		}
		return
	}
	p.send(text)
}

func (p *Progress) flushPending() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.timer = nil
	if !p.done && p.pending != "" {
		p.send(p.pending)
	}
}

// send publishes text (p.mu held).
func (p *Progress) send(text string) {
	p.pending = ""
	p.last = time.Now()
	p.em.Display(cellio.Display{
		Data: map[string]any{
			"text/plain": p.magic + ": " + text,
			"text/html":  `<span style="color:#666">` + html.EscapeString(p.magic+": "+text) + "</span>",
		},
		DisplayID: p.id,
		Update:    p.shown,
	})
	p.shown = true
}
