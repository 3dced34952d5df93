"""The batch jobs of jobs/ submitted with sbatch to the cluster of
install/slurm-cluster.sh (the `cluster` fixture: nodes n1 and n2, 8 CPUs
each), as a user would: `cd jobs && sbatch NN-name.sh`, then the teaching
output checked in out/NN-name-JOBID.out.

All seven jobs, submitted at once; hello world must show every rank on its
node (both nodes), hybrid ranks on two nodes with several CPUs each (srun
--cpus-per-task). test_jobs.py runs them without SLURM and holds the checks
of their output, used here as well.

The job files ask for up to 20 nodes, as the workshop's did: the sizes are
overridden on sbatch's command line (-N 2 --ntasks-per-node=2), never by
editing the files. The jobs build their program with go build inside the
job, so the repository (its tracked go.mod, go.sum, mpi/, display/ and
jobs/) is copied where the nodes see it: each node has a private /tmp.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import pytest

from helpers import ROOT
from test_jobs import check_broadcast, check_gather, check_ring, check_scatter, check_send_receive

NODES = ["n1", "n2"]
# job -> the sbatch options that fit it on the two nodes, the ranks it runs
JOBS = {
    "00-hello-world": (["-N", "2", "--ntasks-per-node=2"], 4),
    "01-send-and-receive": (["-N", "2", "--ntasks-per-node=2"], 4),
    "02-broadcast": (["-N", "2", "--ntasks-per-node=2"], 4),
    "03-scatter": (["-N", "2", "--ntasks-per-node=2"], 4),
    "04-gather": (["-N", "2", "--ntasks-per-node=2"], 4),
    "05-ring": (["-N", "2", "--ntasks-per-node=2"], 4),
    "06-hybrid": (["-N", "2", "--ntasks-per-node=1", "--cpus-per-task=2"], 2),
}
DONE = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL", "DEADLINE"}


def _job_state(cluster, job: str) -> tuple[str, str]:
    """(JobState, ExitCode) of job, from slurmctld (no accounting here)."""
    out = cluster.run("scontrol", "-o", "show", "job", job, check=False).stdout
    state = re.search(r"\bJobState=(\S+)", out)
    code = re.search(r"\bExitCode=(\S+)", out)
    return (state[1] if state else "", code[1] if code else "")


@pytest.fixture(scope="module")
def submitted(cluster):
    """Copies the repository to the shared directory, submits the jobs all
    at once, and waits for them (polling scontrol: sbatch --wait polls every
    few seconds). Returns {name: (job id, state, exit code, output)}."""
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
    env["PATH"] = "/usr/local/go/bin:" + env.get("PATH", "")
    env["ITEMS"] = "2000"  # 06-hybrid: 2 s on one CPU instead of 20
    # the cgo part of package mpi compiled once here, not by four jobs at once
    # (Go's build cache in ~/.cache/go-build is seen by the nodes)
    subprocess.run(["go", "build", "-tags", "ompi", "./mpi"], cwd=repo, env=env, check=True, timeout=300)

    t0 = time.monotonic()
    jobs = {}
    try:
        for name, (opts, _) in JOBS.items():
            r = subprocess.run(
                ["sbatch", "--parsable", "-J", f"mpigo-test-{name}", *opts, f"{name}.sh"],
                cwd=repo / "jobs", env=env, capture_output=True, text=True, timeout=30,
            )  # fmt: skip
            assert r.returncode == 0 and r.stdout.strip().isdigit(), f"sbatch {name}.sh: {r.stdout}{r.stderr}"
            jobs[name] = r.stdout.strip()
        states = {}
        while len(states) < len(jobs):
            assert time.monotonic() - t0 < 180, f"jobs still running after 180 s: {set(jobs) - set(states)}"
            for name, job in jobs.items():
                if name not in states:
                    state, code = _job_state(cluster, job)
                    if state in DONE:
                        states[name] = (state, code)
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
    """The job's output without the commands it echoes (`+ go build`, `+ srun`)."""
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("+ "))


@pytest.mark.parametrize("name", list(JOBS))
def test_job_completed_with_srun(submitted, name):
    job, state, code, text = submitted[name]
    assert (state, code) == ("COMPLETED", "0:0"), f"job {job}: {state} {code}\n{text}"
    # built inside the job, ranks started by srun (the job is a SLURM allocation)
    assert re.search(rf"^\+ go build -tags ompi .*/out/bin/{name}-ompi ", text, re.M), text
    assert re.search(rf"^\+ srun .*/out/bin/{name}-ompi\b", text, re.M), text


def test_hello_every_rank_on_both_nodes(submitted):
    text = program_output(submitted["00-hello-world"][3])
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
    check(program_output(submitted[name][3]), JOBS[name][1], {})


def test_hybrid_two_nodes_two_cpus_each(submitted):
    text = program_output(submitted["06-hybrid"][3])
    # srun --cpus-per-task gave each rank the 2 CPUs sbatch asked for
    assert re.search(r"^2000 work items of 1ms \(\d+ rounds of arithmetic\); 2 ranks on 2 nodes, 2 CPUs \(goroutines\) per rank$", text, re.M), text
    table = text[text.index("\nwhat ") + 1 :].splitlines()
    rows = ["1 CPU", "1 node (2 CPUs) vs 1 CPU", "2 nodes vs 1 node", "2 nodes (4 CPUs) vs 1 CPU"]
    assert [next((r for r in rows if line.startswith(r + " ")), None) for line in table[1:]] == rows, text
    ideal = [int(line.split()[-2]) for line in table[1:]]
    assert ideal == [1, 2, 2, 4], text
