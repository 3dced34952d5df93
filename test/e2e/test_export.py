"""%mpirun --export DIR, end to end: a cell that uses a declaration of an earlier
cell is exported through the kernel, then the export is built by hand offline in
another directory and run with mpirun, and run by its own job.sh."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from helpers import ok, run

pytestmark = pytest.mark.skipif(
    shutil.which("mpirun") is None or shutil.which("go") is None, reason="needs mpirun and go"
)

CELL = """\
%mpirun -n 2 --export job --timeout 1m --env WHO=world -p debug -N 1 --account acct -- --bind-to none
r := mpi.World.Rank()
fmt.Println(greet(r), os.Getenv("WHO"), mpi.World.Size())
"""


def mpi_env(**extra) -> dict:
    """The environment for running MPI programs here (as root too)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_"))}
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", **extra)
    return env


def test_export_build_and_run(kernel, tmp_path):
    kc = kernel.kc
    work = tmp_path / "work"
    work.mkdir()
    ok(kc, f"%cd {work}")
    ok(kc, 'const base = 100\nfunc greet(r int) string { return fmt.Sprintf("hello %d", base+r) }')
    ok(kc, "unrelatedVar := 1\nfunc unrelated() int { return unrelatedVar }")
    ex = ok(kc, CELL, timeout=240)
    count = ex.reply["execution_count"]
    job = work / "job"

    # the cell says what it wrote and how to submit it, and runs nothing
    assert f"Exported cell[{count}] to {job}" in ex.stdout, ex.describe()
    assert "func greet (cell[" in ex.stdout and "const base (cell[" in ex.stdout, ex.stdout
    assert "cd job && sbatch job.sh" in ex.stdout and "bash job/job.sh" in ex.stdout, ex.stdout
    assert "compiles here" in ex.stdout, ex.stdout
    assert "[rank" not in ex.stdout, ex.stdout

    main_go = (job / "main.go").read_text()
    assert "func greet(r int) string" in main_go and "const base = 100" in main_go, main_go
    assert "// From cell[" in main_go and "//line" not in main_go and "unrelated" not in main_go, main_go
    assert subprocess.run(["gofmt", "-l", str(job / "main.go")], capture_output=True, text=True).stdout == ""
    go_mod = (job / "go.mod").read_text()
    assert "require github.com/mpigo/mpigo v0.0.0" in go_mod and "replace github.com/mpigo/mpigo => ./mpigo" in go_mod
    assert (job / "mpigo" / "mpi" / "mpi.go").is_file() and (job / "mpigo" / "go.mod").is_file()
    assert not (job / "mpigo" / "mpimagic").exists()
    script = (job / "job.sh").read_text()
    for line in ["#SBATCH --job-name=job", "#SBATCH --ntasks=2", "#SBATCH --time=00:06:00", "#SBATCH --output=%x-%j.out",
                 "#SBATCH --partition=debug", "#SBATCH --nodes=1", "#SBATCH --account=acct",
                 "NTASKS=2", "TIMEOUT=60", "LAUNCHER_ARGS=(--bind-to none)", "export WHO=world"]:
        assert line + "\n" in script, (line, script)
    assert os.access(job / "job.sh", os.X_OK)

    # built by hand, offline, somewhere else; run with mpirun
    moved = tmp_path / "moved"
    shutil.copytree(job, moved)
    tags = []
    if subprocess.run(["pkg-config", "--exists", "ompi-c"]).returncode == 0 and "Open MPI" in subprocess.run(
        ["mpirun", "--version"], capture_output=True, text=True
    ).stdout:
        tags = ["-tags=ompi"]
    env = dict(os.environ, GOFLAGS="-mod=mod", GOPROXY="off", GOWORK="off")
    p = subprocess.run(["go", "build", *tags, "-o", "prog", "."], cwd=moved, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert (moved / "go.mod").read_text() == go_mod and not (moved / "go.sum").exists()
    p = subprocess.run(["mpirun", "-n", "2", "--oversubscribe", "./prog"], cwd=moved, env=mpi_env(WHO="mpirun"),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert sorted(p.stdout.splitlines()) == ["hello 100 mpirun 2", "hello 101 mpirun 2"], p.stdout

    # its job.sh builds and runs it, started from elsewhere
    p = subprocess.run(["bash", str(job / "job.sh")], cwd=tmp_path, env=mpi_env(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert sorted(p.stdout.splitlines()) == ["hello 100 world 2", "hello 101 world 2"], (p.stdout, p.stderr)
    assert re.search(r"job\.sh: running: timeout --kill-after=10 60 mpiexec -n 2 .*--bind-to none \./prog", p.stderr), p.stderr

    # exporting again replaces the export; an edited file is not overwritten
    ex = ok(kc, CELL, timeout=240)
    assert "Exported cell[" in ex.stdout
    (job / "job.sh").write_text("#!/bin/bash\n# my changes\n")
    ex = run(kc, CELL, timeout=240)
    assert ex.status == "error" and ex.error["ename"] == "ExportError", ex.describe()
    assert "job.sh (changed since the last export)" in ex.error_text, ex.error_text
    assert (job / "job.sh").read_text() == "#!/bin/bash\n# my changes\n"


def test_export_errors(kernel, tmp_path):
    kc = kernel.kc
    ok(kc, f"%cd {tmp_path}")
    # a cell that does not compile: the error names its line, nothing is written
    ex = run(kc, "%mpirun -n 2 --export bad\nx := 1\nfmt.Println(x + undefinedThing)", timeout=240)
    assert ex.status == "error" and ex.error["ename"] == "CompileError", ex.describe()
    assert re.search(r"cell\[\d+\]:3:\d+: undefined: undefinedThing", ex.error_text), ex.error_text
    assert not (tmp_path / "bad").exists()
    # DIR is a file
    (tmp_path / "afile").write_text("x")
    ex = run(kc, '%mpirun -n 2 --export afile\nfmt.Println("x")', timeout=240)
    assert ex.status == "error" and ex.error["ename"] == "ExportError", ex.describe()
    assert "is a file, not a directory" in ex.error_text, ex.error_text
    # a directory holding files of someone else
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "main.go").write_text("package main\n")
    ex = run(kc, '%mpirun -n 2 --export mine\nfmt.Println("x")', timeout=240)
    assert ex.status == "error" and "main.go (not written by mpigo)" in ex.error_text, ex.describe()
    assert (tmp_path / "mine" / "main.go").read_text() == "package main\n"
    # bad flags
    for code, want in [
        ('%mpirun -n 2 -p debug\nfmt.Println("x")', "-p goes with --export"),
        ('%mpirun -n 2 --export d -t soon\nfmt.Println("x")', "want a SLURM time limit"),
        ('%mpirun -n 2 --export d --env A-B=1\nfmt.Println("x")', "not a name a shell can export"),
        ('%mpirun -n 2 --export d --sbatch\nfmt.Println("x")', "--sbatch and --export do not go together"),
    ]:
        ex = run(kc, code)
        assert ex.status == "error" and ex.error["ename"] == "UsageError", (code, ex.describe())
        assert want in ex.error_text, (code, ex.error_text)
    assert not (tmp_path / "d").exists()
    ex = ok(kc, "%mpirun --help")
    assert "--export DIR" in ex.stdout and "sbatch job.sh" in ex.stdout
