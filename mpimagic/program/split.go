package program

import (
	"go/scanner"
	"go/token"
)

// chunkKind says where a top-level piece of a cell goes in the program.
type chunkKind int

const (
	chunkStmt    chunkKind = iota // a statement: into main's body
	chunkImport                   // an import declaration
	chunkDecl                     // a declaration at package level
	chunkPackage                  // a package clause: dropped
)

// chunk is one top-level statement or declaration of a cell, as byte offsets
// into the cell body.
type chunk struct {
	kind       chunkKind
	start, end int
	isVar      bool   // a var declaration (a statement unless the cell has func main)
	name       string // the declared func, for a func declaration
}

// splitChunks cuts a cell body into its top-level statements and
// declarations with Go's scanner: a piece ends at a semicolon (written or
// automatic) outside any brackets. It reports whether the cell declares func
// main, and sorts var declarations accordingly: package level in a program
// with its own main, statements otherwise. Lexical errors are left for the
// parser to report.
func splitChunks(src string) (chunks []chunk, hasMain bool) {
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(src))
	var s scanner.Scanner
	s.Init(file, []byte(src), func(token.Position, string) {}, 0)

	var (
		toks  []scanTok
		start = -1
		depth = 0
	)
	flush := func(end int) {
		if start < 0 {
			return
		}
		c := chunk{kind: chunkStmt, start: start, end: end}
		switch toks[0].tok {
		case token.PACKAGE:
			c.kind = chunkPackage
		case token.IMPORT:
			c.kind = chunkImport
		case token.TYPE, token.CONST:
			c.kind = chunkDecl
		case token.VAR:
			c.isVar = true
		case token.FUNC:
			if len(toks) > 1 && toks[1].tok == token.IDENT {
				c.kind, c.name = chunkDecl, toks[1].lit
				if c.name == "main" && len(toks) > 2 && toks[2].tok == token.LPAREN {
					hasMain = true
				}
			} else if isMethod(toks) {
				c.kind = chunkDecl
			}
		}
		chunks = append(chunks, c)
		start, toks = -1, toks[:0]
	}
	for {
		pos, t, lit := s.Scan()
		off := file.Offset(pos)
		if t == token.EOF {
			flush(len(src))
			break
		}
		if t == token.SEMICOLON && depth <= 0 {
			if start < 0 && lit == ";" { // an empty statement
				chunks = append(chunks, chunk{kind: chunkStmt, start: off, end: off + 1})
				continue
			}
			end := off
			if lit == ";" {
				// A written semicolon belongs to its piece: it may be one of
				// the header of a for, if or switch, whose pieces are all
				// statements and stay together.
				end++
			}
			flush(end)
			depth = 0
			continue
		}
		if start < 0 {
			start = off
		}
		switch t {
		case token.LPAREN, token.LBRACE, token.LBRACK:
			depth++
		case token.RPAREN, token.RBRACE, token.RBRACK:
			depth--
		}
		toks = append(toks, scanTok{t, lit})
	}
	if hasMain {
		for i := range chunks {
			if chunks[i].isVar {
				chunks[i].kind = chunkDecl
			}
		}
	}
	return chunks, hasMain
}

// scanTok is a token and its literal.
type scanTok struct {
	tok token.Token
	lit string
}

// isMethod reports whether the tokens of a piece starting with func are a
// method declaration, func (r T) Name(, rather than a function literal,
// func(x int) int { ... }(3).
func isMethod(toks []scanTok) bool {
	get := func(i int) token.Token {
		if i < len(toks) {
			return toks[i].tok
		}
		return token.ILLEGAL
	}
	if get(1) != token.LPAREN {
		return false
	}
	depth := 0
	for i := 1; i < len(toks); i++ {
		switch get(i) {
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			depth--
			if depth == 0 {
				return get(i+1) == token.IDENT && get(i+2) == token.LPAREN
			}
		}
	}
	return false
}
