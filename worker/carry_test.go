package worker

import (
	"context"
	"testing"
	"time"

	"github.com/mpigo/mpigo/cellio/celliotest"
)

// TestCarryVarsOps carries variables from one interpreter process to
// another through the exportVars and importVars operations.
func TestCarryVarsOps(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	from := startEngine(t)
	if _, err := run(t, from, 1, "xs := []int{1, 2}\nfn := func() {}", celliotest.New(), false); err != nil {
		t.Fatal(err)
	}
	r, err := from.call(ctx, request{Op: opExportVars})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Vars) != 1 || r.Vars[0].Name != "xs" || r.Vars[0].Type != "[]int" {
		t.Errorf("carried %+v, want xs of type []int", r.Vars)
	}
	if len(r.Lost) != 1 || r.Lost[0].Name != "fn" {
		t.Errorf("lost %+v, want fn", r.Lost)
	}

	to := startEngine(t)
	back, err := to.call(ctx, request{Op: opImportVars, Vars: r.Vars})
	if err != nil || len(back.Lost) > 0 {
		t.Fatalf("importVars: %v, lost %+v", err, back.Lost)
	}
	res, err := run(t, to, 2, "xs", celliotest.New(), false)
	if err != nil || res.Data["text/plain"] != "[1 2]" {
		t.Errorf("xs = %v, %v; want [1 2]", res.Data["text/plain"], err)
	}
}
