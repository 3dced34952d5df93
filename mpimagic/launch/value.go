package launch

import (
	"encoding/json"
	"fmt"

	"github.com/mpigo/mpigo/mpimagic/rankio"
)

// rankValue is the --out value a rank's wrapper sends in FrameValue
// frames, gathered. A rank can send anything there: it is bounded by
// rankio.MaxValue and read as JSON only once the rank ended.
type rankValue struct {
	b      []byte
	sent   bool // a frame came
	tooBig bool // more than rankio.MaxValue came: b was dropped
}

// add appends a frame's payload; frames after the rank's exit (exited)
// are no part of it.
func (v *rankValue) add(p []byte, exited bool) {
	if exited || v.tooBig {
		return
	}
	v.sent = true
	if len(v.b)+len(p) > rankio.MaxValue {
		v.b, v.tooBig = nil, true
		return
	}
	v.b = append(v.b, p...)
}

// decode returns the value, an error Value when it is too large or not a
// Value, or nil when none came.
func (v *rankValue) decode() *rankio.Value {
	switch {
	case !v.sent:
		return nil
	case v.tooBig:
		return &rankio.Value{Err: fmt.Sprintf("its value is larger than the %d MiB that can be brought back", rankio.MaxValue>>20)}
	}
	var out rankio.Value
	if err := json.Unmarshal(v.b, &out); err != nil {
		return &rankio.Value{Err: "what it sent is not a value: " + err.Error()}
	}
	return &out
}
