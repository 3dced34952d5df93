package launch

import (
	"sync"
	"time"

	"github.com/mpigo/mpigo/cellio"
)

// batchDelay is how long output waits to be merged with what follows it:
// thousands of lines a second become a few stream messages, each still
// live to the eye.
const batchDelay = 10 * time.Millisecond

// maxQueued bounds the bytes of text waiting for the Output: past it the
// ranks wait (their wrappers block, then their programs), rather than the
// kernel's memory growing with a program that prints faster than the front
// end takes it.
const maxQueued = 8 << 20

// Emitter hands a run's output to a cellio.Output from one goroutine, in
// the order it came, merging consecutive text of the same stream.
type Emitter struct {
	out    cellio.Output
	mu     sync.Mutex
	space  *sync.Cond // signalled when the queue shrinks or the emitter closes
	q      []outItem
	queued int // bytes of text in q
	closed bool
	kick   chan struct{}
	quit   chan struct{}
	done   chan struct{}
	once   sync.Once
}

// outItem is text for a stream, or a display.
type outItem struct {
	stream string
	text   []byte
	disp   *cellio.Display
}

func NewEmitter(out cellio.Output) *Emitter {
	e := &Emitter{out: out, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	e.space = sync.NewCond(&e.mu)
	go e.loop()
	return e
}

// Text queues Text for stream ("stdout" or "stderr").
func (e *Emitter) Text(stream string, b []byte) {
	e.push([]outItem{{stream: stream, text: b}})
}

// Display queues a Display.
func (e *Emitter) Display(d cellio.Display) {
	e.push([]outItem{{disp: &d}})
}

// push queues items in order; text waits while the queue is full (a
// display never waits: progress updates come from the loop that must stay
// free to stop the ranks). The text of the items is copied.
func (e *Emitter) push(items []outItem) {
	if len(items) == 0 {
		return
	}
	text := false
	for _, it := range items {
		text = text || it.disp == nil
	}
	e.mu.Lock()
	for text && e.queued > maxQueued && !e.closed {
		e.space.Wait()
	}
	for _, it := range items {
		if it.disp != nil {
			e.q = append(e.q, it)
			continue
		}
		if len(it.text) == 0 {
			continue
		}
		e.queued += len(it.text)
		if n := len(e.q); n > 0 && e.q[n-1].disp == nil && e.q[n-1].stream == it.stream {
			e.q[n-1].text = append(e.q[n-1].text, it.text...)
		} else {
			e.q = append(e.q, outItem{stream: it.stream, text: append([]byte(nil), it.text...)})
		}
	}
	e.mu.Unlock()
	e.poke()
}

func (e *Emitter) poke() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

func (e *Emitter) loop() {
	defer close(e.done)
	for {
		select {
		case <-e.kick:
			select {
			case <-time.After(batchDelay):
			case <-e.quit:
			}
			e.flush()
		case <-e.quit:
			e.flush()
			return
		}
	}
}

// flush passes on everything queued.
func (e *Emitter) flush() {
	e.mu.Lock()
	q := e.q
	e.q, e.queued = nil, 0
	e.space.Broadcast()
	e.mu.Unlock()
	for _, it := range q {
		if it.disp != nil {
			e.out.Display(*it.disp)
		} else {
			e.out.Stream(it.stream, string(it.text))
		}
	}
}

// Close passes on what is left and stops the emitter; later output is
// dropped.
func (e *Emitter) Close() {
	e.once.Do(func() { close(e.quit) })
	<-e.done
	e.mu.Lock()
	e.closed = true
	e.space.Broadcast()
	e.mu.Unlock()
}
