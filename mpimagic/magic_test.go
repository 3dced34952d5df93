package mpimagic

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mpigo/mpigo"
	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/cellio/celliotest"
	"github.com/mpigo/mpigo/goeval"
)

// needBuilds skips t with -short or without Go and an MPI, and returns
// this test binary, which the magics of the test run as the rank wrapper.
func needBuilds(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and launches MPI programs")
	}
	for _, tool := range []string{"mpirun", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// TestMagicWithMPI runs cells through the whole magic (generation, build,
// launch with the real mpirun, collection, summary), with this test binary
// as the rank wrapper. It needs Go and an MPI; it is skipped without them.
func TestMagicWithMPI(t *testing.T) {
	exe := needBuilds(t)
	cache := t.TempDir() // Go's build cache still makes the builds quick
	decls := []goeval.Decl{{Kind: "func", Name: "twice", Src: "func twice(x int) int { return 2 * x }", Cell: 1, Line: 1}}
	var setOut struct { // what the last SetOut was given
		name  string
		vals  []goeval.CarriedVar
		jsons []json.RawMessage
	}
	m := New(Config{Environ: testEnviron, Exe: exe, Decls: func() []goeval.Decl { return decls }, Sources: mpigo.Sources, CacheDir: cache,
		SetOut: func(_ context.Context, name string, vals []goeval.CarriedVar, jsons []json.RawMessage) error {
			setOut.name, setOut.vals, setOut.jsons = name, vals, jsons
			return nil
		}})
	defer m.Close()
	ctx := context.Background()

	t.Run("hello", func(t *testing.T) {
		rec := celliotest.New()
		_, err := m.Cell(ctx, 3, []string{"-n", "2"}, "r := mpi.World.Rank()\nfmt.Println(\"rank\", r, twice(r))", rec)
		if err != nil {
			t.Fatalf("%v\nstdout %q\nstderr %q", err, rec.Text("stdout"), rec.Text("stderr"))
		}
		got := strings.Split(strings.TrimSpace(rec.Text("stdout")), "\n")
		sort.Strings(got)
		if strings.Join(got, "|") != "[rank 0] rank 0 0|[rank 1] rank 1 2" {
			t.Errorf("stdout %q", rec.Text("stdout"))
		}
		last := rec.Displays()[len(rec.Displays())-1]
		if s, _ := last.Data["text/plain"].(string); !strings.Contains(s, "all 2 ranks exited 0") {
			t.Errorf("summary %q", s)
		}
	})

	t.Run("panic names the cell line", func(t *testing.T) {
		rec := celliotest.New()
		_, err := m.Cell(ctx, 4, []string{"-n", "2"}, "if mpi.World.Rank() == 1 {\n\tpanic(\"boom\")\n}\nmpi.World.Barrier()", rec)
		werr, ok := err.(*cellio.Error)
		if !ok || werr.Name != cellio.RankError || !strings.HasPrefix(werr.Value, "rank 1 failed: exit 2 (panic)") {
			t.Fatalf("error %#v", err)
		}
		tb := strings.Join(werr.Traceback, "\n")
		if !strings.Contains(tb, "panic: boom") || !strings.Contains(tb, "\tcell[4]:3") {
			t.Errorf("traceback:\n%s", tb)
		}
		// every position is a line of the cell (its 5 lines, the %mpirun
		// line first): main's frame is the %mpirun line
		for _, m := range regexp.MustCompile(`cell\[4\]:(\d+)`).FindAllStringSubmatch(tb, -1) {
			if n, _ := strconv.Atoi(m[1]); n < 1 || n > 5 {
				t.Errorf("position %s past the cell's end:\n%s", m[0], tb)
			}
		}
	})

	t.Run("--out brings each rank's value back", func(t *testing.T) {
		rec := celliotest.New()
		_, err := m.Cell(ctx, 6, []string{"-n", "2", "--out", "v"}, "r := mpi.World.Rank()\nfloat64(twice(r)) * 0.75", rec)
		if err != nil {
			t.Fatalf("%v\nstderr %q", err, rec.Text("stderr"))
		}
		if setOut.name != "v" || len(setOut.vals) != 2 || setOut.vals[1].Type != "float64" || setOut.vals[1].Name != "v" ||
			string(setOut.jsons[0]) != "0" || string(setOut.jsons[1]) != "1.5" {
			t.Errorf("SetOut got %+v", setOut)
		}
	})

	for _, tt := range []struct {
		name, body, want string
	}{
		{"--out without a final expression", "r := mpi.World.Rank()\n_ = r",
			"cell[7]:3:1: --out v: the cell's last statement is not an expression"},
		{"--out of a value that cannot be carried", "fmt.Print()\nmake(chan int)",
			"cell[7]:3:1: --out v: rank 0: its value cannot be brought back: it is a chan int, which gob cannot encode; encoding/json: json: unsupported type: chan int"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Cell(ctx, 7, []string{"-n", "2", "--out", "v"}, tt.body, celliotest.New())
			werr, ok := err.(*cellio.Error)
			if !ok || werr.Name != cellio.UsageError || !strings.HasPrefix(werr.Value, tt.want) {
				t.Errorf("error %#v, want a UsageError %q", err, tt.want)
			}
		})
	}

	t.Run("interrupt", func(t *testing.T) {
		rec := celliotest.New()
		ctx, cancel := context.WithCancel(ctx)
		go func() {
			// Interrupt once rank 1 waits, or after a minute at most (the
			// test then fails on the error it gets).
			for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if strings.Contains(rec.Text("stdout"), "[rank 1] waiting") {
					break
				}
			}
			cancel()
		}()
		start := time.Now()
		_, err := m.Cell(ctx, 5, []string{"-n", "2"}, "fmt.Println(\"waiting\")\nmpi.World.Recv(make([]int, 1), mpi.AnySource, 0)", rec)
		werr, ok := err.(*cellio.Error)
		if !ok || werr.Name != cellio.Interrupted || !strings.Contains(werr.Value, "ranks 0-1 were still running") {
			t.Fatalf("error %#v", err)
		}
		if d := time.Since(start); d > 60*time.Second {
			t.Errorf("took %v", d)
		}
	})
}

// TestWarm: Warm fills the build cache in the background; a cell after it
// says "building…", where the first cell of a magic that was not warmed
// says that it compiles package mpi once, and the next one does not.
func TestWarm(t *testing.T) {
	exe := needBuilds(t)
	building := func(m *Magic, cell int) string {
		t.Helper()
		rec := celliotest.New()
		if _, err := m.Cell(context.Background(), cell, []string{"-n", "1"}, "fmt.Println(mpi.World.Size())", rec); err != nil {
			t.Fatal(err)
		}
		for _, d := range rec.Displays() {
			if s, _ := d.Data["text/plain"].(string); strings.HasPrefix(s, "%mpirun: building") {
				return strings.TrimPrefix(s, "%mpirun: ")
			}
		}
		return ""
	}
	warm := New(Config{Environ: testEnviron, Exe: exe, Sources: mpigo.Sources, CacheDir: t.TempDir()})
	defer warm.Close()
	warm.Warm()
	<-warm.warm.done
	if !warm.warmed {
		t.Fatal("Warm did not warm the cache")
	}
	if got := building(warm, 1); got != "building…" {
		t.Errorf("after Warm: %q", got)
	}
	cold := New(Config{Environ: testEnviron, Exe: exe, Sources: mpigo.Sources, CacheDir: t.TempDir()})
	defer cold.Close()
	if got := building(cold, 1); !strings.Contains(got, "first build also compiles package mpi") {
		t.Errorf("first cell without Warm: %q", got)
	}
	if got := building(cold, 2); got != "building…" {
		t.Errorf("second cell: %q", got)
	}
}
