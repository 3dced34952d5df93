package rankio

import (
	"bytes"
	"io"
	"testing"
)

func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	frames := []struct {
		typ     byte
		payload string
	}{{FrameHello, `{"rank":1}`}, {FrameStdout, "partial"}, {FrameStderr, ""}, {FrameExit, `{"code":0}`}}
	for _, f := range frames {
		if err := WriteFrame(&buf, f.typ, []byte(f.payload)); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range frames {
		typ, p, err := ReadFrame(&buf)
		if err != nil || typ != f.typ || string(p) != f.payload {
			t.Fatalf("ReadFrame = %c %q %v, want %c %q", typ, p, err, f.typ, f.payload)
		}
	}
	if _, _, err := ReadFrame(&buf); err != io.EOF {
		t.Errorf("after the last frame: %v", err)
	}
	if err := WriteFrame(&buf, FrameStdout, make([]byte, MaxFrame+1)); err == nil {
		t.Error("an oversized frame was written")
	}
	// a forged header announcing too much is refused before allocating it
	if _, _, err := ReadFrame(bytes.NewReader([]byte{FrameStdout, 0xff, 0xff, 0xff, 0xff})); err == nil {
		t.Error("an oversized frame was read")
	}
}
