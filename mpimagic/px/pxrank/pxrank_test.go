package pxrank_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mpigo/mpigo"
	"github.com/mpigo/mpigo/cellio"
	"github.com/mpigo/mpigo/display"
	"github.com/mpigo/mpigo/goeval"
	"github.com/mpigo/mpigo/gomod"
	"github.com/mpigo/mpigo/interpbuild"
	"github.com/mpigo/mpigo/mpimagic/px/pxrank/internal/mpisyms"
	"github.com/mpigo/mpigo/mpimagic/px/pxwire"
	"github.com/mpigo/mpigo/mpimagic/rankio"
)

// waitFor bounds every wait on the ranks.
const waitFor = 60 * time.Second

func TestMPISymbolsUpToDate(t *testing.T) {
	want, err := mpisyms.Generate()
	if err != nil {
		t.Fatalf("extracting package mpi's symbols (install/setup.sh installs the MPI this needs): %v", err)
	}
	got, err := os.ReadFile("mpi_symbols.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("mpi_symbols.go is stale: run go generate in mpimagic/px/pxrank")
	}
}

// rankInterpreter builds a rank interpreter offline, for the MPI of the
// default mpirun.
func rankInterpreter(t *testing.T, mpirun string) string {
	t.Helper()
	ctx := context.Background()
	env := append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod")
	environ := func() []string { return env }
	mods, err := gomod.Open(gomod.Env{Environ: environ})
	if err != nil {
		t.Fatal(err)
	}
	defer mods.Close()
	exe := filepath.Join(t.TempDir(), "mpigo")
	if out, err := exec.Command("go", "build", "-o", exe, "github.com/mpigo/mpigo/cmd/mpigo").CombinedOutput(); err != nil {
		t.Fatalf("building mpigo: %v\n%s", err, out)
	}
	tc := interpbuild.RankToolchain{Tags: "mpich", Env: []string{"CGO_ENABLED=1"}, Fingerprint: "test"}
	if v, _ := exec.Command(mpirun, "--version").CombinedOutput(); bytes.Contains(v, []byte("Open MPI")) {
		tc.Tags = "ompi"
	}
	b := interpbuild.New(interpbuild.Config{Sources: mpigo.Sources, Exe: exe, CacheDir: t.TempDir(), Environ: environ})
	it, err := b.BuildRank(ctx, mods, nil, tc, nil)
	if err != nil {
		t.Fatal(err)
	}
	return it.Command[0]
}

// fakeKernel is the kernel's end of the ranks' connections.
type fakeKernel struct {
	t     *testing.T
	conns []net.Conn
	rds   []*pxwire.Reader
	pids  []int
	next  int64
}

// accept takes the hellos of size ranks, checking their token.
func accept(t *testing.T, ln net.Listener, token string, size int) *fakeKernel {
	k := &fakeKernel{t: t, conns: make([]net.Conn, size), rds: make([]*pxwire.Reader, size), pids: make([]int, size)}
	for range size {
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(waitFor))
		c, err := ln.Accept()
		if err != nil {
			t.Fatalf("accept: %v", err)
		}
		rd := pxwire.NewReader(c)
		var h pxwire.Hello
		c.SetReadDeadline(time.Now().Add(waitFor))
		if err := rd.Next(&h, pxwire.MaxHello); err != nil {
			t.Fatalf("hello: %v", err)
		}
		if !rankio.ValidToken(h.Token, token) || h.Size != size || h.Rank < 0 || h.Rank >= size || h.PID == 0 {
			t.Fatalf("hello %+v", h)
		}
		k.conns[h.Rank], k.rds[h.Rank], k.pids[h.Rank] = c, rd, h.PID
	}
	return k
}

// send sends req (a new ID) to every rank and returns the ID.
func (k *fakeKernel) send(req pxwire.Request) int64 {
	if req.ID == 0 {
		k.next++
		req.ID = k.next
	}
	for _, c := range k.conns {
		if err := pxwire.Encode(c, req); err != nil {
			k.t.Fatal(err)
		}
	}
	return req.ID
}

// collect reads rank's events until the Done of id, returning its output
// (stdout and stderr of id) and the Done; onOutput hears of each output.
func (k *fakeKernel) collect(rank int, id int64, onOutput func(pxwire.Event)) (string, pxwire.Event) {
	var out strings.Builder
	k.conns[rank].SetReadDeadline(time.Now().Add(waitFor))
	for {
		var ev pxwire.Event
		if err := k.rds[rank].Next(&ev, pxwire.MaxLine); err != nil {
			k.t.Fatalf("rank %d: %v", rank, err)
		}
		switch {
		case ev.Kind == pxwire.EventDone && ev.ID == id:
			return out.String(), ev
		case ev.Kind == pxwire.EventOutput && ev.ID == id:
			out.WriteString(ev.Text)
			if onOutput != nil {
				onOutput(ev)
			}
		}
	}
}

// cell runs code on every rank and returns each rank's output and Done.
func (k *fakeKernel) cell(n int, code string, out bool) ([]string, []pxwire.Event) {
	id := k.send(pxwire.Request{Op: pxwire.OpExecute, Cell: n, Code: code, Out: out})
	outs, dones := make([]string, len(k.conns)), make([]pxwire.Event, len(k.conns))
	for r := range k.conns {
		outs[r], dones[r] = k.collect(r, id, nil)
	}
	return outs, dones
}

// ranks is a running job of 2 ranks and its fake kernel.
type ranks struct {
	k           *fakeKernel
	exited      chan error
	launcherOut *bytes.Buffer
}

// startRanks builds a rank interpreter, starts it on 2 ranks under mpirun
// and takes their hellos; displayToken marks display records.
func startRanks(t *testing.T, displayToken string) *ranks {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a rank interpreter and starts MPI")
	}
	mpirun, err := exec.LookPath("mpirun")
	if err != nil {
		t.Fatal("no mpirun: install/setup.sh installs Open MPI")
	}
	bin := rankInterpreter(t, mpirun)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	tok := make([]byte, 16)
	rand.Read(tok)
	token := hex.EncodeToString(tok)
	addr := rankio.Address{Addrs: []string{ln.Addr().String()}, Token: token, Host: rankio.Hostname()}
	cmd := exec.Command(mpirun, "-n", "2", "--oversubscribe", bin)
	if v, _ := exec.Command(mpirun, "--version").CombinedOutput(); !bytes.Contains(v, []byte("Open MPI")) {
		cmd = exec.Command(mpirun, "-n", "2", bin)
	}
	cmd.Env = append(os.Environ(), pxwire.EnvVar+"="+addr.String(), display.EnvToken+"="+displayToken,
		"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
	rs := &ranks{exited: make(chan error, 1), launcherOut: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = rs.launcherOut, rs.launcherOut
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { rs.exited <- cmd.Wait() }()
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	rs.k = accept(t, ln, token, 2)
	return rs
}

// waitExit waits for mpirun to end and checks that no rank is left.
func (rs *ranks) waitExit(t *testing.T, why string) error {
	t.Helper()
	var err error
	select {
	case err = <-rs.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("mpirun still runs 10 s after %s\n%s", why, rs.launcherOut.String())
	}
	for r, pid := range rs.k.pids {
		if st := processState(pid); st != "" && st != "Z" {
			t.Errorf("rank %d (pid %d, state %s) outlived its launcher", r, pid, st)
		}
	}
	return err
}

func TestRanksServeCells(t *testing.T) {
	displayToken := "disp-test-token"
	rs := startRanks(t, displayToken)
	checkCells(t, rs.k, displayToken)
	checkInterrupt(t, rs.k)
	checkResetRestore(t, rs.k)
	// The kernel goes away: every rank and the launcher end.
	for _, c := range rs.k.conns {
		c.Close()
	}
	rs.waitExit(t, "the kernel left")
}

func TestRanksStop(t *testing.T) {
	rs := startRanks(t, "")
	id := rs.k.send(pxwire.Request{Op: pxwire.OpStop})
	for r := range 2 {
		if _, done := rs.k.collect(r, id, nil); done.Error != nil {
			t.Errorf("rank %d: stop: %+v", r, done.Error)
		}
	}
	if err := rs.waitExit(t, "a stop"); err != nil {
		t.Errorf("mpirun after a stop: %v\n%s", err, rs.launcherOut.String())
	}
}

// processState is the state of process pid in /proc ("R", "S", "Z"...), or
// "" when there is no such process. A zombie has exited: whoever adopted it
// (in a container, a PID 1 that may never reap) is left to reap it.
func processState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+3 > len(b) {
		return "?"
	}
	return string(b[i+2 : i+3])
}

// checkCells runs cells that keep state, use MPI, print, display, fail and
// bring values back.
func checkCells(t *testing.T, k *fakeKernel, displayToken string) {
	outs, dones := k.cell(1, "x := float64(mpi.World.Rank() + 1)\nsum := []float64{0}\nmpi.World.Allreduce([]float64{x}, sum, mpi.Sum)\nfmt.Println(\"rank\", mpi.World.Rank(), \"sum\", sum[0])\nsum[0]", false)
	for r := range 2 {
		if dones[r].Error != nil || dones[r].Result != "3" || !strings.Contains(outs[r], "sum 3\n") {
			t.Errorf("rank %d: cell 1 printed %q, done %+v", r, outs[r], dones[r])
		}
	}
	outs, dones = k.cell(2, "import \"github.com/mpigo/mpigo/display\"\ndisplay.Text(\"shown\")\nx * sum[0]", true)
	for r := range 2 {
		d := dones[r]
		if d.Error != nil || d.Out == nil || d.Out.Type != "float64" || string(d.OutJSON) != []string{"3", "6"}[r] {
			t.Errorf("rank %d: cell 2 done %+v (json %s)", r, d, d.OutJSON)
		}
		if !strings.Contains(outs[r], display.RecordStart+displayToken+";display;") {
			t.Errorf("rank %d: no display record in %q", r, outs[r])
		}
	}
	_, dones = k.cell(3, "undefinedThing + 1", false)
	for r := range 2 {
		if e := dones[r].Error; e == nil || e.Name != cellio.CompileError {
			t.Errorf("rank %d: the failing cell's done %+v", r, dones[r])
		}
	}
}

// checkInterrupt interrupts an endless loop once it runs on every rank.
func checkInterrupt(t *testing.T, k *fakeKernel) {
	id := k.send(pxwire.Request{Op: pxwire.OpExecute, Cell: 4, Code: "fmt.Println(\"looping\")\nfor {}"})
	for r := range 2 {
		interrupted := false
		_, done := k.collect(r, id, func(ev pxwire.Event) {
			if !interrupted && strings.Contains(ev.Text, "looping") {
				interrupted = true
				if err := pxwire.Encode(k.conns[r], pxwire.Request{ID: id, Op: pxwire.OpInterrupt}); err != nil {
					t.Fatal(err)
				}
			}
		})
		if done.Error == nil || done.Error.Name != cellio.Interrupted {
			t.Errorf("rank %d: the interrupted cell's done %+v", r, done)
		}
	}
	// The session survives.
	_, dones := k.cell(5, "x", false)
	for r := range 2 {
		if dones[r].Result != []string{"1", "2"}[r] {
			t.Errorf("rank %d: x = %+v after the interrupt", r, dones[r])
		}
	}
}

// checkResetRestore forgets the session, then replays a declaration.
func checkResetRestore(t *testing.T, k *fakeKernel) {
	ops := []pxwire.Request{
		{Op: pxwire.OpReset},
		{Op: pxwire.OpRestore, Decls: []goeval.Decl{{Kind: "func", Name: "twice", Src: "func twice(v int) int { return 2 * v }", Cell: 6}}},
	}
	for _, req := range ops {
		id := k.send(req)
		for r := range 2 {
			if _, done := k.collect(r, id, nil); done.Error != nil {
				t.Errorf("rank %d: %s: %+v", r, req.Op, done.Error)
			}
		}
	}
	_, dones := k.cell(7, "twice(mpi.World.Size())", false)
	for r := range 2 {
		if dones[r].Error != nil || dones[r].Result != "4" {
			t.Errorf("rank %d: after reset and restore: %+v", r, dones[r])
		}
	}
	_, dones = k.cell(8, "x", false)
	for r := range 2 {
		if dones[r].Error == nil {
			t.Errorf("rank %d: x survived the reset: %+v", r, dones[r])
		}
	}
}
