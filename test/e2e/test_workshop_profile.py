"""The workshop in the shipped JupyterHub profile: every notebook of
notebooks/ runs clean inside an allocation of the workshop profile's shape.

install/cluster/jupyterhub_config.py's workshop profile asks SLURM for 4
tasks of 1 CPU on one node, and batchspawner starts the notebook server in a
one-task job step of that job (req_srun), so the kernel sees SLURM_JOB_ID and
a step, `%mpirun` launches ranks with `srun --overlap`, and a cell asking for
more ranks than the job's CPUs is refused. Here one job of that shape (read
from the shipped file, turned into options as batchspawner writes its #SBATCH
lines), on the cluster of install/slurm-cluster.sh, runs nbclient (the
executor behind nbconvert) from the project's virtual environment in the step
batchspawner would run the server in:

    salloc --cpus-per-task=1 --time=1:00:00 --nodes=1 --ntasks=4 \\
        srun --ntasks=1 --nodes=1 .venv/bin/python DRIVER OUT NOTEBOOK...

The driver executes a probe notebook (where the kernel runs, how %mpirun
launches, that one rank too many is refused) and then every workshop notebook
in turn, each with a fresh mpigo kernel, and writes the executed notebooks to
the shared directory; the test checks them with the check of test_nbconvert.py
(helpers.check_executed_notebook). One job for all of them: an allocation can
cost the scheduler's interval when the cluster is busy.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid

import nbformat
import pytest

import helpers
from slurm_cluster import node_jupyter

NOTEBOOKS = sorted((helpers.ROOT / "notebooks").glob("*.ipynb"))
PROFILE = helpers.ROOT / "install" / "cluster" / "jupyterhub_config.py"
MPIRUN_N = re.compile(r"%%?mpirun\b.*?\s-n\s*(\d+)")  # the first line of an %mpirun cell, its -n

# Runs on the node, in the job step, with the venv's python: executes each
# notebook with nbclient as nbconvert does (cells tagged raises-exception may
# fail, any other error stops that notebook), and records after each one what
# happened, so that a job cut short still says how far it got.
DRIVER = r'''
import json, os, socket, sys, time
import nbformat
from nbclient import NotebookClient

out_dir, notebooks = sys.argv[1], sys.argv[2:]
report = {
    "host": socket.gethostname(),
    "env": {k: v for k, v in os.environ.items() if k.startswith("SLURM_")},
    "notebooks": [],
}
for path in notebooks:
    nb = nbformat.read(path, as_version=4)
    t0 = time.monotonic()
    error = ""
    try:
        NotebookClient(nb, kernel_name="mpigo", timeout=120, startup_timeout=60,
                       resources={"metadata": {"path": os.path.dirname(path)}}).execute()
    except Exception as e:
        error = f"{type(e).__name__}: {e}"[-4000:]
    nbformat.write(nb, os.path.join(out_dir, os.path.basename(path)))
    took = time.monotonic() - t0
    report["notebooks"].append({"name": os.path.basename(path), "seconds": round(took, 1), "error": error})
    with open(os.path.join(out_dir, "report.json.new"), "w") as f:
        json.dump(report, f, indent=1)
    os.replace(os.path.join(out_dir, "report.json.new"), os.path.join(out_dir, "report.json"))
    print(f"{os.path.basename(path)}: {took:.1f} s{' ERROR ' + error[:200] if error else ''}", flush=True)
'''


@dataclasses.dataclass
class Profile:
    name: str  # as the hub shows it
    alloc: list  # salloc's options: what batchspawner's #SBATCH lines ask for
    step: list  # how batchspawner starts the server in the job (req_srun)
    cpus_per_task: int
    cpus: int  # of the whole job: the most ranks %mpirun may start


@pytest.fixture(scope="module")
def profile() -> Profile:
    """The workshop profile of the shipped jupyterhub_config.py, loaded as
    JupyterHub loads it. batchspawner's SlurmSpawner writes req_nprocs as
    #SBATCH --cpus-per-task, req_runtime as --time and req_options verbatim
    after them (so they win); req_memory is left out: the test cluster's
    nodes declare 2 GB, and a real workshop's 4G would be refused here."""
    from traitlets.config import Config

    c = Config()
    exec(compile(PROFILE.read_text(), str(PROFILE), "exec"), {"get_config": lambda: c, "__file__": str(PROFILE)})
    workshop = [p for p in c.ProfilesSpawner.profiles if p[0].startswith("Workshop")]
    assert len(workshop) == 1, c.ProfilesSpawner.profiles
    name, _, spawner, opts = workshop[0]
    assert spawner == "batchspawner.SlurmSpawner", workshop
    alloc = [f"--cpus-per-task={opts['req_nprocs']}", f"--time={opts['req_runtime']}", *opts["req_options"].split()]
    value = {"--cpus-per-task": 1, "--ntasks": 1, "--nodes": 1}
    for a in alloc:  # the last of each wins, as in sbatch
        k, _, v = a.partition("=")
        assert k not in ("-c", "-n", "-N"), f"write {k} as its long option in the profile, or teach this test: {alloc}"
        if k in value:
            value[k] = int(v)
    assert value["--nodes"] == 1, f"the workshop profile spans {value['--nodes']} nodes: {alloc}"
    step = c.SlurmSpawner.req_srun.split()
    assert step[:1] == ["srun"], f"the server would not run in a job step: req_srun={c.SlurmSpawner.req_srun!r}"
    return Profile(name, alloc, step, value["--cpus-per-task"], value["--cpus-per-task"] * value["--ntasks"])


def probe_notebook(ranks: int) -> nbformat.NotebookNode:
    """Cells that show the kernel runs where batchspawner runs the server,
    checked by helpers.check_executed_notebook like the workshop's own."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "mpigo", "display_name": "Go (mpigo)", "language": "go"}

    def cell(source, expect, tags=()):
        c = nbformat.v4.new_code_cell(source)
        c.metadata["mpigo"] = {"expect": expect}
        if tags:
            c.metadata["tags"] = list(tags)
        return c

    nb.cells = [
        # the kernel itself: inside the job, in step 0 (the one srun started), on a node
        cell('host, _ := os.Hostname()\n'
             'fmt.Printf("kernel job=%s step=%s host=%s\\n", os.Getenv("SLURM_JOB_ID"), os.Getenv("SLURM_STEP_ID"), host)',
             [r"^kernel job=\d+ step=0 host=n[12]$"]),
        # the ranks in a step of their own next to the kernel's: srun --overlap
        cell(f"%mpirun -n {ranks} --verbose\n"
             'fmt.Printf("rank %d of %d on %s step %s\\n", mpi.World.Rank(), mpi.World.Size(), mpi.ProcessorName(), os.Getenv("SLURM_STEP_ID"))',
             [rf"^mpigo: launch: .*/srun --overlap -n {ranks} "]
             + [rf"^\[rank {r}\] rank {r} of {ranks} on n[12] step [1-9]\d*$" for r in range(ranks)]
             + [rf"^%mpirun: done: {ranks} ranks with srun"]),
        # the profile's CPUs bound -n: one rank more is refused, as the
        # workshop's 5-rank cells were before they became 4-rank ones
        cell(f"%mpirun -n {ranks + 1}\nfmt.Println(mpi.World.Rank())",
             [rf"-n {ranks + 1} is more ranks than this SLURM allocation \(job \d+\)"], tags=["raises-exception"]),
    ]  # fmt: skip
    return nb


def test_workshop_cells_fit_the_profile(profile):
    """No workshop cell asks for more ranks than the profile's CPUs (which
    its name announces), and some cell uses them all."""
    assert f"{profile.cpus} MPI ranks" in profile.name, (profile.name, profile.alloc)
    most = 0
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            m = MPIRUN_N.match(cell.source) if cell.cell_type == "code" else None
            if m:
                assert int(m[1]) <= profile.cpus, (
                    f"{path.name}: {cell.source.splitlines()[0]!r} needs more than the profile's {profile.cpus} CPUs"
                )
                most = max(most, int(m[1]))
    assert most == profile.cpus, f"no workshop cell uses all {profile.cpus} CPUs (the most is {most})"


def _end_job(cluster, proc: subprocess.Popen, name: str) -> None:
    """Ends what the test started: the job (by its unique name: only ours) and
    salloc with its srun (their own process group)."""
    cluster.run("scancel", "--name", name, check=False)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass


def test_workshop_notebooks_in_the_profile_allocation(cluster, mpigo_bin, profile, node_venv):
    for path in NOTEBOOKS:
        helpers.check_unexecuted_notebook(path.name, nbformat.read(path, as_version=4))
    tag = uuid.uuid4().hex[:8]
    jup = node_jupyter(cluster, mpigo_bin, f"workshop-{tag}")
    top = jup.mpigo.parent
    work, out = top / "notebooks", top / "out"  # copies: the repository stays untouched
    work.mkdir()
    out.mkdir()
    for path in NOTEBOOKS:
        shutil.copy2(path, work / path.name)
    # beside them, as in a checkout, what notebook 07 builds and submits: jobs/
    # and the module it builds with
    files = subprocess.run(["git", "ls-files", "-z", "--", "go.mod", "go.sum", "mpi", "display", "jobs"],
                           cwd=helpers.ROOT, capture_output=True, check=True).stdout.decode().split("\0")  # fmt: skip
    for f in filter(None, files):
        (top / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(helpers.ROOT / f, top / f)
    nbformat.write(probe_notebook(profile.cpus), work / "probe.ipynb")
    (top / "driver.py").write_text(DRIVER)
    order = ["probe.ipynb"] + [p.name for p in NOTEBOOKS]

    name = f"mpigo-test-workshop-{tag}"
    argv = ["salloc", "-J", name, *profile.alloc, *profile.step, str(node_venv / "python"), str(top / "driver.py"), str(out)]
    argv += [str(work / n) for n in order]
    print(" ".join(argv))
    log = top / "salloc.log"
    t0 = time.monotonic()
    with open(log, "wb") as logf:
        proc = subprocess.Popen(
            argv, env=jup.env(cluster), cwd=top, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
            start_new_session=True,
        )  # fmt: skip
    job, granted_at = "", None
    try:
        # bounded waits: the allocation (the cluster may be busy with other
        # tests' jobs: backfill starts ours within its interval), then the run
        while proc.poll() is None:
            if not job:
                m = re.search(r"Granted job allocation (\d+)", log.read_text(errors="replace"))
                if m:
                    job, granted_at = m[1], time.monotonic()
                    print(f"job {job} granted in {granted_at - t0:.1f} s")
                assert job or time.monotonic() - t0 < 180, f"no allocation within 180 s:\n{log.read_text()}"
            assert time.monotonic() - t0 < 1200, f"notebooks still running after 1200 s:\n{log.read_text()}"
            time.sleep(0.5)
    finally:
        if proc.poll() is None:
            _end_job(cluster, proc, name)
    took = time.monotonic() - (granted_at or t0)
    text = log.read_text(errors="replace")
    print(f"---- salloc log ----\n{text[-6000:]}\nall notebooks in one job: {took:.1f} s after the grant")
    assert proc.returncode == 0, f"salloc exited {proc.returncode}:\n{text[-6000:]}"
    m = re.search(r"Granted job allocation (\d+)", text)
    assert m, text
    job = m[1]

    report = json.loads((out / "report.json").read_text())
    env = report["env"]
    # the driver (and so each kernel it started) ran as the one task of step
    # 0 of our job, on a node, with the profile's CPUs
    assert env.get("SLURM_JOB_ID") == job and env.get("SLURM_STEP_ID") == "0", env
    assert env.get("SLURM_STEP_NUM_TASKS") == "1", env
    assert env.get("SLURM_JOB_CPUS_PER_NODE") == str(profile.cpus), env
    assert env.get("SLURM_CPUS_PER_TASK") == str(profile.cpus_per_task), env
    assert report["host"] in ("n1", "n2"), report["host"]
    ran = [n["name"] for n in report["notebooks"]]
    assert ran == order, f"the job ran {ran}, not {order}:\n{text[-6000:]}"

    failures = []
    for n in report["notebooks"]:
        nb = nbformat.read(out / n["name"], as_version=4)
        try:
            assert not n["error"], f"{n['name']}: nbclient stopped: {n['error']}"
            helpers.check_executed_notebook(n["name"], nb, slurm=True)
            for cell in nb.cells:
                # every %mpirun cell that ran clean ran its ranks with srun in
                # the job (the progress line's final state); not those that
                # submit a job of their own or write one (notebook 07)
                m = MPIRUN_N.match(cell.source) if cell.cell_type == "code" else None
                if m and re.search(r"\s--(sbatch|export)\b", cell.source.splitlines()[0]):
                    continue
                if m and not any(o.output_type == "error" for o in helpers.outputs(cell)):
                    shown = helpers.cell_text(cell)
                    assert re.search(rf"^%mpirun: done: {m[1]} ranks? with srun\b", shown, re.M), (
                        f"{n['name']}: not launched with srun:\n{cell.source}\n--- output:\n{shown}"
                    )
        except AssertionError as e:
            failures.append(str(e))
    assert not failures, "\n\n".join(failures)

    # salloc returned, so the job is over: nothing of it stays in the queue
    assert helpers.wait_for(lambda: not cluster.run("squeue", "-h", "-j", job, check=False).stdout.strip(), 30), (
        cluster.run("squeue", "-j", job, check=False).stdout
    )
    shutil.rmtree(top, ignore_errors=True)
