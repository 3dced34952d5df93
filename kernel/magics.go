package kernel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"

	"github.com/mpigo/mpigo/cellio"
)

// A cell is read line by line: a line that starts in column 0 with '!' or '%'
// (and is not inside a multi-line raw string or comment) is a magic line; the
// other lines form Go segments. If the first line is %name or %%name and name
// is a registered cell magic, the whole cell belongs to that magic.

// cellPart is one magic line or one Go segment of a cell.
type cellPart struct {
	magic bool
	line  int    // 1-based cell line of the part's first line
	text  string // the magic line, or the Go segment preceded by line-1 newlines
}

// splitLines splits code into lines; a trailing '\r' stays on its line.
func splitLines(code string) []string { return strings.Split(code, "\n") }

// magicLines reports, for each line, whether it is a magic line.
func magicLines(lines []string) []bool {
	var st goScanner
	res := make([]bool, len(lines))
	for i, line := range lines {
		if !st.inRaw && !st.inBlock && (strings.HasPrefix(line, "%") || strings.HasPrefix(line, "!")) {
			res[i] = true
			continue
		}
		st.scanLine(line)
	}
	return res
}

// goScanner tracks just enough Go lexical state across lines to know whether
// a line starts inside a raw string literal or a block comment, where a '%'
// in column 0 is text, not a magic (think fmt.Printf(`...\n%d`)).
type goScanner struct {
	inRaw, inBlock bool
}

func (s *goScanner) scanLine(line string) {
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case s.inRaw:
			if c == '`' {
				s.inRaw = false
			}
		case s.inBlock:
			if c == '*' && i+1 < len(line) && line[i+1] == '/' {
				s.inBlock = false
				i++
			}
		case c == '`':
			s.inRaw = true
		case c == '/' && i+1 < len(line) && line[i+1] == '/':
			return
		case c == '/' && i+1 < len(line) && line[i+1] == '*':
			s.inBlock = true
			i++
		case c == '"' || c == '\'':
			// Interpreted strings and runes end on their line.
			for i++; i < len(line) && line[i] != c; i++ {
				if line[i] == '\\' {
					i++
				}
			}
		}
	}
}

// splitCell splits a cell into its magic lines and Go segments, in order. A
// Go segment keeps its cell line numbers: it is preceded by as many empty
// lines as come before it in the cell.
func splitCell(code string) []cellPart {
	lines := splitLines(code)
	magic := magicLines(lines)
	var parts []cellPart
	for i := 0; i < len(lines); {
		if magic[i] {
			parts = append(parts, cellPart{magic: true, line: i + 1, text: strings.TrimSuffix(lines[i], "\r")})
			i++
			continue
		}
		j := i
		for j < len(lines) && !magic[j] {
			j++
		}
		parts = append(parts, cellPart{
			line: i + 1,
			text: strings.Repeat("\n", i) + strings.Join(lines[i:j], "\n"),
		})
		i = j
	}
	return parts
}

// maskMagics replaces every character of the magic lines with a space, so
// that the engine sees Go only while every code point offset stays the same.
func maskMagics(code string) string {
	lines := splitLines(code)
	magic := magicLines(lines)
	for i, line := range lines {
		if magic[i] {
			lines[i] = strings.Repeat(" ", len([]rune(line)))
		}
	}
	return strings.Join(lines, "\n")
}

// magicLineAt returns the magic line holding the cursor (a code point offset)
// and the cursor's column in it, if that line is a magic line.
func magicLineAt(code string, cursor int) (line string, col int, ok bool) {
	lines := splitLines(code)
	magic := magicLines(lines)
	start := 0
	for i, l := range lines {
		n := len([]rune(l))
		if cursor <= start+n {
			return l, cursor - start, magic[i]
		}
		start += n + 1
	}
	return "", 0, false
}

// magicName splits a magic line "%name rest" (or "%%name rest") into its name
// and the rest; percents counts the leading '%'.
func magicName(line string) (name, rest string, percents int) {
	for percents < len(line) && percents < 2 && line[percents] == '%' {
		percents++
	}
	s := line[percents:]
	end := strings.IndexFunc(s, unicode.IsSpace)
	if end < 0 {
		return s, "", percents
	}
	return s[:end], strings.TrimSpace(s[end:]), percents
}

// usageError is a cell error for a magic used wrongly.
func usageError(format string, args ...any) *cellio.Error {
	return &cellio.Error{Name: cellio.UsageError, Value: fmt.Sprintf(format, args...)}
}

// magicError is a cell error for a magic that failed.
func magicError(format string, args ...any) *cellio.Error {
	return &cellio.Error{Name: cellio.MagicError, Value: fmt.Sprintf(format, args...)}
}

// MagicDoc is what %help shows of a cell magic.
type MagicDoc struct {
	Usage   string // "%mpirun -n N [...]"
	Desc    string // what it does, in a line
	Example string // "%mpirun -n 4"
}

// unknownMagic is the error of a magic that is not registered.
func unknownMagic(name string) *cellio.Error {
	return usageError("unknown magic %%%s; run %%help to list the magics", name)
}

// runCell executes a cell: a cell magic, or its line magics and Go segments
// in order, stopping at the first error. The result is that of the last part
// run, so a final Go expression shows its value.
func (k *kernel) runCell(ctx context.Context, code string, count int, allowStdin bool, out cellio.Output) (cellio.Result, error) {
	lines := splitLines(code)
	if first := strings.TrimSuffix(lines[0], "\r"); strings.HasPrefix(first, "%") {
		name, rest, percents := magicName(first)
		if fn, ok := k.cfg.CellMagics[name]; ok {
			args, err := splitArgs(rest)
			if err != nil {
				return cellio.Result{}, usageError("%%%s: %v", name, err)
			}
			return fn(context.WithValue(ctx, countKey{}, count), args, strings.Join(lines[1:], "\n"), out)
		}
		if percents == 2 {
			return cellio.Result{}, usageError("unknown cell magic %%%%%s; run %%help to list the magics", name)
		}
	}
	var res cellio.Result
	for _, p := range splitCell(code) {
		if ctx.Err() != nil {
			return cellio.Result{}, interruptedError()
		}
		var err error
		if p.magic {
			res = cellio.Result{}
			err = k.lineMagic(ctx, p.text, out)
		} else {
			if strings.TrimSpace(p.text) == "" {
				continue
			}
			res, err = k.engine.Execute(ctx, cellio.Request{Code: p.text, Cell: count, AllowStdin: allowStdin}, out)
		}
		if err != nil {
			return cellio.Result{}, err
		}
	}
	return res, nil
}

// lineMagic runs one magic line.
func (k *kernel) lineMagic(ctx context.Context, line string, out cellio.Output) error {
	if cmd, ok := strings.CutPrefix(line, "!"); ok {
		return k.shellCommand(ctx, cmd, out)
	}
	name, rest, percents := magicName(line)
	if _, ok := k.cfg.CellMagics[name]; ok {
		return usageError("%%%s is a cell magic: put it on the first line of the cell", name)
	}
	if percents == 2 {
		return usageError("unknown cell magic %%%%%s; run %%help to list the magics", name)
	}
	if m, ok := k.cfg.LineMagics[name]; ok {
		args, err := splitArgs(rest)
		if err != nil {
			return usageError("%%%s: %v", name, err)
		}
		return m.Run(ctx, args, out)
	}
	switch name {
	case "env":
		return k.magicEnv(ctx, rest, out)
	case "cd":
		return k.magicCd(ctx, rest, out)
	case "pwd":
		dir, err := os.Getwd()
		if err != nil {
			return magicError("pwd: %v", err)
		}
		out.Stream("stdout", dir+"\n")
		return nil
	case "reset":
		return k.magicReset(ctx, rest, out)
	case "help", "lsmagic":
		out.Stream("stdout", helpText(k.lineMagics(), k.cfg.CellMagics, k.cfg.CellMagicDocs))
		return nil
	case "":
		return usageError("a lone %% is not a magic; run %%help to list the magics")
	}
	return unknownMagic(name)
}

// magicReset is %reset [--all].
func (k *kernel) magicReset(ctx context.Context, rest string, out cellio.Output) error {
	all := false
	switch strings.TrimSpace(rest) {
	case "":
	case "--all", "-a":
		all = true
	default:
		return usageError("%%reset takes no argument but --all (also forget the session's Go modules), not %q", strings.TrimSpace(rest))
	}
	if err := k.engine.Reset(ctx); err != nil {
		return engineError("reset", err)
	}
	if !all {
		out.Stream("stdout", "Interpreter state cleared: every declaration and variable is gone (the session's Go modules are kept: %reset --all forgets them too).\n")
		return nil
	}
	if k.cfg.ResetAll != nil {
		if err := k.cfg.ResetAll(ctx); err != nil {
			return engineError("reset --all", err)
		}
	}
	out.Stream("stdout", "Interpreter state cleared: every declaration, variable and Go module requirement is gone.\n")
	return nil
}

// engineError keeps a *cellio.Error from the engine and wraps anything else.
func engineError(what string, err error) error {
	var werr *cellio.Error
	if errors.As(err, &werr) {
		return werr
	}
	return magicError("%s: %v", what, err)
}

// magicEnv implements %env, %env K, %env K=V, %env K V and %env -u K.
func (k *kernel) magicEnv(ctx context.Context, rest string, out cellio.Output) error {
	if rest == "" {
		env := os.Environ()
		sort.Strings(env)
		var b strings.Builder
		for _, kv := range env {
			b.WriteString(kv)
			b.WriteByte('\n')
		}
		out.Stream("stdout", b.String())
		return nil
	}
	if keys, ok := strings.CutPrefix(rest, "-u"); ok && (keys == "" || unicode.IsSpace(rune(keys[0]))) {
		names := strings.Fields(keys)
		if len(names) == 0 {
			return usageError("%%env -u needs a variable name")
		}
		for _, key := range names {
			if err := os.Unsetenv(key); err != nil {
				return magicError("env: unset %s: %v", key, err)
			}
			if err := k.engine.Setenv(ctx, key, "", true); err != nil {
				return engineError("env", err)
			}
			out.Stream("stdout", "env: unset "+key+"\n")
		}
		return nil
	}
	first := rest
	if i := strings.IndexFunc(rest, unicode.IsSpace); i >= 0 {
		first = rest[:i]
	}
	var key, value string
	switch {
	case strings.Contains(first, "="):
		key, value, _ = strings.Cut(rest, "=")
	case first != rest:
		key, value = first, strings.TrimSpace(rest[len(first):])
	default:
		v, ok := os.LookupEnv(first)
		if !ok {
			return usageError("environment variable %s is not set", first)
		}
		out.Stream("stdout", v+"\n")
		return nil
	}
	key = strings.TrimSpace(key)
	if key == "" || strings.ContainsAny(key, "= \t\x00") {
		return usageError("%%env: bad variable name %q", key)
	}
	value = unquote(strings.TrimSpace(value))
	if err := os.Setenv(key, value); err != nil {
		return magicError("env: %v", err)
	}
	if err := k.engine.Setenv(ctx, key, value, false); err != nil {
		return engineError("env", err)
	}
	out.Stream("stdout", "env: "+key+"="+value+"\n")
	return nil
}

// unquote strips one pair of matching surrounding quotes.
func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// magicCd implements %cd [DIR]: no DIR is home, "-" the previous directory,
// and a leading ~ is expanded. Words are joined, so quoting is optional.
func (k *kernel) magicCd(ctx context.Context, rest string, out cellio.Output) error {
	args, err := splitArgs(rest)
	if err != nil {
		return usageError("%%cd: %v", err)
	}
	dir := strings.Join(args, " ")
	home, herr := os.UserHomeDir()
	switch {
	case dir == "-":
		if k.oldpwd == "" {
			return usageError("%%cd -: no previous directory")
		}
		dir = k.oldpwd
	case dir == "" || dir == "~" || strings.HasPrefix(dir, "~/"):
		if herr != nil {
			return magicError("cd: %v", herr)
		}
		dir = filepath.Join(home, strings.TrimPrefix(dir, "~"))
	}
	prev, err := os.Getwd()
	if err != nil {
		return magicError("cd: %v", err)
	}
	if err := os.Chdir(dir); err != nil {
		return magicError("cd: %v", err)
	}
	abs, err := os.Getwd()
	if err != nil {
		abs = dir
	}
	if err := k.engine.Chdir(ctx, abs); err != nil {
		_ = os.Chdir(prev) // keep the kernel and the cells in the same place
		return engineError("cd", err)
	}
	k.oldpwd = prev
	out.Stream("stdout", abs+"\n")
	return nil
}

// LineMagic is a line magic registered with the kernel: Run runs one line
// (args: the words after the name, split shell-like), Doc describes it.
type LineMagic struct {
	Run func(ctx context.Context, args []string, out cellio.Output) error
	Doc MagicDoc
}

// lineMagics returns the help of the kernel's own line magics and of the
// registered ones, sorted by name after the built-in ones.
func (k *kernel) lineMagics() []magicHelp {
	hs := append([]magicHelp(nil), lineMagicHelp...)
	var names []string
	for name := range k.cfg.LineMagics {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		d := k.cfg.LineMagics[name].Doc
		hs = append(hs, magicHelp{name, d.Usage, d.Desc, d.Example})
	}
	return hs
}

// magicHelp describes one magic for %help and inspection.
type magicHelp struct {
	name, usage, desc, example string
}

var lineMagicHelp = []magicHelp{
	{"!", "!COMMAND", "run COMMAND with /bin/sh in the kernel's directory; output is streamed live, interrupt kills it", "!ls -l"},
	{"env", "%env [-u] [K[=V]]", "list the environment; %env K shows K; %env K=V (or K V) sets K; %env -u K unsets it (for the kernel, its commands and the cells)", "%env GOMAXPROCS=4"},
	{"cd", "%cd [DIR]", "change directory (~ expands, no DIR is home, - the previous one) and print it", "%cd ~/project"},
	{"pwd", "%pwd", "print the working directory", "%pwd"},
	{"reset", "%reset [--all]", "forget every declaration and variable of earlier cells; --all also forgets the session's Go modules (%go get)", "%reset"},
	{"help", "%help, %lsmagic", "this help", "%help"},
	{"lsmagic", "%lsmagic, %help", "this help", "%lsmagic"},
}

// helpText is the output of %help.
func helpText(lines []magicHelp, cellMagics map[string]CellMagic, docs map[string]MagicDoc) string {
	var b strings.Builder
	b.WriteString("mpigo magics: a line starting with % or ! in column 0; every other line is Go.\n\nLine magics:\n")
	for _, h := range lines {
		if h.name == "lsmagic" { // listed with %help
			continue
		}
		fmt.Fprintf(&b, "  %-20s %s\n  %-20s   e.g. %s\n", h.usage, h.desc, "", h.example)
	}
	if len(cellMagics) > 0 {
		b.WriteString("\nCell magics (first line of a cell; the rest of the cell is theirs):\n")
	}
	var names, others []string
	for name := range cellMagics {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		d, ok := docs[name]
		if !ok {
			others = append(others, "%"+name)
			continue
		}
		fmt.Fprintf(&b, "  %-20s %s\n  %-20s   e.g. %s\n", d.Usage, d.Desc, "", d.Example)
	}
	if len(others) > 0 {
		fmt.Fprintf(&b, "  also: %s\n", strings.Join(others, ", "))
	}
	b.WriteString(`
Go cells:
  - imports, declarations (func, type, var, const) and statements mix in any order;
    state persists across cells, and redefining a func or type replaces it
  - missing imports of the standard library, mpi and display are added for you
  - the value of a final bare expression is shown as the cell's result
  - rich output with package display (auto-imported): display.HTML(s), display.Markdown(s),
    display.SVG(s), display.PNG(b), display.Image(img), display.JSON(v), display.Latex(s),
    and display.Update(id, ...) to change an output in place
      e.g. display.Markdown("# Hello")
`)
	return b.String()
}

// magicNames lists the names completion offers after '%'.
func magicNames(lines []magicHelp, cellMagics map[string]CellMagic) []string {
	var names []string
	for _, h := range lines {
		if h.name != "!" {
			names = append(names, h.name)
		}
	}
	for name := range cellMagics {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// completeMagic completes a magic name at col of a magic line.
func completeMagic(line string, col, cursor int, lines []magicHelp, cellMagics map[string]CellMagic) cellio.Completion {
	prefix := string([]rune(line)[:col])
	c := cellio.Completion{Matches: []string{}, Start: cursor, End: cursor}
	if !strings.HasPrefix(prefix, "%") || strings.IndexFunc(prefix, unicode.IsSpace) >= 0 {
		return c
	}
	name, _, percents := magicName(prefix)
	for _, n := range magicNames(lines, cellMagics) {
		if _, cell := cellMagics[n]; percents == 2 && !cell {
			continue
		}
		if strings.HasPrefix(n, name) {
			c.Matches = append(c.Matches, strings.Repeat("%", percents)+n)
			c.Types = append(c.Types, "magic") // IPython's type for its magics
		}
	}
	c.Start = cursor - len([]rune(prefix))
	return c
}

// inspectMagic describes the magic of a magic line.
func inspectMagic(line string, lines []magicHelp) cellio.Inspection {
	name := "!"
	if !strings.HasPrefix(line, "!") {
		name, _, _ = magicName(line)
	}
	for _, h := range lines {
		if h.name == name {
			return cellio.Inspection{Found: true, Data: map[string]any{
				"text/plain": h.usage + "\n    " + h.desc + "\n    e.g. " + h.example,
			}}
		}
	}
	return cellio.Inspection{}
}

// isComplete answers is_complete_request. Magic lines are complete on their
// own; a cell magic, like in IPython, ends with a blank line; Go is judged by
// goComplete with the magic lines blanked.
func isComplete(code string, cellMagics map[string]CellMagic, goComplete func(string) (string, string)) (status, indent string) {
	lines := splitLines(code)
	first := strings.TrimSuffix(lines[0], "\r")
	if name, _, percents := magicName(first); strings.HasPrefix(first, "%") {
		if _, ok := cellMagics[name]; ok || percents == 2 {
			if len(lines) > 1 && lines[len(lines)-1] == "" {
				lines = lines[:len(lines)-1]
			}
			if len(lines) > 1 && strings.TrimSpace(lines[len(lines)-1]) == "" {
				return "complete", ""
			}
			return "incomplete", ""
		}
	}
	masked := maskMagics(code)
	if strings.TrimSpace(masked) == "" {
		return "complete", ""
	}
	if goComplete == nil {
		return "unknown", ""
	}
	return goComplete(masked)
}

// splitArgs splits s into words the way a POSIX shell would, without running
// one: blanks separate words, 'single quotes' are literal, "double quotes"
// honor \" \\ \$ and \`, and a backslash outside quotes escapes any character.
func splitArgs(s string) ([]string, error) {
	var (
		args  []string
		cur   strings.Builder
		inArg bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		case '\\':
			inArg = true
			if i+1 == len(s) {
				cur.WriteByte('\\')
				break
			}
			i++
			if s[i] != '\n' { // backslash-newline is a line continuation
				cur.WriteByte(s[i])
			}
		case '\'':
			inArg = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case '"':
			inArg = true
			closed := false
			for i++; i < len(s); i++ {
				if s[i] == '"' {
					closed = true
					break
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0 {
					i++
					if s[i] == '\n' {
						continue
					}
				}
				cur.WriteByte(s[i])
			}
			if !closed {
				return nil, errors.New("unterminated double quote")
			}
		default:
			inArg = true
			cur.WriteByte(c)
		}
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}
