package pxwire

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReaderLimitsAndRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := Encode(&buf, Request{ID: 7, Op: OpExecute, Cell: 3, Code: "x := 1"}); err != nil {
		t.Fatal(err)
	}
	buf.WriteString(`{"token":"` + strings.Repeat("a", MaxHello) + `"}` + "\n")
	r := NewReader(&buf)
	var req Request
	if err := r.Next(&req, MaxLine); err != nil || req.ID != 7 || req.Code != "x := 1" {
		t.Fatalf("Next = %+v, %v", req, err)
	}
	var h Hello
	if err := r.Next(&h, MaxHello); !errors.Is(err, ErrTooLong) {
		t.Fatalf("a long hello: %v, want ErrTooLong", err)
	}
	r = NewReader(strings.NewReader(`{"id":1`))
	if err := r.Next(&req, MaxLine); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a cut line: %v", err)
	}
	r = NewReader(strings.NewReader("not json\n"))
	if err := r.Next(&req, MaxLine); err == nil {
		t.Fatal("a bad line was accepted")
	}
}
