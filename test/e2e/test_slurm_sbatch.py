"""%mpirun --sbatch end to end, on the real SLURM cluster of
install/slurm-cluster.sh (the `cluster` fixture: two nodes, n1 and n2, 8 CPUs
each): the kernel runs outside any allocation, submits the cell as a batch
job, shows its queue state, streams the ranks' output back over TCP and ends
with the job's final state. Interrupt cancels the job (scancel).

The kernel's working directory is the cluster's shared directory, as a
user's home would be: the job starts there on the nodes.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from conftest import Kernel, start_kernel, stop_kernel
from helpers import interrupt_when, ok, progress, rank_lines, run, summary, text

JOB_RE = re.compile(r"\bjob (\d+)\b")
# pending for want of CPUs: Resources, or Priority behind another pending job
PENDING_RE = re.compile(r"job \d+ pending \((Resources|Priority)\)")


def start(cluster, log, extra: dict | None = None) -> Kernel:
    """A kernel pointed at the cluster (SLURM_CONF), in its shared directory;
    outside any allocation unless extra says otherwise."""
    return start_kernel(log, env=extra, base=cluster.env, cwd=str(cluster.shared))


# the job directories in the kernel's cache (its environment is the tests')
JOB_DIRS = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mpigo" / "sbatch"


def job_dirs() -> set:
    return set(JOB_DIRS.iterdir()) if JOB_DIRS.is_dir() else set()


@pytest.fixture(scope="module")
def sk(cluster, tmp_path_factory):
    before = job_dirs()
    k = start(cluster, tmp_path_factory.mktemp("sbatch") / "kernel.log")
    yield k
    stop_kernel(k)
    left = cluster.run("squeue", "-h", "-n", ",".join(f"mpigo-cell{i}" for i in range(1, 50))).stdout
    assert not left.strip(), f"jobs left in the queue:\n{left}"
    assert job_dirs() <= before, f"job directories left behind: {job_dirs() - before}"


def job_id(ex) -> str:
    for t in progress(ex):
        m = JOB_RE.search(t)
        if m:
            return m[1]
    raise AssertionError(f"no job id in the progress: {progress(ex)}\n{ex.describe()}")


def summary_text(ex) -> str:
    return text(summary(ex)["text/plain"])


def in_queue(cluster, job: str) -> str:
    r = cluster.run("squeue", "-h", "-j", job, check=False)
    return r.stdout.strip()


def wait_running(cluster, job: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cluster.run("squeue", "-h", "-j", job, "-o", "%T").stdout.strip() == "RUNNING":
            return
        time.sleep(0.2)
    raise AssertionError(f"job {job} did not start within {timeout} s")


HELLO = '%mpirun -n 4 --sbatch\nh, _ := os.Hostname()\nfmt.Printf("rank %d of %d on %s\\n", mpi.World.Rank(), mpi.World.Size(), h)'


def test_pending_then_running_then_done(sk, cluster):
    """A blocker holds every idle CPU: the job pends (Resources), starts
    when the blocker is cancelled, and its ranks' output comes back live."""
    blocker = blocked(cluster)
    try:
        seen = {}

        def on_msg(msg):
            if "pending" in seen or msg["msg_type"] not in ("display_data", "update_display_data"):
                return
            t = text(msg["content"]["data"].get("text/plain", ""))
            if PENDING_RE.search(t):
                seen["pending"] = t
                cluster.run("scancel", blocker)  # free the CPUs

        ex = run(sk.kc, HELLO, on_msg=on_msg, timeout=120)
    finally:
        cluster.run("scancel", blocker, check=False)
    assert ex.status == "ok", ex.describe()
    shown = progress(ex)
    job = job_id(ex)
    pending = [i for i, t in enumerate(shown) if t.startswith(f"job {job} pending")]
    running = [i for i, t in enumerate(shown) if t.startswith(f"job {job} running on n")]
    assert pending and running and pending[0] < running[0], shown
    assert any(PENDING_RE.match(shown[i]) for i in pending), shown
    assert re.match(rf"done: job {job} COMPLETED on n\S+, 4 ranks with srun", shown[-1]), shown
    lines = rank_lines(ex.stdout)
    assert sorted(r for r, _ in lines) == [0, 1, 2, 3], ex.describe()
    for r, line in lines:
        assert re.fullmatch(rf"rank {r} of 4 on n[12]", line), lines
    assert f"job {job} COMPLETED" in summary_text(ex)
    assert not in_queue(cluster, job)


def blocked(cluster) -> str:
    """Submits a job that holds every idle CPU of the cluster (all 16 when
    nothing else runs; fewer beside an allocation another test module
    keeps) and waits until it runs."""
    _, idle, _, _ = cluster.run("sinfo", "-h", "-p", "debug", "-o", "%C").stdout.strip().split("/")
    assert int(idle) >= 4, f"only {idle} idle CPUs: {cluster.run('squeue').stdout}"
    blocker = cluster.run(
        "sbatch", "--parsable", "-n", idle, "-t", "1", "-J", "mpigo-blocker", "--wrap", "sleep 60"
    ).stdout.strip()  # fmt: skip
    try:
        wait_running(cluster, blocker, timeout=60)
    except BaseException:
        cluster.run("scancel", blocker, check=False)
        raise
    return blocker


def test_interrupt_while_pending(sk, cluster):
    """Held (the words after -- go to sbatch), the job pends until the
    interrupt cancels it."""
    sent = {}

    def on_msg(msg):
        if "t" in sent or msg["msg_type"] not in ("display_data", "update_display_data"):
            return
        if re.search(r"job \d+ pending \(JobHeldUser\)", text(msg["content"]["data"].get("text/plain", ""))):
            sent["t"] = time.monotonic()
            sk.km.interrupt_kernel()

    ex = run(sk.kc, HELLO.replace("--sbatch", "--sbatch -- --hold"), on_msg=on_msg, timeout=60)
    took = time.monotonic() - sent["t"]
    assert ex.status == "error" and ex.error["ename"] == "Interrupted", ex.describe()
    job = job_id(ex)
    assert ex.error["evalue"] == (
        f"the cell was interrupted: job {job} was cancelled (scancel) while it was still waiting in the queue; no rank had started"
    ), ex.error
    assert not ex.stdout and not in_queue(cluster, job)
    assert took < 5, f"the interrupt took {took:.1f} s"


def test_inside_an_allocation_submits_a_new_job(cluster, tmp_path):
    """A kernel inside a 1-CPU allocation (its SLURM_* variables): -n 4 is
    beyond it, but --sbatch submits a job of its own, outside it, for 4 ranks."""
    r = cluster.run("salloc", "--no-shell", "-n", "1", "-J", "mpigo-alloc")
    alloc = re.search(r"Granted job allocation (\d+)", r.stderr)[1]
    env = {
        "SLURM_JOB_ID": alloc, "SLURM_JOBID": alloc, "SLURM_NTASKS": "1", "SLURM_NPROCS": "1",
        "SLURM_JOB_CPUS_PER_NODE": "1", "SLURM_NNODES": "1", "SLURM_JOB_NODELIST": "n1", "SLURM_NODELIST": "n1",
    }  # fmt: skip
    k = start(cluster, tmp_path / "kernel.log", env)
    try:
        ex = ok(k.kc, '%mpirun -n 4 --sbatch\nfmt.Println("in job", os.Getenv("SLURM_JOB_ID"))', timeout=90)
        job = job_id(ex)
        assert job != alloc
        assert sorted(rank_lines(ex.stdout)) == [(r, f"in job {job}") for r in range(4)], ex.describe()
    finally:
        stop_kernel(k)
        cluster.run("scancel", alloc, check=False)


def test_two_nodes(sk, cluster):
    ex = ok(sk.kc, HELLO.replace("--sbatch", "--sbatch -N 2"), timeout=90)
    hosts = {line.rsplit(" ", 1)[1] for _, line in rank_lines(ex.stdout)}
    assert hosts == {"n1", "n2"}, ex.stdout
    assert any(re.match(r"job \d+ running on n\[1-2\]", t) for t in progress(ex)), progress(ex)
    assert "COMPLETED on n[1-2]" in progress(ex)[-1]


def test_failing_rank(sk, cluster):
    code = (
        "%mpirun -n 3 --sbatch\n"
        "if mpi.World.Rank() == 1 {\n"
        '\tfmt.Println("rank 1 gives up")\n'
        "\tos.Exit(3)\n"
        "}\n"
        "time.Sleep(30 * time.Second)\n"
    )
    t0 = time.monotonic()
    ex = run(sk.kc, code, timeout=90)
    took = time.monotonic() - t0
    assert ex.status == "error" and ex.error["ename"] == "RankError", ex.describe()
    assert ex.error["evalue"].startswith("rank 1 failed: exit 3"), ex.error
    tb = "\n".join(ex.error["traceback"])
    job = job_id(ex)
    assert "rank 1 gives up" in tb and re.search(rf"job {job}: (FAILED|CANCELLED)", tb), tb
    assert (1, "rank 1 gives up") in rank_lines(ex.stdout)
    assert took < 15, f"the failure took {took:.1f} s to end the cell"
    assert not in_queue(cluster, job)


def test_interrupt_cancels_the_job(sk, cluster):
    code = '%mpirun -n 2 --sbatch\nfmt.Println("started")\ntime.Sleep(60 * time.Second)'
    on_msg, sent = interrupt_when(sk.km)
    ex = run(sk.kc, code, on_msg=on_msg, timeout=90)
    took = time.monotonic() - sent["t"]
    assert ex.status == "error" and ex.error["ename"] == "Interrupted", ex.describe()
    job = job_id(ex)
    value = ex.error["evalue"]
    assert f"job {job} was cancelled (scancel)" in value and "ranks 0-1 were still running" in value, value
    assert "CANCELLED" in "\n".join(ex.error["traceback"])
    assert not in_queue(cluster, job), "the job is still in squeue after the cell ended"
    assert took < 10, f"the interrupt took {took:.1f} s"
    assert ok(sk.kc, "40 + 2").result_text == "42"


def test_cancelled_outside_the_notebook(sk, cluster):
    """scancel from a terminal: the cell reports the job's final state."""
    code = '%mpirun -n 2 --sbatch\nfmt.Println("in job", os.Getenv("SLURM_JOB_ID"))\ntime.Sleep(60 * time.Second)'
    sent = {}

    def on_msg(msg):
        if "job" not in sent and msg["msg_type"] == "stream":
            m = re.search(r"in job (\d+)", msg["content"]["text"])
            if m:
                sent["job"] = m[1]
                cluster.run("scancel", m[1])

    ex = run(sk.kc, code, on_msg=on_msg, timeout=60)
    job = sent["job"]
    assert ex.status == "error" and ex.error["ename"] == "Cancelled", ex.describe()
    assert ex.error["evalue"].startswith(f"job {job} was cancelled outside this notebook"), ex.error
    assert re.search(rf"^job {job}: CANCELLED on n[12]$", "\n".join(ex.error["traceback"]), re.M), ex.error
    assert f"job {job} CANCELLED" in summary_text(ex)
    assert not in_queue(cluster, job)


def test_timeout_cancels_the_job(sk, cluster):
    ex = run(sk.kc, '%mpirun -n 1 --sbatch --timeout 2s\nfmt.Println("started")\ntime.Sleep(60 * time.Second)', timeout=60)
    assert ex.status == "error" and ex.error["ename"] == "Timeout", ex.describe()
    job = job_id(ex)
    assert f"--timeout 2s expired: job {job} was cancelled" in ex.error["evalue"], ex.error
    assert rank_lines(ex.stdout) == [(0, "started")]
    assert not in_queue(cluster, job)


def test_bad_partition_shows_sbatch_error(sk):
    ex = run(sk.kc, '%mpirun -n 2 --sbatch -p nosuch\nfmt.Println("never")', timeout=60)
    assert ex.status == "error" and ex.error["ename"] == "SubmitError", ex.describe()
    assert "sbatch refused the job" in ex.error["evalue"], ex.error
    assert "invalid partition specified: nosuch" in "\n".join(ex.error["traceback"]), ex.error
    assert "never" not in ex.stdout


def test_compile_error_names_the_cell_line(sk):
    ex = run(sk.kc, "%mpirun -n 2 --sbatch\nx := 1\nfmt.Println(y)", timeout=60)
    assert ex.status == "error" and ex.error["ename"] == "CompileError", ex.describe()
    assert re.search(r"cell\[\d+\]:3:\d+: undefined: y", ex.error["evalue"]), ex.error
    assert not any(JOB_RE.search(t) for t in progress(ex)), "a job was submitted for a cell that does not compile"


def test_kernel_shutdown_cancels_the_job(cluster, tmp_path):
    k = start(cluster, tmp_path / "kernel.log")
    try:
        msg_id = k.kc.execute('%mpirun -n 2 --sbatch\nfmt.Println("in job", os.Getenv("SLURM_JOB_ID"))\ntime.Sleep(60 * time.Second)')
        deadline, job = time.monotonic() + 60, None
        while job is None and time.monotonic() < deadline:
            m = k.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "stream":
                found = re.search(r"in job (\d+)", m["content"]["text"])
                job = found and found[1]
        assert job and in_queue(cluster, job), "the job is not running"
    finally:
        stop_kernel(k)
    assert not in_queue(cluster, job), f"job {job} outlived the kernel"
