package rankio

import "bytes"

// MaxLine is the longest line held back waiting for its newline; longer
// ones are passed on in pieces of this size.
const MaxLine = 64 << 10

// LineBuffer cuts a byte stream that arrives in arbitrary chunks into whole
// lines, so that a line written in several pieces is still shown as one.
type LineBuffer struct {
	partial []byte
}

// write adds p and calls emit for every line it completes, newline included.
func (l *LineBuffer) Write(p []byte, emit func(line []byte)) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.partial = append(l.partial, p...)
			for len(l.partial) >= MaxLine {
				emit(append(bytes.Clone(l.partial[:MaxLine]), '\n'))
				l.partial = append(l.partial[:0], l.partial[MaxLine:]...)
			}
			return
		}
		if len(l.partial) > 0 {
			line := append(l.partial, p[:i+1]...)
			l.partial = nil
			emit(line)
		} else {
			emit(p[:i+1])
		}
		p = p[i+1:]
	}
}

// flush emits the pending partial line, if any, with a newline added: the
// stream ended (the rank exited) without finishing it.
func (l *LineBuffer) Flush(emit func(line []byte)) {
	if len(l.partial) > 0 {
		line := append(l.partial, '\n')
		l.partial = nil
		emit(line)
	}
}
