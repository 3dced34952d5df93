"""notebooks/07-slurm.ipynb, the SLURM walkthrough, executed with nbconvert
(as install/setup.sh runs the workshop) twice:

- on the cluster of install/slurm-cluster.sh (the `cluster` fixture), with
  the kernel pointed at it as a user's on a login node would be (SLURM_CONF,
  Go on PATH, a build cache the nodes see): the notebook builds jobs/ with
  jobs/build.sh, submits jobs/00-hello-world.sh with !sbatch, watches it with
  jobs/watch.sh (squeue --me) and reads its output file, runs a cell with
  %mpirun --sbatch and submits the job.sh of an %mpirun --export. Checked:
  the three job ids, the ranks' Hello lines on the nodes, every job
  COMPLETED, nothing left in the queue. Once from the host (a login node),
  once from inside a job with a memory size, as a JupyterHub session is
  (salloc --mem, the notebook in a one-task srun step): the jobs it submits
  must not inherit that job's SLURM_ variables (SLURM_MEM_PER_NODE beside
  the job's own SLURM_MEM_PER_CPU makes srun fail);
- without SLURM (no sbatch, sinfo or squeue on PATH): every cell explains
  itself, the job files run here with mpiexec instead, and the one cell
  allowed to fail, %mpirun --sbatch, fails with the kernel's explanation.

Both run on a copy of the repository's go.mod, go.sum, mpi/, display/, jobs/
and the notebook: the jobs write jobs/bin/ and out/, and on the cluster the
copy is in the shared directory, where the nodes see it.

The notebook's own checks need neither: every #SBATCH line of
jobs/00-hello-world.sh is explained in its Markdown, and the --sbatch cell
is the only one that may fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import nbformat
import pytest

import helpers
from helpers import ROOT, cell_text, outputs
from slurm_cluster import node_jupyter, visible_on_nodes

NOTEBOOK = ROOT / "notebooks" / "07-slurm.ipynb"
SLURM_COMMANDS = {"sbatch", "srun", "salloc", "squeue", "sinfo", "scontrol", "scancel", "sacct", "sacctmgr", "sattach", "sbcast", "sstat", "sprio", "sshare", "sdiag", "sreport", "strigger", "scrontab", "sview"}


def copy_repo(top) -> None:
    """The tracked files the notebook needs, and the notebook, under top."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--", "go.mod", "go.sum", "mpi", "display", "jobs", "notebooks/07-slurm.ipynb"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for f in filter(None, files):
        (top / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, top / f)


def execute(top, env: dict, out_dir, jupyter: str | None = None, wrap: tuple = ()) -> nbformat.NotebookNode:
    """Runs top/notebooks/07-slurm.ipynb with nbconvert (the kernel starts in
    that directory), under the command wrap if given; returns the executed
    notebook."""
    jupyter = jupyter or shutil.which("jupyter")
    assert jupyter, "no jupyter on PATH (run with the project's .venv first on PATH)"
    proc = subprocess.run(
        [*wrap, jupyter, "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.kernel_name=mpigo",
         "--ExecutePreprocessor.timeout=120", "--output-dir", str(out_dir), str(top / "notebooks" / NOTEBOOK.name)],
        env=env, capture_output=True, text=True, timeout=600, start_new_session=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    nb = nbformat.read(out_dir / NOTEBOOK.name, as_version=4)
    return nb


def cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def the_cell(nb, part: str):
    """The one code cell whose source starts with part, or else holds it."""
    found = [c for c in cells(nb) if c.source.startswith(part)] or [c for c in cells(nb) if part in c.source]
    assert len(found) == 1, f"{len(found)} cells start with or hold {part!r}"
    return found[0]


def shown(nb, part: str) -> str:
    return cell_text(the_cell(nb, part))


def kernel_env(base: dict, session_spec: bool = True) -> dict:
    """base with the mpigo kernel spec of this test session (JUPYTER_PATH;
    session_spec=False keeps base's), Go, and no build cache under /tmp (the
    nodes have their own)."""
    env = dict(base)
    for k in ("JUPYTER_PATH", "JUPYTER_RUNTIME_DIR"):
        if k in os.environ and session_spec:
            env[k] = os.environ[k]
    env["PATH"] = "/usr/local/go/bin:" + env.get("PATH", "")
    if not visible_on_nodes(env.get("XDG_CACHE_HOME", "/")):
        env.pop("XDG_CACHE_HOME", None)
    return {k: v for k, v in env.items() if not k.startswith(("NP", "CPUS", "ITEMS", "LAUNCHER", "MPIEXEC", "MPI_", "GO_TAGS"))}


# ---- the notebook as kept in the repository ---------------------------------


def test_notebook_explains_every_sbatch_line():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    helpers.check_unexecuted_notebook(NOTEBOOK.name, nb)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    job = (ROOT / "jobs" / "00-hello-world.sh").read_text()
    lines = re.findall(r"^#{1,2}SBATCH (\S+)$", job, re.M)
    assert len(lines) >= 9, job
    for line in lines:
        assert line in markdown, f"#SBATCH {line} of jobs/00-hello-world.sh is not explained (or with another value)"


def test_only_the_sbatch_cell_may_fail():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    tagged = [c for c in cells(nb) if "raises-exception" in c.metadata.get("tags", [])]
    assert [c.source.splitlines()[0] for c in tagged] == ["%mpirun -n 2 --sbatch --timeout 1m"]
    assert tagged[0].metadata["mpigo"] == {"fails_without_slurm": True}
    # the submissions go through !sbatch, guarded by sinfo for a machine without SLURM
    submits = [c.source for c in cells(nb) if "sbatch " in c.source and c.source.startswith("!")]
    assert len(submits) == 2 and all(s.startswith("!if sinfo >/dev/null 2>&1; then ") for s in submits), submits
    # from inside a job (a JupyterHub session), none of its SLURM_ variables go to the new job
    unset = "unset $(env | grep -o '^SLURM_[A-Z0-9_]*' | grep -vx SLURM_CONF); "
    assert all(unset in s and s.index(unset) < s.index("sbatch ") for s in submits), submits
    assert "sbatch 00-hello-world.sh" in submits[0] and "sbatch job.sh" in submits[1], submits


# ---- on the cluster ------------------------------------------------------------


@pytest.mark.parametrize("where", ["login-node", "session-job"])
def test_notebook_on_the_cluster(cluster, mpigo_bin, node_venv, tmp_path, where):
    top = cluster.shared / f"nb07-{where}"
    copy_repo(top)
    if where == "login-node":
        nb = execute(top, kernel_env(cluster.env), tmp_path)
    else:
        # as a JupyterHub session: a job with a memory size, the notebook
        # server (here nbconvert) in a one-task step of it, on a node; the
        # kernel spec, Python and the output where the node sees them
        jup = node_jupyter(cluster, mpigo_bin, f"nb07-{where}")
        name = f"mpigo-test-nb07-{os.getpid()}"
        wrap = ("salloc", "-J", name, "--mem=1G", "--ntasks=2", "--time=10", "srun", "--ntasks=1", "--nodes=1", "--mpi=none")
        try:
            nb = execute(top, kernel_env(jup.env(cluster), session_spec=False), top / "executed", jupyter=str(node_venv / "jupyter"), wrap=wrap)
        finally:
            cluster.run("scancel", "--name", name, check=False)
    helpers.check_executed_notebook(NOTEBOOK.name, nb, slurm=True)

    assert "SLURM is here" in shown(nb, "!if sinfo --summarize"), shown(nb, "!if sinfo --summarize")
    assert re.search(r"^built 7 program\(s\) in \d+ s with go", shown(nb, "!bash build.sh"), re.M)

    # jobs/00-hello-world.sh: submitted, watched until done, its output file read
    text = shown(nb, "sbatch 00-hello-world.sh | tee")
    m = re.fullmatch(r"Submitted batch job (\d+)\n", text)
    assert m, text
    hello = m[1]
    watched = shown(nb, "!bash watch.sh ../out/07-hello.sbatch")
    assert watched.startswith("$ squeue --me\n") and re.search(r"^ +JOBID +PARTITION +NAME", watched, re.M), watched
    assert re.search(rf"^ *\d+ s  job {hello} has left the queue: JobState=COMPLETED ExitCode=0:0$", watched, re.M), watched
    text = shown(nb, "// submitted returns the job id")
    assert text.startswith(f"==> ../out/00-hello-world-{hello}.out <==\n"), text
    assert re.search(r"^\+ srun /\S+/jobs/bin/ompi/00-hello-world$", text, re.M), text
    hosts = re.findall(r"^Hello, world! I am rank (\d) of 4, running on (n[12])!$", text, re.M)
    assert hosts == [("0", "n1"), ("1", "n1"), ("2", "n2"), ("3", "n2")], text
    assert "ranks per node: n1: 2, n2: 2" in text, text
    assert "go build" not in text

    # %mpirun --sbatch: the ranks' lines come back, from one job
    cell = the_cell(nb, "%mpirun -n 2 --sbatch")
    text = cell_text(cell)
    ranks = re.findall(r"^\[rank (\d)\] Hello from rank \1 of 2 on n[12], in job (\d+)$", text, re.M)
    assert sorted(r for r, _ in ranks) == ["0", "1"] and len({j for _, j in ranks}) == 1, text
    cell_job = ranks[0][1]
    assert f"job {cell_job} COMPLETED" in text, text

    # %mpirun --export: written, submitted with !sbatch, watched, its output read
    text = shown(nb, "%mpirun -n 2 --export ../out/07-export")
    assert "Exported cell[" in text and "cd ../out/07-export && sbatch job.sh" in text, text
    assert "#SBATCH --ntasks=2" in shown(nb, "!grep -n '^#SBATCH' ../out/07-export/job.sh")
    text = shown(nb, "sbatch job.sh | tee")
    m = re.fullmatch(r"Submitted batch job (\d+)\n", text)
    assert m, text
    exported = m[1]
    watched = shown(nb, "!bash watch.sh ../out/07-export.sbatch")
    assert re.search(rf"job {exported} has left the queue: JobState=COMPLETED ExitCode=0:0", watched), watched
    text = shown(nb, "if exported := submitted(")
    assert text.startswith(f"==> ../out/07-export/07-export-{exported}.out <==\n"), text
    assert re.search(r"^job.sh: running: .*srun -n 2 .*\./prog$", text, re.M), text
    for r in range(2):
        assert re.search(rf"^Hello from rank {r} of 2 on n[12], in job {exported}$", text, re.M), text

    assert len({hello, cell_job, exported}) == 3
    left = cluster.run("squeue", "-h", "-j", ",".join((hello, cell_job, exported)), "-o", "%i %T", check=False).stdout
    assert not left.strip(), f"jobs still queued: {left}"


# ---- without SLURM --------------------------------------------------------------


def path_without_slurm(path: str, bin_dir) -> str:
    """A directory of links to every command on path but SLURM's (sbatch
    lives in /usr/bin with everything else): a machine without SLURM."""
    bin_dir.mkdir()
    for d in path.split(":"):
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            target = os.path.join(d, name)
            if name not in SLURM_COMMANDS and not (bin_dir / name).exists() and os.access(target, os.X_OK):
                (bin_dir / name).symlink_to(target)
    return str(bin_dir)


@pytest.mark.skipif(shutil.which("mpiexec") is None, reason="no mpiexec (install openmpi-bin)")
def test_notebook_without_slurm(tmp_path):
    top = tmp_path / "repo"
    copy_repo(top)
    env = {k: v for k, v in os.environ.items() if not re.match(r"(SLURM|SALLOC|SBATCH|SRUN|OMPI|PMIX|PMI)_", k)}
    env = kernel_env(env)
    env["PATH"] = path_without_slurm(env["PATH"], tmp_path / "bin")
    assert not any(shutil.which(c, path=env["PATH"]) for c in SLURM_COMMANDS)
    nb = execute(top, env, tmp_path / "out")
    helpers.check_executed_notebook(NOTEBOOK.name, nb, slurm=False)

    assert shown(nb, "!if sinfo --summarize") == (
        "No SLURM here (sinfo does not answer): the cells below explain each step, "
        "and run the jobs here with mpiexec instead of submitting them.\n"
    )
    # hello world: not submitted, run here by its job file, with mpiexec
    text = shown(nb, "sbatch 00-hello-world.sh | tee")
    assert text.startswith("No SLURM here: not submitted; the job file runs here instead:\n"), text
    assert re.search(r"^\+ mpiexec .* -np 4 /\S+/jobs/bin/ompi/00-hello-world$", text, re.M), text
    assert re.findall(r"^Hello, world! I am rank (\d) of 4", text, re.M) == ["0", "1", "2", "3"], text
    assert shown(nb, "!bash watch.sh ../out/07-hello.sbatch") == "No job to watch: nothing was submitted.\n"
    assert shown(nb, "// submitted returns the job id").startswith("No job was submitted, so there is no output file")

    # the --sbatch cell: the kernel's explanation, the one error of the notebook
    (err,) = [o for o in outputs(the_cell(nb, "%mpirun -n 2 --sbatch")) if o.output_type == "error"]
    assert err.ename == "UsageError" and "there is no sbatch command on PATH here" in err.evalue, err

    # the export: written, then its job.sh run here
    assert "Exported cell[" in shown(nb, "%mpirun -n 2 --export ../out/07-export")
    text = shown(nb, "sbatch job.sh | tee")
    assert text.startswith("No SLURM here: not submitted; job.sh runs here instead:\n"), text
    for r in range(2):
        assert f"Hello from rank {r} of 2 on " in text and ", in job (none: not run by SLURM)" in text, text
    assert shown(nb, "!bash watch.sh ../out/07-export.sbatch") == "No job to watch: nothing was submitted.\n"
    assert "Submitted batch job" not in "".join(cell_text(c) for c in cells(nb))
