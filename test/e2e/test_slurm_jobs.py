"""The batch jobs of jobs/ submitted with sbatch to the cluster of
install/slurm-cluster.sh (the `cluster` fixture: nodes n1 and n2, 8 CPUs
each), as a user would: `bash jobs/build.sh` once on the login node (here,
the host), then `cd jobs && sbatch NN-name.sh`, and the teaching output
checked in out/NN-name-JOBID.out.

All seven jobs with the sizes of their files (class-sized: 1 or 2 nodes, a
few tasks), submitted at once: they ask for more CPUs together than the
cluster has, so some wait for others. Hello world must show its ranks on
both nodes, the jobs of one node four ranks there, hybrid a rank on each
node with the job's CPUs (srun --cpus-per-task). test_jobs.py runs them
without SLURM and holds the checks of their output, used here as well.

The jobs compile nothing: they are submitted with no Go on PATH, and run
the programs build.sh put in jobs/bin/ompi/. The repository (its tracked
go.mod, go.sum, mpi/, display/ and jobs/) is copied where the nodes see it,
since each node has a private /tmp.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import pytest

from helpers import ROOT
from test_jobs import check_broadcast, check_gather, check_ring, check_scatter, check_send_receive

NODES = ["n1", "n2"]
# job -> what its #SBATCH lines ask for, as scontrol shows the job: nodes,
# tasks, CPUs per task, memory per CPU
JOBS = {
    "00-hello-world": (2, 4, 1, "250M"),
    "01-send-and-receive": (1, 4, 1, "250M"),
    "02-broadcast": (1, 4, 1, "250M"),
    "03-scatter": (1, 4, 1, "250M"),
    "04-gather": (1, 4, 1, "250M"),
    "05-ring": (1, 4, 1, "250M"),
    "06-hybrid": (2, 2, 4, "250M"),
}
DONE = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL", "DEADLINE"}


def _job_state(cluster, job: str) -> tuple[str, str, str]:
    """(JobState, ExitCode, the whole record) of job, from slurmctld (no
    accounting here)."""
    out = cluster.run("scontrol", "-o", "show", "job", job, check=False).stdout
    state = re.search(r"\bJobState=(\S+)", out)
    code = re.search(r"\bExitCode=(\S+)", out)
    return (state[1] if state else "", code[1] if code else "", out)


def without_go(path: str) -> str:
    """PATH without the directories that hold a go command."""
    return ":".join(d for d in path.split(":") if d and not os.path.exists(os.path.join(d, "go")))


@pytest.fixture(scope="module")
def submitted(cluster):
    """Copies the repository to the shared directory, builds the programs
    there with jobs/build.sh, submits the jobs all at once (with no Go on
    PATH), and waits for them (polling scontrol: sbatch --wait polls every
    few seconds). Returns {name: (job id, state, exit code, scontrol's
    record, output)}."""
    repo = cluster.shared / "repo"
    files = subprocess.run(
        ["git", "ls-files", "-z", "--", "go.mod", "go.sum", "mpi", "display", "jobs"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for f in filter(None, files):
        (repo / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, repo / f)
    (repo / "out").mkdir()  # sbatch does not create the --output directory
    env = {
        k: v
        for k, v in cluster.env.items()
        if not k.startswith(("NP", "CPUS", "ITEMS", "LAUNCHER", "MPIEXEC", "MPI_", "GO_TAGS", "XDG_CACHE_HOME"))
    }
    env["ITEMS"] = "2000"  # 06-hybrid: 2 s on one CPU instead of 20
    # built once on the "login node", as jobs/README.md says
    go_path = "/usr/local/go/bin:" + env.get("PATH", "")
    r = subprocess.run(["bash", "jobs/build.sh"], cwd=repo, env=dict(env, PATH=go_path), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"jobs/build.sh: {r.stdout}{r.stderr}"
    print(r.stdout + r.stderr)
    env["PATH"] = without_go(env.get("PATH", ""))  # the jobs need no compiler

    t0 = time.monotonic()
    jobs = {}
    try:
        for name in JOBS:
            r = subprocess.run(
                ["sbatch", "--parsable", "-J", f"mpigo-test-{name}", f"{name}.sh"],
                cwd=repo / "jobs", env=env, capture_output=True, text=True, timeout=30,
            )  # fmt: skip
            assert r.returncode == 0 and r.stdout.strip().isdigit(), f"sbatch {name}.sh: {r.stdout}{r.stderr}"
            jobs[name] = r.stdout.strip()
        states = {}
        while len(states) < len(jobs):
            assert time.monotonic() - t0 < 240, f"jobs still running after 240 s: {set(jobs) - set(states)}"
            for name, job in jobs.items():
                if name not in states:
                    state, code, record = _job_state(cluster, job)
                    if state in DONE:
                        states[name] = (state, code, record)
            time.sleep(0.2)
        print(f"{len(jobs)} jobs submitted and done in {time.monotonic() - t0:.1f} s")
    finally:
        left = [j for n, j in jobs.items() if _job_state(cluster, j)[0] not in DONE]
        if left:
            cluster.run("scancel", *left, check=False)
    results = {}
    for name, job in jobs.items():
        out = repo / "out" / f"{name}-{job}.out"
        assert out.exists(), f"{name}: no {out} (job {job}: {states[name]})"
        results[name] = (job, *states[name], out.read_text(errors="replace"))
    return results


def program_output(text: str) -> str:
    """The job's output without the command it echoes (`+ srun ...`)."""
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("+ "))


@pytest.mark.parametrize("name", list(JOBS))
def test_job_completed_with_srun(submitted, name):
    job, state, code, record, text = submitted[name]
    assert (state, code) == ("COMPLETED", "0:0"), f"job {job}: {state} {code}\n{text}"
    # the sizes of the job file, untouched
    nodes, tasks, cpus, mem = JOBS[name]
    for field, want in (("NumNodes", nodes), ("NumTasks", tasks), ("CPUs/Task", cpus), ("MinMemoryCPU", mem)):
        assert re.search(rf"\b{re.escape(field)}={want}\b", record), f"job {job}: want {field}={want}:\n{record}"
    # the program build.sh built, its ranks started by srun (the job is a
    # SLURM allocation); nothing else run, nothing compiled
    launched = [l for l in text.splitlines() if l.startswith("+ ")]
    assert len(launched) == 1 and re.match(rf"\+ srun (--cpus-per-task=\d+ )?/\S+/jobs/bin/ompi/{name}( |$)", launched[0]), text
    assert "go build" not in text and "not built" not in text, text


def test_hello_every_rank_on_both_nodes(submitted):
    text = program_output(submitted["00-hello-world"][-1])
    lines = text.splitlines()
    assert re.fullmatch(r"Open MPI v[\d.]+, 4 ranks", lines[0]), text
    hello = [re.fullmatch(r"Hello, world! I am rank (\d+) of 4, running on (\S+)!", line) for line in lines[1:-1]]
    assert all(hello), text
    # block distribution: two ranks on each node, in rank order
    assert [(int(m[1]), m[2]) for m in hello] == [(0, "n1"), (1, "n1"), (2, "n2"), (3, "n2")], text
    assert lines[-1] == "ranks per node: n1: 2, n2: 2", text


@pytest.mark.parametrize(
    "name, check",
    [("01-send-and-receive", check_send_receive), ("02-broadcast", check_broadcast),
     ("03-scatter", check_scatter), ("04-gather", check_gather), ("05-ring", check_ring)],
)  # fmt: skip
def test_job_output(submitted, name, check):
    text = program_output(submitted[name][-1])
    check(text, JOBS[name][1], {})
    # four ranks on the job's one node
    assert re.search(r"\bNodeList=n[12]\b", submitted[name][3]), submitted[name][3]


def test_hybrid_two_nodes_four_cpus_each(submitted):
    text = program_output(submitted["06-hybrid"][-1])
    # srun --cpus-per-task gave each rank the 4 CPUs sbatch asked for
    assert re.search(r"^2000 work items of 1ms \(\d+ rounds of arithmetic\); 2 ranks on 2 nodes, 4 CPUs \(goroutines\) per rank$", text, re.M), text
    table = text[text.index("\nwhat ") + 1 :].splitlines()
    rows = ["1 CPU", "1 node (4 CPUs) vs 1 CPU", "2 nodes vs 1 node", "2 nodes (8 CPUs) vs 1 CPU"]
    assert [next((r for r in rows if line.startswith(r + " ")), None) for line in table[1:]] == rows, text
    ideal = [int(line.split()[-2]) for line in table[1:]]
    assert ideal == [1, 4, 2, 8], text
