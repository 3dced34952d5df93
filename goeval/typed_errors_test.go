package goeval

import (
	"context"
	"strings"
	"testing"
)

// errTypesCell declares the error types of TestErrors' sessions.
const errTypesCell = `import ("errors"; "fmt"; "io/fs"; "net"; "os"; "strconv")
type VE struct{ Field, Msg string }
func (e *VE) Error() string { return e.Field + ": " + e.Msg }
type Code int
func (c Code) Error() string { return fmt.Sprint("code ", int(c)) }
type NF struct{ Key string; N int }
func (e NF) Error() string { return "not found: " + e.Key }
type timeout struct{ op string }
func (t timeout) Error() string        { return t.op + ": timeout" }
func (t timeout) Is(target error) bool { _, ok := target.(timeout); return ok }
type Wrap struct{ Op string; Err error }
func (w *Wrap) Error() string { return w.Op + ": " + w.Err.Error() }
func (w *Wrap) Unwrap() error { return w.Err }
type Multi struct{ errs []error }
func (m Multi) Error() string { return "multi" }
func (m Multi) Unwrap() []error { return m.errs }
type Legacy struct{ n int }
func (l *Legacy) Error() string { return "legacy" }
func (l *Legacy) As(target any) bool {
	if c, ok := target.(*Code); ok {
		*c = Code(l.n)
		return true
	}
	return false
}
type Temp interface{ Temporary() bool }
type tempErr struct{ msg string }
func (t *tempErr) Error() string   { return t.msg }
func (t *tempErr) Temporary() bool { return true }
func (t *tempErr) Timeout() bool   { return false }
func find(k string) error {
	if k == "" {
		return NF{"empty", 1}
	}
	var p *VE
	return p
}
var ErrNF error = NF{"sentinel", 0}`

// TestErrors checks errors.As, errors.Is and errors.Unwrap with the
// session's error types, wrapped by fmt.Errorf and errors.Join, and with
// compiled errors (typed_errors.go). Each case is a cell after
// errTypesCell; want is its whole output, or wantErr a part of its error.
func TestErrors(t *testing.T) {
	tests := []struct {
		name, src, want, wantErr string
	}{
		{"As, pointer receiver, %w", `err := fmt.Errorf("validate: %w", &VE{"age", "negative"})
var ve *VE
fmt.Println(errors.As(err, &ve), ve.Field, err)
fmt.Println(errors.As(fmt.Errorf("x"), &ve))`, "true age validate: age: negative\nfalse\n", ""},
		{"As, value receiver, non-struct", `var c Code
fmt.Println(errors.As(fmt.Errorf("x: %w", Code(5)), &c), int(c))
fmt.Println(errors.As(errors.Join(errors.New("a"), Code(6)), &c), int(c))`, "true 5\ntrue 6\n", ""},
		{"As, value receiver, struct returned as error", `var nf NF
err := find("")
fmt.Println(errors.As(err, &nf), nf.Key, nf.N, err)
fmt.Println(errors.As(&Wrap{"read", err}, &nf), nf.Key)
n2, ok := err.(NF)
fmt.Println(n2.Key, ok)`, "true empty 1 not found: empty\ntrue empty\nempty true\n", ""},
		{"Is with an Is method", `err := fmt.Errorf("outer: %w", timeout{"read"})
fmt.Println(errors.Is(err, timeout{}), errors.Is(err, errors.New("x")))
fmt.Println(err)`, "true false\nouter: read: timeout\n", ""},
		{"Is compares values, Unwrap methods", `err := fmt.Errorf("ctx: %w", &Wrap{"op", ErrNF})
fmt.Println(errors.Is(err, ErrNF), errors.Is(err, NF{"sentinel", 0}), errors.Is(err, NF{"other", 0}))
m := Multi{[]error{errors.New("x"), Code(3)}}
fmt.Println(errors.Is(m, Code(3)), errors.Is(m, Code(4)), errors.Unwrap(m) == nil)
fmt.Println(errors.Unwrap(&Wrap{"a", ErrNF}) == ErrNF)`, "true true false\ntrue false true\ntrue\n", ""},
		{"As through an As method", `var c Code
fmt.Println(errors.As(fmt.Errorf("w: %w", &Legacy{7}), &c), int(c))`, "true 7\n", ""},
		{"compiled errors", `_, err := os.Open("/nonexistent")
var pe *fs.PathError
fmt.Println(errors.As(fmt.Errorf("w %w", err), &pe), pe.Path, errors.Is(err, fs.ErrNotExist))
_, err = strconv.Atoi("zz")
var ne *strconv.NumError
fmt.Println(errors.As(err, &ne), ne.Func, errors.Is(fmt.Errorf("w %w", err), strconv.ErrSyntax))`, "true /nonexistent true\ntrue Atoi true\n", ""},
		{"As to interfaces", `var tp Temp
fmt.Println(errors.As(fmt.Errorf("a: %w", &tempErr{"x"}), &tp), tp.Temporary())
var ne net.Error
fmt.Println(errors.As(fmt.Errorf("a: %w", &tempErr{"y"}), &ne), ne.Timeout())
var re interface{ RuntimeError() }
fmt.Println(errors.As(fmt.Errorf("recovered: %v", 1), &re))`, "true true\ntrue false\nfalse\n", ""},
		{"nil pointer in an error is not nil", `err := find("x")
fmt.Println(err == nil, err != nil)`, "false true\n", ""},
		{"comparisons and var declarations", `var e error = NF{"k", 2}
fmt.Println(e, e == NF{"k", 2}, e == ErrNF)
switch e {
case NF{"k", 2}:
	fmt.Println("case")
}`, "not found: k true false\ncase\n", ""},
		{"append, Join of a spread", `var errs []error
errs = append(errs, NF{"a", 0}, errors.New("b"))
var nf NF
fmt.Println(errors.As(errors.Join(errs...), &nf), nf.Key)`, "true a\n", ""},
		{"a compiled value for an interface of the session", `_, err := os.Open("/nonexistent")
var t interface{ Timeout() bool }
errors.As(err, &t)`, "", "cannot store a value of a compiled type in a variable of an interface type that cells declare"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestSession(t)
			evalAll(t, ts, 1, errTypesCell)
			ts.output(t)
			_, err := ts.Eval(context.Background(), 2, tt.src)
			out, _ := ts.output(t)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("cell: %v", err)
			}
			if out != tt.want {
				t.Errorf("output\n%s\nwant\n%s", out, tt.want)
			}
		})
	}
}

// TestErrorsWithoutTypes checks that a session without error types keeps
// the compiled package errors, but for an interface literal target.
func TestErrorsWithoutTypes(t *testing.T) {
	ts := newTestSession(t)
	src := `import ("errors"; "fmt")
err := fmt.Errorf("w: %w", errors.New("x"))
var re interface{ RuntimeError() }
fmt.Println(errors.Is(err, errors.Unwrap(err)), errors.As(err, &re))`
	evalAll(t, ts, 1, src)
	if out, _ := ts.output(t); out != "true false\n" {
		t.Errorf("output %q", out)
	}
	c, err := analyzeCell(ts.ip.FileSet(), 2, "errors.Is(err, err)", ts.isVar)
	if err != nil {
		t.Fatal(err)
	}
	if ts.newTypedScan(c).needs(c.stmtFile) {
		t.Errorf("errors.Is sends a session without types to the type check")
	}
}
