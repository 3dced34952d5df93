package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/mpigo/mpigo/cellio"
)

// cellOutput is the cellio.Output of one execute request: it publishes the
// cell's output on iopub with the request as parent, and asks the front end
// for input on stdin. It is safe for concurrent use (a !command streams stdout
// and stderr from two goroutines).
type cellOutput struct {
	k          *kernel
	parent     *message
	ctx        context.Context // cancelled on interrupt
	silent     bool            // silent requests publish nothing
	allowStdin bool

	mu     sync.Mutex
	closed bool
}

var _ cellio.Output = (*cellOutput)(nil)

// close marks the end of the execute request: every output published so far
// is queued before the idle status that follows. Later output (a goroutine
// the cell left running) is still published with this request as parent, as
// ipykernel does for threads, but input can no longer be asked for.
func (o *cellOutput) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
}

// publish sends msgType on iopub unless the request is silent. The lock is
// held while queueing so that close orders after every queued message.
func (o *cellOutput) publish(msgType string, content any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.silent {
		return
	}
	if o.closed {
		o.k.log.Debug("output after the cell ended", "msg_type", msgType)
	}
	o.k.publish(o.parent, msgType, content)
}

// Stream publishes a stream message.
func (o *cellOutput) Stream(name, text string) {
	if text == "" {
		return
	}
	if name != "stderr" {
		name = "stdout"
	}
	o.publish("stream", map[string]any{"name": name, "text": text})
}

// Display publishes display_data, or update_display_data when d.Update is
// set and d carries the display id to update, or clear_output when d.Clear.
func (o *cellOutput) Display(d cellio.Display) {
	if d.Clear {
		o.publish("clear_output", map[string]any{"wait": d.Wait})
		return
	}
	msgType := "display_data"
	if d.Update {
		if d.DisplayID != "" {
			msgType = "update_display_data"
		} else {
			o.k.log.Warn("display update without a display id; sending it as new output")
		}
	}
	data := d.Data
	if data == nil {
		data = map[string]any{}
	}
	meta := d.Metadata
	if meta == nil {
		meta = map[string]any{}
	}
	transient := map[string]any{}
	if d.DisplayID != "" {
		transient["display_id"] = d.DisplayID
	}
	o.publish(msgType, map[string]any{"data": data, "metadata": meta, "transient": transient})
}

// Input sends input_request on stdin to the front end that sent the execute
// request and waits for its input_reply. It fails when the request did not
// allow stdin, and when the cell is interrupted while waiting.
func (o *cellOutput) Input(prompt string, password bool) (string, error) {
	if !o.allowStdin {
		return "", errors.New("the front end does not accept input for this request (allow_stdin is false)")
	}
	o.mu.Lock()
	closed := o.closed
	o.mu.Unlock()
	if closed {
		return "", errors.New("input requested after the cell ended")
	}
	k := o.k
	ch := make(chan string, 1)
	k.mu.Lock()
	k.input = ch // a fresh waiter: replies to earlier requests are dropped
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		if k.input == ch {
			k.input = nil
		}
		k.mu.Unlock()
	}()
	m, err := newMessage(k.session, "input_request", o.parent, map[string]any{
		"prompt": prompt, "password": password,
	})
	if err != nil {
		return "", err
	}
	m.Identities = o.parent.Identities // the stdin socket shares the shell's identity
	k.send(k.socks.stdin, m)
	select {
	case v := <-ch:
		return v, nil
	case <-o.ctx.Done():
		return "", errors.New("interrupted while waiting for input")
	}
}

// handleStdin delivers an input_reply to the Input call waiting for it.
func (k *kernel) handleStdin(m *message) {
	if m.Invalid != nil { // the stdin channel has no replies to carry an error
		k.log.Warn("dropping bad message on stdin", "msg_type", clip(m.Header.MsgType), "err", m.Invalid)
		return
	}
	if m.Header.MsgType != "input_reply" {
		k.log.Warn("ignoring unexpected message on stdin", "msg_type", m.Header.MsgType)
		return
	}
	var reply struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(m.Content, &reply); err != nil {
		k.log.Warn("bad input_reply content", "err", err)
		return
	}
	k.mu.Lock()
	ch := k.input
	k.input = nil
	k.mu.Unlock()
	if ch == nil {
		k.log.Warn("dropping input_reply: no input was requested")
		return
	}
	ch <- reply.Value // buffered, and only this reply is delivered to it
}
