"""%mpirun --out NAME end to end with the real mpirun: the value of the cell's
final expression on every rank comes back into the plain-cell session as NAME,
a slice indexed by rank, typed when the session knows the type."""

from __future__ import annotations

import shutil

import pytest

from conftest import start_kernel, stop_kernel
from helpers import ok, run, text

pytestmark = pytest.mark.skipif(shutil.which("mpirun") is None, reason="no mpirun (install openmpi-bin)")


@pytest.fixture(scope="module")
def mk(tmp_path_factory):
    """A kernel shared by the tests of this module."""
    k = start_kernel(tmp_path_factory.mktemp("mpirun-out") / "kernel.log")
    yield k
    stop_kernel(k)


def result_text(ex) -> str:
    return text(ex.execute_result["data"]["text/plain"]) if ex.execute_result else ""


def test_float_values_by_rank(mk):
    ok(mk.kc, "%mpirun -n 4 --out sums\nfloat64(mpi.World.Rank()) * 1.5", timeout=180)
    ex = ok(mk.kc, "sums")
    assert result_text(ex) == "[0 1.5 3 4.5]", ex.describe()
    ex = ok(mk.kc, 'fmt.Printf("%T %d\\n", sums, len(sums))')
    assert ex.stdout.strip() == "[]float64 4", ex.describe()


def test_struct_of_a_plain_cell_comes_back_typed(mk):
    ok(mk.kc, "type Point struct{ X, Y float64 }")
    ok(mk.kc, "%mpirun -n 2 --out pts\nr := float64(mpi.World.Rank())\nPoint{X: r, Y: r * 2}", timeout=180)
    # a []Point, as the session writes the type of its own []Point
    ex = ok(mk.kc, 'fmt.Printf("%T %v %v %v\\n", pts, fmt.Sprintf("%T", pts) == fmt.Sprintf("%T", []Point{}), pts[1].Y, pts)')
    assert ex.stdout.strip() == "[]main.Point true 2 [{0 0} {1 2}]", ex.describe()


def test_untyped_values_come_back_as_json(mk):
    ok(mk.kc, '%mpirun -n 2 --out m\nmap[string]any{"rank": mpi.World.Rank()}', timeout=180)
    ex = ok(mk.kc, 'fmt.Printf("%T %v\\n", m, m[1])')
    assert ex.stdout.strip() == "[]interface {} map[rank:1]", ex.describe()


@pytest.mark.parametrize(
    "cell, want",
    [
        ("%mpirun -n 2 --out v\nx := mpi.World.Rank()", ":2:1: --out v: the cell's last statement is not an expression"),
        ("%mpirun -n 2 --out v\nfmt.Print()\nmake(chan int)", ":3:1: --out v: rank 0: its value cannot be brought back: it is a chan int, which gob cannot encode"),
        ("%mpirun -n 2 --out v --export outdir\n1", "--out does not go with --export"),
        ("%mpirun -n 2 --out 2v\n1", "want a Go identifier"),
    ],
)
def test_out_errors(mk, cell, want):
    ex = run(mk.kc, cell, timeout=180)
    assert ex.status == "error" and ex.error["ename"] == "UsageError", ex.describe()
    assert want in ex.error["evalue"], ex.describe()


def test_failed_rank_sets_nothing(mk):
    ex = run(mk.kc, "%mpirun -n 2 --out lost\nif mpi.World.Rank() == 1 {\n\tpanic(\"boom\")\n}\n7", timeout=180)
    assert ex.status == "error" and ex.error["ename"] == "RankError", ex.describe()
    ex = run(mk.kc, "lost")
    assert ex.status == "error" and "undefined: lost" in ex.error["evalue"], ex.describe()


@pytest.mark.skipif(shutil.which("mpirun.mpich") is None, reason="no MPICH (mpirun.mpich)")
def test_mpich(mk):
    ok(mk.kc, "%mpirun -n 2 --launcher mpirun.mpich --out ranks\nmpi.World.Rank() * 10", timeout=300)
    ex = ok(mk.kc, 'fmt.Printf("%T %v\\n", ranks, ranks)')
    assert ex.stdout.strip() == "[]int [0 10]", ex.describe()
