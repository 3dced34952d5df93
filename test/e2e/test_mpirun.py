"""The %mpirun cell magic, end to end through jupyter_client with the real mpirun
(Open MPI; MPICH too when mpirun.mpich is installed), and `mpigo run`.

Most tests share one kernel. Builds are cached by content in ~/.cache/mpigo, so a
second run of this file only launches."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import start_kernel, stop_kernel
from helpers import TESTDATA, alive, interrupt_when, ok, rank_lines, run, summary, text, wait_for, wait_for_kernel

pytestmark = pytest.mark.skipif(shutil.which("mpirun") is None, reason="no mpirun (install openmpi-bin)")


def mpi_processes() -> list:
    """(pid, cmdline) of live processes that belong to an %mpirun launch: rank
    wrappers (mpigo rankio), programs built in the mpigo cache, and launchers
    running either."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if (" rankio " in cmd or "/mpigo/build/" in cmd) and alive(int(entry)):
            found.append((int(entry), cmd))
    return found


def assert_no_leftovers(timeout: float = 5):
    assert wait_for(lambda: not mpi_processes(), timeout), f"processes left behind: {mpi_processes()}"


@pytest.fixture(scope="module")
def mk(tmp_path_factory):
    """A kernel shared by the tests of this module."""
    k = start_kernel(tmp_path_factory.mktemp("mpirun") / "kernel.log")
    yield k
    stop_kernel(k)
    assert_no_leftovers()


def test_hello_four_ranks(mk):
    ex = ok(mk.kc, '%mpirun -n 4\nfmt.Printf("hello from %d of %d\\n", mpi.World.Rank(), mpi.World.Size())', timeout=120)
    lines = rank_lines(ex.stdout)
    assert sorted(lines) == [(r, f"hello from {r} of 4") for r in range(4)], ex.describe()
    # progress shown, then updated in place; one summary at the end
    progress = [d for d in ex.display_data if "%mpirun:" in text(d["data"]["text/plain"])]
    assert len(progress) == 1, ex.describe()
    pid = progress[0]["transient"]["display_id"]
    updates = [u for u in ex.update_display_data if u["transient"]["display_id"] == pid]
    assert updates and "done" in text(updates[-1]["data"]["text/plain"]), ex.describe()
    data = summary(ex)
    assert "all 4 ranks exited 0" in text(data["text/plain"])
    assert "exit 0" in text(data["text/html"]) and "hello from 3 of 4" in text(data["text/html"])


def test_double_percent_and_identical_outputs_folded(mk):
    ex = ok(mk.kc, '%%mpirun -n 3\nfmt.Println("same everywhere")')
    assert sorted(rank_lines(ex.stdout)) == [(r, "same everywhere") for r in range(3)]
    plain = text(summary(ex)["text/plain"])
    assert "ranks 0-2" in plain and "exit 0" in plain, plain


def test_point_to_point(mk):
    code = """\
%mpirun -n 2
comm := mpi.World
if comm.Rank() == 0 {
	comm.Send([]float64{1.5, 2.5, 3.5}, 1, 7)
	fmt.Println("sent")
} else {
	buf := make([]float64, 3)
	st := comm.Recv(buf, 0, 7)
	fmt.Println("got", buf, "from", st.Source, "tag", st.Tag)
}
"""
    ex = ok(mk.kc, code)
    assert sorted(rank_lines(ex.stdout)) == [(0, "sent"), (1, "got [1.5 2.5 3.5] from 0 tag 7")]


def test_collectives(mk):
    code = """\
%mpirun -n 4
comm := mpi.World
rank, size := comm.Rank(), comm.Size()
data := make([]int, 1)
if rank == 0 {
	data[0] = 42
}
comm.Bcast(data, 0)
total := make([]int, 1)
comm.Reduce([]int{rank + 1}, total, mpi.Sum, 0)
all := make([]int, size)
comm.Allgather([]int{rank * rank}, all)
maxv := make([]float64, 1)
comm.Allreduce([]float64{float64(rank)}, maxv, mpi.Max)
if rank == 0 {
	fmt.Println("reduce", total[0])
}
fmt.Println("bcast", data[0], "allgather", all, "max", maxv[0])
"""
    ex = ok(mk.kc, code)
    lines = rank_lines(ex.stdout)
    assert (0, "reduce 10") in lines
    for r in range(4):
        assert (r, "bcast 42 allgather [0 1 4 9] max 3") in lines, ex.describe()


def test_object_broadcast(mk):
    code = """\
%mpirun -n 3
type Config struct {
	Name  string
	Steps map[string]int
}
var cfg Config
if mpi.World.Rank() == 0 {
	cfg = Config{Name: "heat", Steps: map[string]int{"x": 3, "y": 4}}
}
mpi.World.BcastObj(&cfg, 0)
fmt.Println(cfg.Name, cfg.Steps["x"]*cfg.Steps["y"])
"""
    ex = ok(mk.kc, code)
    assert sorted(rank_lines(ex.stdout)) == [(r, "heat 12") for r in range(3)]


def test_declarations_from_earlier_cells(mk):
    ok(mk.kc, 'import "strings"\nconst scale = 10\nfunc shout(s string) string { return strings.ToUpper(s) + "!" }')
    ok(mk.kc, "type point struct{ X, Y int }\nfunc (p point) Sum() int { return (p.X + p.Y) * scale }")
    # uses a variable of the session, which programs do not see: harmless, as no rank uses it
    ok(mk.kc, "sessionVar := 5\nfunc unrelated() int { return sessionVar }")
    ex = ok(mk.kc, '%mpirun -n 2\nr := mpi.World.Rank()\nfmt.Println(shout("rank"), point{r, 1}.Sum())')
    assert sorted(rank_lines(ex.stdout)) == [(0, "RANK! 10"), (1, "RANK! 20")]
    # the latest definition wins
    ok(mk.kc, 'func shout(s string) string { return s + "?" }')
    ex = ok(mk.kc, '%mpirun -n 1\nfmt.Println(shout("again"))')
    assert rank_lines(ex.stdout) == [(0, "again?")]


def test_declarations_from_earlier_mpirun_cells(kc):
    """A helper that calls mpi cannot live in a plain cell (the interpreter
    cannot load mpi, and says so); declared in an %mpirun cell, it serves
    later %mpirun cells, until a later cell redefines it or %reset."""
    ex = run(kc, "func where(c *mpi.Comm) string { return fmt.Sprint(c.Rank()) }")
    assert ex.status == "error" and "package mpi works only in %mpirun cells" in ex.error_text, ex.describe()
    code = '%mpirun -n 2\nfunc where(c *mpi.Comm) string { return fmt.Sprint("rank ", c.Rank()) }\nfmt.Println(where(mpi.World))'
    ex = ok(kc, code)
    assert sorted(rank_lines(ex.stdout)) == [(0, "rank 0"), (1, "rank 1")], ex.describe()
    ex = ok(kc, '%mpirun -n 2\nfmt.Println("again:", where(mpi.World))')
    assert sorted(rank_lines(ex.stdout)) == [(0, "again: rank 0"), (1, "again: rank 1")], ex.describe()
    ok(kc, 'func where(c any) string { return "redefined in a plain cell" }')
    ex = ok(kc, '%mpirun -n 1\nfmt.Println(where(mpi.World))')
    assert rank_lines(ex.stdout) == [(0, "redefined in a plain cell")], ex.describe()
    ok(kc, "%reset")
    ex = run(kc, '%mpirun -n 1\nfmt.Println(where(mpi.World))')
    assert ex.status == "error" and "undefined: where" in ex.error_text, ex.describe()


def test_full_program_with_own_main(mk):
    code = """\
%mpirun -n 2
package main

import "fmt"

func twice(x int) int { return 2 * x }

func main() {
	fmt.Println("main says", twice(mpi.World.Rank()))
}
"""
    ex = ok(mk.kc, code)
    assert sorted(rank_lines(ex.stdout)) == [(0, "main says 0"), (1, "main says 2")]


def test_compile_error_names_cell_line(mk):
    code = '%mpirun -n 2\nrank := mpi.World.Rank()\nfmt.Println(rank + "x")\nunused := 3'
    ex = run(mk.kc, code)
    assert ex.status == "error" and ex.error["ename"] == "CompileError", ex.describe()
    count = ex.reply["execution_count"]
    assert re.search(rf"cell\[{count}\]:3:\d+: .*mismatched types", ex.error_text), ex.error_text
    assert "unused" not in ex.error_text  # an unused variable is no error
    assert not ex.stdout


def test_compile_error_in_earlier_declaration(mk):
    ok(mk.kc, "func half(x int) int { return x / 2 }")
    # sessionOnly is a variable of the interpreter's session, not a declaration
    ex1 = ok(mk.kc, "sessionOnly := 3\nfunc usesSession() int {\n\treturn sessionOnly\n}")
    ex = run(mk.kc, "%mpirun -n 1\nfmt.Println(half(4), usesSession())")
    assert ex.status == "error", ex.describe()
    assert re.search(rf"cell\[{ex1.reply['execution_count']}\]:3:\d+: undefined: sessionOnly", ex.error_text), ex.error_text


def test_failing_rank(mk):
    code = """\
%mpirun -n 3
rank := mpi.World.Rank()
if rank == 1 {
	fmt.Println("rank one about to fail")
	var m map[string]int
	m["boom"] = 1
}
mpi.World.Barrier()
fmt.Println("after the barrier")
"""
    ex = run(mk.kc, code, timeout=60)
    assert ex.status == "error", ex.describe()
    err = ex.error
    assert err["ename"] == "RankError" and err["evalue"].startswith("rank 1 failed: exit 2 (panic)"), err
    tb = "\n".join(err["traceback"])
    assert "assignment to entry in nil map" in tb and "rank one about to fail" in tb, tb
    count = ex.reply["execution_count"]
    assert f"cell[{count}]:6" in tb, tb  # the traceback names the cell line
    assert "after the barrier" not in ex.stdout
    assert "[rank 1] panic: assignment to entry in nil map" in ex.stderr
    assert_no_leftovers()


def test_rank_killed_by_signal_keeps_its_last_output(mk):
    code = """\
%mpirun -n 2
if mpi.World.Rank() == 1 {
	fmt.Print("last words, no newline")
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
}
mpi.World.Barrier()
"""
    ex = run(mk.kc, code, timeout=60)
    assert ex.status == "error" and ex.error["evalue"].startswith("rank 1 failed: killed by SIGKILL"), ex.describe()
    assert "[rank 1] last words, no newline\n" in ex.stdout, ex.describe()
    assert_no_leftovers()


def test_binary_output(mk):
    code = '%mpirun -n 2\nos.Stdout.Write([]byte{0xff, 0xfe, \'a\', 0, \'b\', \'\\n\'})\nfmt.Print("unfinished")'
    ex = ok(mk.kc, code)
    lines = sorted(rank_lines(ex.stdout))
    assert lines == sorted([(0, "\ufffd\ufffda\x00b"), (0, "unfinished"), (1, "\ufffd\ufffda\x00b"), (1, "unfinished")]), ex.stdout


def test_usage_errors(mk):
    for code, want in [
        ("%mpirun -n 4 --bogus\nfmt.Println(1)", "flag provided but not defined: -bogus"),
        ("%mpirun -n 0\nfmt.Println(1)", "at least 1"),
        ("%mpirun\nfmt.Println(1)", "missing -n"),
        ("%mpirun -n 2", "no Go code"),
        ("%mpirun -n 2 extra\nfmt.Println(1)", "after --"),
        ("%mpirun -n 2 --timeout soon\nfmt.Println(1)", "--timeout"),
        ("%mpirun -n 2 --sbatch --hosts a:2\nfmt.Println(1)", "with --sbatch SLURM chooses the nodes"),
        ("%mpirun -n 100000\nfmt.Println(1)", "too many ranks"),
    ]:
        ex = run(mk.kc, code)
        assert ex.status == "error" and ex.error["ename"] == "UsageError", (code, ex.describe())
        assert want in ex.error_text, (code, ex.error_text)
    ex = ok(mk.kc, "%mpirun --help")
    assert "--timeout" in ex.stdout and "--hosts" in ex.stdout and "-- ARGS" in ex.stdout


def test_launcher_failure_explained(mk):
    """Launcher arguments that leave too few slots: the launcher's message, explained."""
    ex = run(mk.kc, '%mpirun -n 2 -- --host localhost:1\nfmt.Println("never")', timeout=60)
    assert ex.status == "error" and ex.error["ename"] == "LaunchError", ex.describe()
    assert "could not start the ranks" in ex.error["evalue"] and "fewer slots" in ex.error["evalue"], ex.error
    assert "not enough slots" in ex.error_text, ex.error_text
    assert "never" not in ex.stdout


def test_live_streaming(mk, tmp_path):
    """Rank 0 prints "first", then waits (up to 30 s) for a file the test creates
    only once "first" has arrived; held-back output would time the rank out."""
    flag = tmp_path / "flag"
    code = f"""\
%mpirun -n 2
if mpi.World.Rank() == 0 {{
	fmt.Println("first")
	deadline := time.Now().Add(30 * time.Second)
	for {{
		if _, err := os.Stat("{flag}"); err == nil {{
			break
		}}
		if time.Now().After(deadline) {{
			fmt.Println("timed out")
			break
		}}
		time.Sleep(20 * time.Millisecond)
	}}
	fmt.Println("second")
}}
mpi.World.Barrier()
"""

    def on_msg(msg):
        if msg["msg_type"] == "stream" and "[rank 0] first" in msg["content"]["text"]:
            flag.touch()

    ex = run(mk.kc, code, on_msg=on_msg, timeout=90)
    assert ex.status == "ok", ex.describe()
    assert rank_lines(ex.stdout) == [(0, "first"), (0, "second")], ex.describe()


def test_interleaved_lines_none_lost(mk):
    """4 ranks x 2000 lines, written in pieces, on both streams at once."""
    code = """\
%mpirun -n 4
r := mpi.World.Rank()
for i := 0; i < 2000; i++ {
	if i%3 == 0 {
		fmt.Fprintf(os.Stderr, "r%d ", r)
		fmt.Fprintf(os.Stderr, "e%d\\n", i)
	} else {
		fmt.Printf("r%d ", r)
		fmt.Printf("o%d\\n", i)
	}
}
"""
    ex = ok(mk.kc, code, timeout=120)
    for stream, keep in (("stdout", lambda i: i % 3 != 0), ("stderr", lambda i: i % 3 == 0)):
        per = {r: [] for r in range(4)}
        for rank, line in rank_lines(ex.stream(stream)):
            m = re.fullmatch(r"r(\d) ([oe])(\d+)", line)
            assert m and int(m.group(1)) == rank, f"misattributed {stream} line {line!r} of rank {rank}"
            per[rank].append(int(m.group(3)))
        for r in range(4):
            assert per[r] == [i for i in range(2000) if keep(i)], f"rank {r} {stream}: lines lost or out of order"


def test_thirty_two_ranks(mk):
    ex = ok(mk.kc, '%mpirun -n 32\nfmt.Println("rank", mpi.World.Rank(), "of", mpi.World.Size())', timeout=180)
    assert sorted(rank_lines(ex.stdout)) == sorted((r, f"rank {r} of 32") for r in range(32))
    assert "all 32 ranks exited 0" in text(summary(ex)["text/plain"])


def test_display_from_rank(mk):
    code = '%mpirun -n 2\nif mpi.World.Rank() == 0 {\n\tdisplay.HTML("<b>from rank 0</b>")\n}\nfmt.Println("done")'
    ex = ok(mk.kc, code)
    htmls = [d for d in ex.display_data if text(d["data"].get("text/html", "")) == "<b>from rank 0</b>"]
    assert len(htmls) == 1, ex.describe()
    assert sorted(rank_lines(ex.stdout)) == [(0, "done"), (1, "done")]


def test_timeout(mk):
    code = '%mpirun -n 2 --timeout 2s\nfmt.Println("waiting")\nmpi.World.Recv(make([]int, 1), mpi.AnySource, 9)'
    t = time.monotonic()
    ex = run(mk.kc, code, timeout=60)
    assert ex.status == "error" and ex.error["ename"] == "Timeout", ex.describe()
    assert "ranks 0-1 were still running" in ex.error["evalue"], ex.error
    assert time.monotonic() - t < 30
    assert_no_leftovers()


def test_deadlock_stopped_by_interrupt(mk):
    """Every rank waits for a message nobody sends; the interrupt stops them all."""
    code = '%mpirun -n 4\nfmt.Println("started")\nmpi.World.Recv(make([]int, 1), mpi.AnySource, 1)'
    on_msg, sent = interrupt_when(mk.km)
    ex = run(mk.kc, code, on_msg=on_msg, timeout=90)
    took = time.monotonic() - sent["t"]
    assert ex.status == "error" and ex.error["ename"] == "Interrupted", ex.describe()
    assert "were still running" in ex.error["evalue"], ex.error
    assert took < 10, f"interrupt took {took:.1f}s"
    assert_no_leftovers(timeout=2)
    # the kernel and its state are fine afterwards
    assert ok(mk.kc, "40 + 2").result_text == "42"


def test_kernel_shutdown_stops_ranks(tmp_path):
    k = start_kernel(tmp_path / "kernel.log")
    try:
        msg_id = k.kc.execute('%mpirun -n 2\nfmt.Println("started")\nmpi.World.Recv(make([]int, 1), mpi.AnySource, 1)')
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            m = k.kc.get_iopub_msg(timeout=deadline - time.monotonic())
            if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "stream" and "started" in m["content"]["text"]:
                break
        assert mpi_processes(), "no rank running"
    finally:
        stop_kernel(k)
    assert_no_leftovers(timeout=5)


@pytest.mark.skipif(shutil.which("mpirun.mpich") is None, reason="MPICH not installed")
def test_mpich_launcher(mk):
    ex = ok(mk.kc, '%mpirun -n 3 --launcher mpirun.mpich\nfmt.Println(mpi.World.Rank(), mpi.World.Size())', timeout=180)
    assert sorted(rank_lines(ex.stdout)) == [(r, f"{r} 3") for r in range(3)]
    assert "MPICH" in text(summary(ex)["text/plain"])


def test_mpigo_run_command(mpigo_bin, tmp_path):
    prog = tmp_path / "hello.go"
    prog.write_text(
        'package main\n\nimport (\n\t"fmt"\n\n\t"github.com/mpigo/mpigo/mpi"\n)\n\n'
        "func main() {\n\tmpi.Init()\n\tdefer mpi.Finalize()\n"
        '\tfmt.Print("part ")\n\tfmt.Println("whole", mpi.World.Rank())\n}\n'
    )
    p = subprocess.run([str(mpigo_bin), "run", "-n", "3", str(prog)], capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr
    assert sorted(rank_lines(p.stdout)) == [(r, f"part whole {r}") for r in range(3)]
    bad = tmp_path / "bad.go"
    bad.write_text("package main\n\nfunc main() { undefinedCall() }\n")
    p = subprocess.run([str(mpigo_bin), "run", "-n", "2", str(bad)], capture_output=True, text=True, timeout=180)
    assert p.returncode == 1 and "bad.go:3" in p.stderr and "undefined: undefinedCall" in p.stderr, p.stderr


def test_nbconvert(tmp_path):
    proc = subprocess.run(
        ["jupyter", "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.kernel_name=mpigo",
         "--ExecutePreprocessor.timeout=180", "--output-dir", str(tmp_path), str(TESTDATA / "mpirun.ipynb")],
        capture_output=True, text=True, timeout=300, env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stderr
    import nbformat

    nb = nbformat.read(tmp_path / "mpirun.ipynb", as_version=4)
    outs = [c for c in nb.cells if c.cell_type == "code"][1].outputs
    streamed = "".join(o.text for o in outs if o.output_type == "stream")
    assert sorted(rank_lines(streamed)) == [(r, f"hello from rank {r}") for r in range(3)]
    shown = [text(o.data["text/plain"]) for o in outs if o.output_type == "display_data"]
    assert any("%mpirun: done" in t for t in shown), shown  # the progress line, in its final state
    assert any("all 3 ranks exited 0" in t for t in shown), shown


def test_console(tmp_path):
    """jupyter console (its real prompt, on a pty) attached to a kernel: a cell
    magic is typed over several lines and ends with blank lines, as in IPython."""
    pexpect = pytest.importorskip("pexpect")
    cf = tmp_path / "kernel.json"
    log = open(tmp_path / "jupyter-kernel.log", "wb")
    kernel = subprocess.Popen(["jupyter", "kernel", "--kernel=mpigo", f"--KernelManager.connection_file={cf}"],
                              stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        assert wait_for(lambda: cf.exists() and cf.stat().st_size > 0, 60), "no connection file"
        wait_for_kernel(cf)
        c = pexpect.spawn("jupyter", ["console", "--existing", str(cf)], encoding="utf-8", timeout=120,
                          dimensions=(40, 200), env=dict(os.environ, TERM="dumb"))
        try:
            c.expect(r"In \[1\]")
            for line in ["%mpirun -n 2", 'fmt.Println("console rank", mpi.World.Rank())', "", ""]:
                c.send(line + "\r")
                time.sleep(0.3)  # typing pace: faster input is taken for a paste
            c.expect(r"\[rank 1\] console rank 1")
            c.expect(r"all 2 ranks exited 0")
        finally:
            c.close(force=True)
    finally:
        kernel.send_signal(signal.SIGTERM)
        try:
            kernel.wait(timeout=20)
        except subprocess.TimeoutExpired:
            kernel.kill()
            kernel.wait()
        log.close()
    assert_no_leftovers()
