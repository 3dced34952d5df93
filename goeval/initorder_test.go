package goeval

import (
	"context"
	"strings"
	"testing"

	"github.com/mpigo/mpigo/cellio"
)

// TestInitOrder runs sessions whose package-level variables Go
// initializes in dependency order, not in declaration order. Each case is
// a fresh session: its cells run in order, the last one's output is
// compared, and an error (wantErr, a part of its message) is expected
// from the last cell only.
func TestInitOrder(t *testing.T) {
	tests := []struct {
		name    string
		cells   []string
		want    string
		wantErr string
	}{
		{
			name: "spec example: through a function",
			cells: []string{`var (
	a = c + b  // == 9
	b = f()    // == 4
	c = f()    // == 5
	d = 3      // == 5 after initialization has finished
)

func f() int {
	d++
	return d
}
fmt.Println(a, b, c, d)`},
			want: "9 4 5 5\n",
		},
		{
			name:  "forward references",
			cells: []string{"var x = y * 2\nvar y = z + 1\nvar z = 20\nfmt.Println(x, y, z)"},
			want:  "42 21 20\n",
		},
		{
			name:  "earliest ready first",
			cells: []string{"var trace []string\nfunc note(s string) int { trace = append(trace, s); return len(trace) }\nvar p = q + note(\"p\")\nvar q = note(\"q\")\nvar r = note(\"r\")\nfmt.Println(trace, p, q, r)"},
			want:  "[q p r] 3 1 3\n",
		},
		{
			name:  "multi-assignment initialized together",
			cells: []string{"var x = a\nvar a, b = f()\nfunc f() (int, int) { return 1, 2 }\nfmt.Println(x, a, b)"},
			want:  "1 1 2\n",
		},
		{
			name:  "one value per name: each its own",
			cells: []string{"var u, v = w + 1, 5\nvar w = v * 10\nfmt.Println(u, v, w)"},
			want:  "51 5 50\n",
		},
		{
			name:  "through a chain of functions and a closure",
			cells: []string{"var total = sum()\nfunc sum() int { return apply(func() int { return base + extra() }) }\nfunc apply(f func() int) int { return f() }\nfunc extra() int { return bonus }\nvar base = 40\nvar bonus = 2\nfmt.Println(total)"},
			want:  "42\n",
		},
		{
			name:  "through a method",
			cells: []string{"type T struct{}\nfunc (T) get() int { return n }\nvar m = T{}.get()\nvar n = 7\nfmt.Println(m, n)"},
			want:  "7 7\n",
		},
		{
			name:  "a local of the same name is no reference",
			cells: []string{"var r = g()\nfunc g() int { s := 3; return s }\nvar s = h()\nfunc h() int { return r + 1 }\nfmt.Println(r, s)"},
			want:  "3 4\n",
		},
		{
			name:  "a field key of the same name is no cycle",
			cells: []string{"type P struct{ k int }\nvar k = mk().k\nfunc mk() P { return P{k: 5} }\nfmt.Println(k)"},
			want:  "5\n",
		},
		{
			name:  "vars of earlier cells are initialized",
			cells: []string{"var base = 10", "var x = y + 1\nvar y = twice()\nfunc twice() int { return base * 2 }\nfmt.Println(x, y)"},
			want:  "21 20\n",
		},
		{
			name:  "an earlier cell's var used directly",
			cells: []string{"var base = 10", "var x = base + 1\nfmt.Println(x)"},
			want:  "11\n",
		},
		{
			name:  "after a rebuild",
			cells: []string{"type K int\nvar a = b + 1\nvar b = one()\nfunc one() int { return 1 }", "type K string\nfmt.Println(a, b)"},
			want:  "2 1\n",
		},
		{
			name:  "blank variables are ordered too",
			cells: []string{"var log []int\nvar _ = push(v)\nvar v = push(1)\nfunc push(x int) int { log = append(log, x); return x }\nfmt.Println(log)"},
			want:  "[1 1]\n",
		},
		{
			name:    "cycle through a function",
			cells:   []string{"var x = f()\nfunc f() int { return x }"},
			wantErr: "cell[1]:1:5: initialization cycle: x refers to f, f refers to x",
		},
		{
			name:    "cycle between variables",
			cells:   []string{"var p = q\nvar q = g()\nfunc g() int { return p }"},
			wantErr: "initialization cycle: p refers to q, q refers to g, g refers to p",
		},
		{
			name:    "reference to itself",
			cells:   []string{"var z = func() int { return z }()"},
			wantErr: "initialization cycle: z refers to itself",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestSession(t)
			var err error
			for i, c := range tt.cells {
				_, err = ts.Eval(context.Background(), i+1, c)
				if err != nil && i < len(tt.cells)-1 {
					t.Fatalf("cell %d: %v", i+1, err)
				}
			}
			out, _ := ts.output(t)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tt.wantErr)
				}
				e := err.(*Error)
				if e.Name != cellio.CompileError || e.Line == 0 {
					t.Errorf("error %#v: want a CompileError at a line of the cell", e)
				}
				return
			}
			if err != nil {
				t.Fatalf("last cell: %v", err)
			}
			if !strings.HasSuffix(out, tt.want) {
				t.Errorf("output %q, want it to end with %q", out, tt.want)
			}
		})
	}
}

// TestConstBools checks the constants of comparisons and logical
// operators, which yaegi does not fold (typed_consts.go).
func TestConstBools(t *testing.T) {
	ts := newTestSession(t)
	evalAll(t, ts, 1, "const big = 100\ntype B bool")
	ts.output(t)
	tests := []struct{ src, want string }{
		{"const c = 3 < 4\nfmt.Println(c)", "true\n"},
		{"const c1 = big > 50\nconst c2 B = \"a\" < \"b\"\nfmt.Printf(\"%v %v\\n\", c1, bool(c2))", "true true\n"},
		{"const c3 = c1 && !c2 || len(\"ab\") != 2\nfmt.Println(c3)", "false\n"},
		{"func f() bool { const l = big <= 1.5; return l }\nfmt.Println(f())", "false\n"},
		{"const (\n\tx = 1 == 1\n\ty\n)\nfmt.Println(x, y)", "true true\n"},
		{"if c1 {\n\tfmt.Println(\"taken\")\n}", "taken\n"},
	}
	for i, tt := range tests {
		ts.eval(t, i+2, tt.src)
		if out, _ := ts.output(t); out != tt.want {
			t.Errorf("%q printed %q, want %q", tt.src, out, tt.want)
		}
	}
}
