package worker

import "testing"

// TestStdinLeftoverDropped checks that input a cell was given but did not
// read never reaches a later cell, now that the stdin pipe is kept from
// cell to cell: the later cell asks again.
func TestStdinLeftoverDropped(t *testing.T) {
	e := startEngine(t)
	out := answered("first\nleftover")
	if _, err := run(t, e, 1, `var s string; fmt.Scanln(&s); fmt.Println(s)`, out, true); err != nil {
		t.Fatal(err)
	}
	if got := out.Text("stdout"); got != "first\n" || out.Asked() != 1 {
		t.Fatalf("stdout %q after %d input requests", got, out.Asked())
	}
	for cell := 2; cell <= 3; cell++ {
		out = answered("again")
		if _, err := run(t, e, cell, `var s string; fmt.Scanln(&s); fmt.Println(s)`, out, true); err != nil {
			t.Fatal(err)
		}
		if got := out.Text("stdout"); got != "again\n" || out.Asked() != 1 {
			t.Fatalf("cell %d: stdout %q after %d input requests, want a new request answered", cell, got, out.Asked())
		}
	}
}
