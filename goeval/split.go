package goeval

import (
	"go/scanner"
	"go/token"
	"strings"
)

// group is the evaluation group of a top-level chunk of a cell.
type group int

const (
	groupImport group = iota // import declarations, evaluated first
	groupDecl                // const, type, var and func declarations, evaluated second
	groupStmt                // statements, evaluated last
	groupSkip                // a package clause: ignored
)

// chunk is one top-level piece of a cell: a declaration or a statement.
type chunk struct {
	group      group
	start, end int // byte offsets in the cell; start includes a leading doc comment
	tokStart   int // byte offset of the chunk's first token
}

// tok is a token of a cell with its byte offsets.
type tok struct {
	off, end int
	tok      token.Token
	lit      string
}

// scanTokens tokenizes src, comments included. Scanner errors are returned
// as well as the tokens read (the scanner recovers from most errors).
func scanTokens(src string) ([]tok, scanner.ErrorList) {
	fset := token.NewFileSet()
	file := fset.AddFile("", fset.Base(), len(src))
	var s scanner.Scanner
	var errs scanner.ErrorList
	s.Init(file, []byte(src), func(pos token.Position, msg string) { errs.Add(pos, msg) }, scanner.ScanComments)
	var toks []tok
	for {
		pos, t, lit := s.Scan()
		off := file.Offset(pos)
		toks = append(toks, tok{off: off, end: tokenEnd(src, off, t, lit), tok: t, lit: lit})
		if t == token.EOF {
			return toks, errs
		}
	}
}

// tokenEnd returns the byte offset just past the token at off. It reads the
// source for raw strings and comments, whose literal loses carriage returns.
func tokenEnd(src string, off int, t token.Token, lit string) int {
	switch t {
	case token.EOF:
		return off
	case token.SEMICOLON:
		if lit == "\n" || lit == "" {
			return off // automatically inserted
		}
		return off + 1
	case token.COMMENT:
		if strings.HasPrefix(src[off:], "/*") {
			if i := strings.Index(src[off+2:], "*/"); i >= 0 {
				return off + 2 + i + 2
			}
			return len(src)
		}
		if i := strings.IndexByte(src[off:], '\n'); i >= 0 {
			return off + i
		}
		return len(src)
	case token.STRING:
		if strings.HasPrefix(src[off:], "`") {
			if i := strings.IndexByte(src[off+1:], '`'); i >= 0 {
				return off + 1 + i + 1
			}
			return len(src)
		}
		return off + len(lit)
	case token.IDENT, token.INT, token.FLOAT, token.IMAG, token.CHAR:
		return off + len(lit)
	}
	if lit != "" {
		return off + len(lit)
	}
	return off + len(t.String())
}

// splitCell splits a cell into top-level chunks (depth 0, separated by
// semicolons, explicit or automatic) and classifies each one. A comment block
// that starts on its own line just before a chunk is part of it (a doc
// comment). Syntax errors are left to the parser.
func splitCell(src string) []chunk {
	toks, _ := scanTokens(src)
	lineOf := func(off int) int { return strings.Count(src[:off], "\n") }
	var chunks []chunk
	var cur *chunk
	depth := 0
	docStart := -1
	lastEndLine := -1
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch t.tok {
		case token.EOF:
			if cur != nil {
				chunks = append(chunks, *cur)
			}
			return chunks
		case token.COMMENT:
			if cur == nil && docStart < 0 && lineOf(t.off) > lastEndLine {
				docStart = t.off
			}
			continue
		case token.SEMICOLON:
			if depth == 0 {
				switch {
				case cur != nil:
					if t.lit == ";" {
						cur.end = t.end // keep explicit separators: "a := 1; b := 2"
					}
					chunks = append(chunks, *cur)
					lastEndLine = lineOf(cur.end)
					cur = nil
				case t.lit == ";":
					// An explicit one after another: the empty condition of
					// "for i := 0; ; i++ {", whose header is split here.
					chunks = append(chunks, chunk{group: groupStmt, start: t.off, tokStart: t.off, end: t.end})
				}
				docStart = -1
			}
			continue
		}
		if cur == nil {
			start := t.off
			if docStart >= 0 {
				start = docStart
			}
			docStart = -1
			cur = &chunk{group: classify(toks, i), start: start, tokStart: t.off}
		}
		switch t.tok {
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			if depth > 0 {
				depth--
			}
		}
		cur.end = t.end
	}
	return chunks
}

// classify returns the group of the chunk whose first token is toks[i].
// `func` followed by a name, or by a receiver and a name, starts a
// declaration; `func(` otherwise starts a function literal (a statement).
func classify(toks []tok, i int) group {
	switch toks[i].tok {
	case token.IMPORT:
		return groupImport
	case token.CONST, token.TYPE, token.VAR:
		return groupDecl
	case token.PACKAGE:
		return groupSkip
	case token.FUNC:
		j := nextToken(toks, i)
		if j < 0 {
			return groupStmt
		}
		switch toks[j].tok {
		case token.IDENT:
			return groupDecl
		case token.LPAREN:
			k := matchParen(toks, j)
			if k < 0 {
				return groupStmt
			}
			n1 := nextToken(toks, k)
			if n1 < 0 || toks[n1].tok != token.IDENT {
				return groupStmt
			}
			n2 := nextToken(toks, n1)
			if n2 >= 0 && toks[n2].tok == token.LPAREN {
				return groupDecl // method: func (r T) Name(
			}
		}
	}
	return groupStmt
}

// nextToken returns the index of the first non-comment token after i, or -1.
func nextToken(toks []tok, i int) int {
	for j := i + 1; j < len(toks); j++ {
		if toks[j].tok != token.COMMENT {
			return j
		}
	}
	return -1
}

// matchParen returns the index of the parenthesis closing the one at i, or -1.
func matchParen(toks []tok, i int) int {
	depth := 0
	for j := i; j < len(toks); j++ {
		switch toks[j].tok {
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			depth--
			if depth == 0 {
				return j
			}
		case token.EOF:
			return -1
		}
	}
	return -1
}

// mask returns src with every byte outside the chunks of group g replaced
// by a space, newlines kept, so that positions in the result are positions
// in the cell.
func mask(src string, chunks []chunk, g group) (string, bool) {
	b := []byte(src)
	for i, c := range b {
		if c != '\n' {
			b[i] = ' '
		}
	}
	any := false
	for _, c := range chunks {
		if c.group == g {
			copy(b[c.start:c.end], src[c.start:c.end])
			any = true
		}
	}
	return string(b), any
}
