package goeval

import (
	"go/scanner"
	"go/token"
	"strings"
)

// IsComplete tells a front end whether code is ready to run: "incomplete",
// with the indentation of the next line, when a bracket, a raw string or a
// block comment is left open or the code ends with an operator, a comma, a
// dot or a keyword that needs more; "invalid" when more lines cannot fix it
// (a closing bracket without its opener, a syntax error); "complete"
// otherwise, empty code included. Lines starting with % or ! (magics) count
// as complete and are not analysed.
func IsComplete(code string) (status, indent string) {
	lines := strings.Split(strings.ReplaceAll(code, "\r\n", "\n"), "\n")
	for i, l := range lines {
		if t := strings.TrimLeft(l, " \t"); strings.HasPrefix(t, "%") || strings.HasPrefix(t, "!") {
			lines[i] = ""
		}
	}
	src := strings.Join(lines, "\n")
	if strings.TrimSpace(src) == "" {
		return "complete", ""
	}
	toks, errs := scanTokens(src)
	for _, e := range errs {
		if e.Msg == "raw string literal not terminated" || e.Msg == "comment not terminated" {
			return "incomplete", ""
		}
	}
	if len(errs) > 0 {
		return "invalid", ""
	}
	var stack []token.Token
	var last tok
	for _, t := range toks {
		switch t.tok {
		case token.EOF, token.COMMENT:
			continue
		case token.SEMICOLON:
			if t.lit != ";" {
				continue // automatic
			}
		case token.LPAREN, token.LBRACK, token.LBRACE:
			stack = append(stack, t.tok)
		case token.RPAREN, token.RBRACK, token.RBRACE:
			open := map[token.Token]token.Token{token.RPAREN: token.LPAREN, token.RBRACK: token.LBRACK, token.RBRACE: token.LBRACE}[t.tok]
			if len(stack) == 0 || stack[len(stack)-1] != open {
				return "invalid", ""
			}
			stack = stack[:len(stack)-1]
		}
		last = t
	}
	// The indentation of the last line that has something.
	cur := ""
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.TrimSpace(lines[i]) != "" {
			cur = lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], " \t"))]
			break
		}
	}
	opener := last.tok == token.LPAREN || last.tok == token.LBRACK || last.tok == token.LBRACE
	if len(stack) > 0 {
		if opener {
			return "incomplete", cur + "    "
		}
		return "incomplete", cur
	}
	more := cur
	if continues(last.tok) {
		more = cur + "    "
	}
	// A syntax error at the end of the code asks for more; before, it is
	// there to stay.
	end := strings.TrimRight(src, " \t\n")
	endLine := 1 + strings.Count(end, "\n")
	endCol := len(end) - strings.LastIndexByte(end, '\n')
	fset := token.NewFileSet()
	chunks := splitCell(src)
	for _, g := range []group{groupImport, groupDecl, groupStmt} {
		_, err := parseGroup(fset, src, chunks, g, 0)
		list, ok := err.(scanner.ErrorList)
		if err == nil || !ok || len(list) == 0 {
			if err != nil {
				return "invalid", ""
			}
			continue
		}
		if p := list[0].Pos; p.Line > endLine || p.Line == endLine && p.Column >= endCol {
			return "incomplete", more
		}
		return "invalid", ""
	}
	return "complete", ""
}

// continues reports whether a last token asks for more code.
func continues(t token.Token) bool {
	switch {
	case t.IsOperator():
		switch t {
		case token.RPAREN, token.RBRACK, token.RBRACE, token.SEMICOLON, token.INC, token.DEC, token.COLON:
			return false
		}
		return true
	case t.IsKeyword():
		switch t {
		case token.BREAK, token.CONTINUE, token.FALLTHROUGH, token.RETURN:
			return false
		}
		return true
	}
	return false
}
