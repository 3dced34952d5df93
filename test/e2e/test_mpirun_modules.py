"""%mpirun with packages of Go modules, end to end through jupyter_client: gonum
from the real module proxy on 4 ranks, a made-up module from a file:// proxy
made here (and what an offline notebook says of a module it cannot get), and
--export (with --vendor) of a cell that imports gonum, built offline."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile

import pytest

from helpers import ok, rank_lines, run

pytestmark = pytest.mark.skipif(
    shutil.which("mpirun") is None or shutil.which("go") is None, reason="needs mpirun and go"
)

N = 64  # A and B are N x N; each rank multiplies N/4 rows of A by B

GONUM_CELL = f"""\
%mpirun -n 4
import "gonum.org/v1/gonum/mat"
const n = {N}
rank, size := mpi.World.Rank(), mpi.World.Size()
rows := n / size
a := mat.NewDense(rows, n, nil)
b := mat.NewDense(n, n, nil)
for i := 0; i < n; i++ {{
	for j := 0; j < n; j++ {{
		b.Set(i, j, float64((i*5+j*2)%13-6))
		if i < rows {{
			a.Set(i, j, float64(((rank*rows+i)*7+j*3)%11-5))
		}}
	}}
}}
var c mat.Dense
c.Mul(a, b)
norm := mat.Norm(&c, 2) // the Frobenius norm of this rank's block of A*B
total := make([]float64, 1)
mpi.World.Allreduce([]float64{{norm * norm}}, total, mpi.Sum)
if rank == 0 {{
	fmt.Printf("frobenius2 %.3f\\n", total[0])
}}
"""


def frobenius2() -> int:
    """The square of the Frobenius norm of A*B, in plain Python."""
    a = [[(i * 7 + j * 3) % 11 - 5 for j in range(N)] for i in range(N)]
    b = [[(i * 5 + j * 2) % 13 - 6 for j in range(N)] for i in range(N)]
    bt = list(zip(*b))
    return sum(sum(x * y for x, y in zip(row, col)) ** 2 for row in a for col in bt)


def test_gonum_on_four_ranks(kernel):
    ex = ok(kernel.kc, GONUM_CELL, timeout=300)
    lines = rank_lines(ex.stdout)
    assert len(lines) == 1 and lines[0][0] == 0, ex.describe()
    got = float(lines[0][1].split()[1])
    want = frobenius2()
    assert abs(got - want) <= 1e-9 * want, (got, want)


def write_proxy(root, path: str, version: str, files: dict) -> None:
    """Writes one version of a module into a module proxy directory (what
    GOPROXY=file://root serves)."""
    d = root / path / "@v"
    d.mkdir(parents=True, exist_ok=True)
    files = dict(files, **{"go.mod": f"module {path}\n\ngo 1.24\n"})
    (d / f"{version}.info").write_text(json.dumps({"Version": version, "Time": "2026-01-01T00:00:00Z"}))
    (d / f"{version}.mod").write_text(files["go.mod"])
    with zipfile.ZipFile(d / f"{version}.zip", "w") as z:
        for name, content in files.items():
            z.writestr(f"{path}@{version}/{name}", content)
    with open(d / "list", "a") as f:
        f.write(version + "\n")


def test_made_up_module_and_offline_error(kernel, tmp_path):
    kc = kernel.kc
    proxy = tmp_path / "proxy"
    write_proxy(proxy, "example.com/hello", "v1.2.0",
                {"hello.go": 'package hello\n\n// Hi greets.\nfunc Hi(rank int) string { return "hi from a made-up module" }\n'})
    for kv in [f"GOPROXY=file://{proxy}", "GONOSUMDB=example.com", "GOMODCACHE=" + str(tmp_path / "modcache"), "GOFLAGS=-modcacherw"]:
        ok(kc, "%env " + kv)
    cell = '%mpirun -n 2\nimport "example.com/hello"\nfmt.Println(hello.Hi(mpi.World.Rank()))'
    ex = ok(kc, cell, timeout=240)
    assert sorted(rank_lines(ex.stdout)) == [(0, "hi from a made-up module"), (1, "hi from a made-up module")], ex.describe()

    # offline: a module the session does not have is an ImportError at its line
    ok(kc, "%env GOPROXY=off")
    ex = run(kc, '%mpirun -n 2\nx := 1\nimport "example.com/unknown/pkg"\nfmt.Println(pkg.Do(x))', timeout=120)
    count = ex.reply["execution_count"]
    assert ex.status == "error" and ex.error["ename"] == "ImportError", ex.describe()
    assert ex.error["evalue"] == f"cell[{count}]:3: cannot import example.com/unknown/pkg", ex.error
    assert "GOPROXY=off" in ex.error_text and "tried: go" in ex.error_text, ex.error_text

    # the session kept what it had: the module it already holds still works offline
    ex = ok(kc, cell.replace("fmt.Println(", 'fmt.Println("again", '), timeout=240)
    assert sorted(rank_lines(ex.stdout)) == [(0, "again hi from a made-up module"), (1, "again hi from a made-up module")], ex.describe()


def mpi_tags() -> list:
    """The build tag of package mpi for the MPI here (as job.sh finds it)."""
    version = subprocess.run(["mpirun", "--version"], capture_output=True, text=True).stdout
    if "Open MPI" in version and subprocess.run(["pkg-config", "--exists", "ompi-c"]).returncode == 0:
        return ["-tags=ompi"]
    return []


def test_export_with_modules_builds_offline(kernel, tmp_path):
    kc = kernel.kc
    ok(kc, f"%cd {tmp_path}")
    body = GONUM_CELL.split("\n", 1)[1]
    ex = ok(kc, "%mpirun -n 4 --export job\n" + body, timeout=300)
    job = tmp_path / "job"
    assert "go.sum" in ex.stdout, ex.stdout
    go_mod = (job / "go.mod").read_text()
    assert re.search(r"gonum\.org/v1/gonum v\S+", go_mod) and "replace github.com/mpigo/mpigo => ./mpigo" in go_mod, go_mod
    assert "gonum.org/v1/gonum" in (job / "go.sum").read_text()
    assert not (job / "vendor").exists()

    # built offline from the module cache
    env = dict(os.environ, GOFLAGS="-mod=mod", GOPROXY="off", GOWORK="off")
    p = subprocess.run(["go", "build", *mpi_tags(), "-o", "prog", "."], cwd=job, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr

    # --vendor: built with neither network nor module cache
    ex = ok(kc, "%mpirun -n 4 --export vjob --vendor\n" + body, timeout=300)
    vjob = tmp_path / "vjob"
    assert "vendor/" in ex.stdout, ex.stdout
    assert "gonum.org/v1/gonum" in (vjob / "vendor" / "modules.txt").read_text()
    assert (vjob / "vendor" / "github.com" / "mpigo" / "mpigo" / "mpi" / "mpi.go").is_file()
    env = dict(os.environ, GOFLAGS="-mod=vendor", GOPROXY="off", GOWORK="off", GOMODCACHE=str(tmp_path / "empty-cache"))
    p = subprocess.run(["go", "build", *mpi_tags(), "-o", "prog", "."], cwd=vjob, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "-mod=vendor" in (vjob / "job.sh").read_text()

    # its job.sh builds from vendor/ too, and runs it
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", GOPROXY="off",
               GOMODCACHE=str(tmp_path / "empty-cache"))
    p = subprocess.run(["bash", str(vjob / "job.sh")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "go build -mod=vendor" in p.stderr, p.stderr
    got = float(p.stdout.split()[1])
    assert abs(got - frobenius2()) <= 1e-9 * frobenius2(), p.stdout
