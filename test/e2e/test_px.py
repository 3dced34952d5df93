"""Persistent ranks (%ranks, %px), end to end through jupyter_client with the
real mpirun: state kept from cell to cell on 4 ranks, collectives, a failing
rank, interrupts, --out into a plain cell, %ranks restart, and no rank left
behind by %ranks stop, kernel shutdown or a SIGKILLed kernel.

Needs the rank side (the rank interpreter that interpbuild builds); until
it is there, %ranks start fails with a MagicError/BuildError and so do these
tests."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import uuid

import pytest

from conftest import start_kernel, stop_kernel
from helpers import alive, environ, interrupt_when, ok, rank_lines, run, wait_for

pytestmark = pytest.mark.skipif(shutil.which("mpirun") is None, reason="no mpirun (install openmpi-bin)")


TAG = "MPIGO_PX_TEST_KERNEL"


def tagged_kernel(log):
    """A kernel whose processes, and so its ranks, carry a tag of their own
    in their environment (other kernels' ranks may run meanwhile)."""
    k = start_kernel(log, env={TAG: uuid.uuid4().hex})
    k.tag = environ(k.pid)[TAG]
    return k


def px_processes(k) -> list:
    """Live processes started for k's persistent ranks: the launcher and
    every rank carry $MPIGO_PX, the kernel's address, and k's tag."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and alive(int(entry)):
            env = environ(int(entry))
            if "MPIGO_PX" in env and env.get(TAG) == k.tag:
                found.append(int(entry))
    return found


def assert_no_ranks(k, timeout: float = 10):
    assert wait_for(lambda: not px_processes(k), timeout), f"rank processes left behind: {px_processes(k)}"


@pytest.fixture(scope="module")
def pk_kernel(tmp_path_factory):
    """A kernel with 4 ranks started, shared by the tests of this module."""
    k = tagged_kernel(tmp_path_factory.mktemp("px") / "kernel.log")
    ex = run(k.kc, "%ranks start -n 4", timeout=300)
    assert ex.status == "ok", ex.describe()
    yield k
    stop_kernel(k)
    assert_no_ranks(k)


@pytest.fixture
def pk(pk_kernel):
    """The shared kernel, its ranks running (a test may have stopped them)
    and each holding its rank in `rank`, whatever ran before."""
    if "no ranks run" in ok(pk_kernel.kc, "%ranks").stdout:
        ok(pk_kernel.kc, "%ranks start -n 4", timeout=300)
    ok(pk_kernel.kc, "%px\nrank := mpi.World.Rank()")
    return pk_kernel


def test_ranks_table(pk):
    ex = ok(pk.kc, "%ranks")
    rows = [line.split() for line in ex.stdout.splitlines()[1:5]]
    assert [r[0] for r in rows] == ["0", "1", "2", "3"], ex.stdout
    assert all(r[3] == "idle" for r in rows), ex.stdout
    assert len(set(int(r[2]) for r in rows)) == 4, ex.stdout


def test_state_across_cells(pk):
    ok(pk.kc, "%px\nrank := mpi.World.Rank()\nvar part []int\nall := []int{}\nif rank == 0 { for i := 0; i < 8; i++ { all = append(all, i) } }\npart = make([]int, 2)\nmpi.World.Scatter(all, part, 0)", timeout=120)
    for want in (28, 28):
        ex = ok(pk.kc, "%px\nsum := make([]int, 1)\nmpi.World.Allreduce([]int{part[0] + part[1]}, sum, mpi.Sum)\nfmt.Println(rank, sum[0])", timeout=60)
        assert sorted(rank_lines(ex.stdout)) == [(r, f"{r} {want}") for r in range(4)], ex.describe()


def test_subset(pk):
    ex = ok(pk.kc, "%px --ranks 0,2-3\nfmt.Println(\"here\", rank)")
    assert sorted(r for r, _ in rank_lines(ex.stdout)) == [0, 2, 3], ex.stdout


def test_collective(pk):
    ex = ok(pk.kc, "%px\nx := []int{rank}\nmpi.World.Bcast(x, 2)\nfmt.Println(x[0])")
    assert sorted(rank_lines(ex.stdout)) == [(r, "2") for r in range(4)], ex.stdout


def test_failing_rank_keeps_state(pk):
    ok(pk.kc, "%px\nkept := 10 + rank")
    ex = run(pk.kc, "%px\nif rank == 1 { panic(\"boom\") }\nfmt.Println(\"fine\")")
    assert ex.status == "error" and ex.error["ename"] == "RankError", ex.describe()
    assert ex.error["evalue"].startswith("rank 1 failed"), ex.error
    ex = ok(pk.kc, "%px\nfmt.Println(kept)")
    assert sorted(rank_lines(ex.stdout)) == [(r, str(10 + r)) for r in range(4)], ex.stdout


def test_interrupt_endless_loop(pk):
    ok(pk.kc, "%px\nkept := 10 + rank")
    on_msg, sent = interrupt_when(pk.km, "looping")
    ex = run(pk.kc, "%px\nfmt.Println(\"looping\")\nfor n := 0; ; n++ { _ = n }", on_msg=on_msg, timeout=60)
    assert ex.status == "error" and ex.error["ename"] == "Interrupted", ex.describe()
    ex = ok(pk.kc, "%px\nfmt.Println(kept)")  # the ranks kept their state
    assert sorted(rank_lines(ex.stdout)) == [(r, str(10 + r)) for r in range(4)], ex.stdout


def test_out_into_plain_cell(pk):
    ok(pk.kc, "%px --out squares\nrank * rank")
    ex = ok(pk.kc, "fmt.Println(len(squares), squares[3])")
    assert ex.stdout.strip() == "4 9", ex.describe()
    # typed where the session knows the type: a struct of a plain cell
    ok(pk.kc, "type Stat struct{ Rank int; Mean float64 }")
    ok(pk.kc, "%px --out stats\nStat{Rank: rank, Mean: float64(rank) / 2}")
    assert ok(pk.kc, 'fmt.Sprintf("%T %v", stats, stats[3].Mean)').result_text == '"[]main.Stat 1.5"'
    # a subset: still indexed by rank, the others hold the zero value
    ok(pk.kc, "%px --ranks 1,3 --out some\nrank * 10")
    assert ok(pk.kc, "some").result_text == "[0 10 0 30]"


def test_plain_declarations_replayed(pk):
    ok(pk.kc, "func triple(x int) int { return 3 * x }")
    ex = ok(pk.kc, "%px\nfmt.Println(triple(rank))")
    assert sorted(rank_lines(ex.stdout)) == [(r, str(3 * r)) for r in range(4)], ex.stdout


def test_restart(pk):
    before = px_processes(pk)
    ex = ok(pk.kc, "%ranks restart", timeout=300)
    assert not set(before) & set(px_processes(pk)), "the old ranks survived the restart"
    ex = run(pk.kc, "%px\nfmt.Println(kept)")
    # the state is gone: every rank fails to compile the cell
    assert ex.status == "error" and ex.error["ename"] == "RankError", ex.describe()
    assert "ranks 0-3 failed: CompileError" in ex.error["evalue"] and "undefined: kept" in ex.error["evalue"], ex.describe()
    ok(pk.kc, "%px\nfmt.Println(mpi.World.Size())")


def test_stop_leaves_nothing(tmp_path):
    k = tagged_kernel(tmp_path / "kernel.log")
    try:
        ok(k.kc, "%ranks start -n 4", timeout=300)
        assert px_processes(k)
        ok(k.kc, "%ranks stop")
        assert_no_ranks(k)
        ex = run(k.kc, "%px\nfmt.Println(1)")
        assert ex.status == "error" and ex.error["ename"] == "UsageError", ex.describe()
    finally:
        stop_kernel(k)


def test_shutdown_leaves_nothing(tmp_path):
    k = tagged_kernel(tmp_path / "kernel.log")
    ok(k.kc, "%ranks start -n 4", timeout=300)
    assert len(px_processes(k)) >= 4
    stop_kernel(k)
    assert_no_ranks(k)


def test_sigkill_leaves_nothing(tmp_path):
    k = tagged_kernel(tmp_path / "kernel.log")
    try:
        ok(k.kc, "%ranks start -n 4", timeout=300)
        assert len(px_processes(k)) >= 4
        os.kill(k.pid, signal.SIGKILL)
        assert_no_ranks(k, timeout=20)
    finally:
        stop_kernel(k)


def test_usage(pk):
    for code, want in [
        ("%ranks start -n 2 --sbatch --timeout 5s", "not --export, --timeout or --out"),
        ("%ranks start -n 2", "the ranks run already"),
        ("%px --ranks 9\nfmt.Println(1)", "there is no rank 9"),
        ("%px --out 1x\nrank", "Go identifier"),
    ]:
        ex = run(pk.kc, code)
        assert ex.status == "error" and ex.error["ename"] == "UsageError", (code, ex.describe())
        assert want in ex.error["evalue"], (code, ex.error)


def test_session_packages_on_the_ranks(tmp_path):
    """A package the notebook imported is compiled into the ranks (a hot loop
    in a local module runs compiled on every rank); one imported only after
    the ranks started is named, with the way to bring it in."""
    for name, body in (("hot", "// Sum adds 1..n.\nfunc Sum(n int) int { s := 0; for i := 1; i <= n; i++ { s += i }; return s }\n"),
                       ("late", "// Twice doubles x.\nfunc Twice(x int) int { return 2 * x }\n")):
        d = tmp_path / name
        d.mkdir()
        (d / "go.mod").write_text(f"module example.org/{name}\n\ngo 1.24\n")
        (d / f"{name}.go").write_text(f"package {name}\n\n{body}")
    k = tagged_kernel(tmp_path / "kernel.log")
    try:
        ok(k.kc, f"%go get {tmp_path / 'hot'}\n%go get {tmp_path / 'late'}")
        ok(k.kc, 'import "example.org/hot"', timeout=600)
        ok(k.kc, "%ranks start -n 2", timeout=600)
        ex = ok(k.kc, "%px\nfmt.Println(hot.Sum(1000 * (mpi.World.Rank() + 1)))")
        assert sorted(rank_lines(ex.stdout)) == [(0, "500500"), (1, "2001000")], ex.stdout
        ex = run(k.kc, '%px\nimport "example.org/late"\nfmt.Println(late.Twice(2))')
        assert ex.status == "error" and ex.error["ename"] == "ImportError", ex.describe()
        assert "cell[" in ex.error["evalue"] and ":2:8: the ranks were started without package example.org/late" in ex.error["evalue"]
        assert "%ranks restart" in ex.error["evalue"]
        ok(k.kc, 'import "example.org/late"', timeout=600)
        ok(k.kc, "%ranks restart", timeout=600)
        ex = ok(k.kc, '%px\nimport "example.org/late"\nfmt.Println(late.Twice(mpi.World.Rank()))')
        assert sorted(rank_lines(ex.stdout)) == [(0, "0"), (1, "2")], ex.stdout
    finally:
        stop_kernel(k)
    assert_no_ranks(k)


def test_rank_killed_between_cells_is_told_at_once(tmp_path):
    """A rank that dies while no cell runs is told under the last %px cell
    at once (as ipykernel shows a background thread's output), and the next
    cell says the ranks cannot go on; %ranks restart brings them back."""
    k = tagged_kernel(tmp_path / "kernel.log")
    try:
        ok(k.kc, "%ranks start -n 2", timeout=300)
        pids = {int(r.split()[0]): int(r.split()[2]) for r in ok(k.kc, "%ranks").stdout.splitlines()[1:3]}
        last = ok(k.kc, "%px\nfmt.Println(mpi.World.Rank())")
        os.kill(pids[1], signal.SIGKILL)
        told = []

        def said() -> bool:
            try:
                msg = k.kc.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                return False
            if msg["msg_type"] == "stream" and msg["parent_header"].get("msg_id") == last.msg_id:
                told.append(msg["content"]["text"])
            return any("rank 1 died at" in t for t in told)

        assert wait_for(said, 20), f"no word of rank 1's death under the last cell: {told}"
        ex = run(k.kc, "%px\nfmt.Println(1)")
        assert ex.status == "error" and ex.error["ename"] == "RankError" and "rank 1 died" in ex.error["evalue"], ex.describe()
        ok(k.kc, "%ranks restart", timeout=300)
        assert len(rank_lines(ok(k.kc, "%px\nfmt.Println(mpi.World.Rank())").stdout)) == 2
    finally:
        stop_kernel(k)
    assert_no_ranks(k)
