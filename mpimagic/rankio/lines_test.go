package rankio

import (
	"reflect"
	"strings"
	"testing"
)

func TestLineBuffer(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   []string // lines emitted, flush included
	}{
		{"whole lines", []string{"a\nb\n"}, []string{"a\n", "b\n"}},
		{"a line in pieces", []string{"he", "ll", "o\nwor", "ld\n"}, []string{"hello\n", "world\n"}},
		{"partial last line flushed", []string{"x\ny"}, []string{"x\n", "y\n"}},
		{"empty lines", []string{"\n\n", "\n"}, []string{"\n", "\n", "\n"}},
		{"binary junk", []string{"\x00\xff\xfe", "\x1b[31m\n"}, []string{"\x00\xff\xfe\x1b[31m\n"}},
		{"carriage returns stay", []string{"10%\r20%\r", "done\n"}, []string{"10%\r20%\rdone\n"}},
		{"nothing", nil, nil},
	}
	for _, tt := range tests {
		var lb LineBuffer
		var got []string
		emit := func(l []byte) { got = append(got, string(l)) }
		for _, c := range tt.chunks {
			lb.Write([]byte(c), emit)
		}
		lb.Flush(emit)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestLineBufferLongLine(t *testing.T) {
	var lb LineBuffer
	var got []string
	emit := func(l []byte) { got = append(got, string(l)) }
	long := strings.Repeat("x", MaxLine+10)
	lb.Write([]byte(long), emit)
	lb.Write([]byte("\n"), emit)
	if len(got) != 2 || len(got[0]) != MaxLine+1 || got[1] != strings.Repeat("x", 10)+"\n" {
		t.Errorf("long line cut into %d pieces of %v", len(got), func() (n []int) {
			for _, g := range got {
				n = append(n, len(g))
			}
			return
		}())
	}
}
