"""Persistent ranks (%ranks, %px) on the real SLURM cluster of
install/slurm-cluster.sh (the `cluster` fixture: nodes n1 and n2, 8 CPUs
each, PMIx).

Inside an allocation (a kernel started as `salloc -N 2 --ntasks-per-node=2
[srun -n 1 ...] mpigo kernel CONN`, as JupyterHub's spawners start it),
`%ranks start -n 4` starts the ranks with srun (--overlap inside the
kernel's step) on both nodes; each rank connects back to the kernel over a
non-loopback address. Outside any allocation, `%ranks start --sbatch`
submits the ranks as a batch job, shows its queue state until they connect,
and `%ranks stop` cancels it.

Whatever ends the ranks, no process of theirs may be left on any node: the
nodes are network namespaces of this host sharing its process table, so
every process whose environment carries $MPIGO_PX and this test's tag is
found in /proc, and `ip netns identify` says on which node it runs.
"""

from __future__ import annotations

import re
import subprocess
import time
import uuid

import pytest

import test_slurm_mpirun as sm
from conftest import start_kernel, stop_kernel
from helpers import alive, environ, ok, rank_lines, run, text, wait_for
from test_slurm_mpirun import shared_mpigo  # noqa: F401  (the fixture)

TAG = "MPIGO_PX_SLURM_TEST"


def px_processes(tag: str) -> dict:
    """{pid: node} of the live processes started for the persistent ranks of
    the kernel tagged tag (the launcher and every rank carry $MPIGO_PX); node
    is the network namespace ("mpigo-n1"), "" on this host."""
    found = {}
    for entry in subprocess.run(["ls", "/proc"], capture_output=True, text=True).stdout.split():
        if not entry.isdigit() or not alive(int(entry)):
            continue
        env = environ(int(entry))
        if "MPIGO_PX" in env and env.get(TAG) == tag:
            ns = subprocess.run(["ip", "netns", "identify", entry], capture_output=True, text=True).stdout.strip()
            found[int(entry)] = ns
    return found


def assert_no_ranks(tag: str, timeout: float = 20) -> None:
    assert wait_for(lambda: not px_processes(tag), timeout, interval=0.2), f"rank processes left behind: {px_processes(tag)}"


def ranks_progress(ex) -> list:
    """The texts %ranks start's progress line showed, in order."""
    out = []
    for m in ex.messages:
        if m["msg_type"] in ("display_data", "update_display_data"):
            t = text(m["content"]["data"].get("text/plain", ""))
            if t.startswith("%ranks: "):
                out.append(t[len("%ranks: ") :])
    return out


def table(ex) -> list:
    """The rows of the %ranks table: [rank, host, pid, state, cells]."""
    return [line.split() for line in ex.stdout.splitlines()[1:] if re.match(r"^\d+\s", line)]


def interrupt(kc) -> None:
    """interrupt_request on control (the kernel spec's interrupt_mode is
    message; the kernel runs under salloc, not under a KernelManager)."""
    kc.control_channel.send(kc.session.msg("interrupt_request", {}))


STATE = "%px\nrank := mpi.World.Rank()\nh, _ := os.Hostname()\nfmt.Println(\"on\", h)"
ALLREDUCE = "%px\nrank += 10\nsum := make([]int, 1)\nmpi.World.Allreduce([]int{rank}, sum, mpi.Sum)\nfmt.Println(rank, sum[0])"


def check_ranks(kc, n: int, hosts: set) -> None:
    """%ranks shows n idle ranks on hosts; state lasts over two cells with
    an Allreduce; an endless loop is interrupted on every rank."""
    ex = ok(kc, "%ranks")
    rows = table(ex)
    assert [r[0] for r in rows] == [str(i) for i in range(n)], ex.stdout
    assert {r[1] for r in rows} == hosts and all(r[3] == "idle" for r in rows), ex.stdout
    ex = ok(kc, STATE, timeout=60)
    assert {h for _, h in rank_lines(ex.stdout)} == {f"on {h}" for h in hosts}, ex.stdout
    for k in (1, 2):  # rank grows by 10 a cell: the state is kept
        ex = ok(kc, ALLREDUCE, timeout=60)
        want = sum(r + 10 * k for r in range(n))
        assert sorted(rank_lines(ex.stdout)) == [(r, f"{r + 10 * k} {want}") for r in range(n)], ex.describe()
    sent = {}

    def on_msg(msg):
        if "t" not in sent and msg["msg_type"] == "stream" and "looping" in msg["content"]["text"]:
            sent["t"] = time.monotonic()
            interrupt(kc)

    ex = run(kc, '%px\nfmt.Println("looping")\nfor n := 0; ; n++ { _ = n }', on_msg=on_msg, timeout=60)
    assert ex.status == "error" and ex.error["ename"] == "Interrupted", ex.describe()
    assert time.monotonic() - sent["t"] < 15
    ex = ok(kc, "%px\nfmt.Println(rank)", timeout=60)
    assert sorted(rank_lines(ex.stdout)) == [(r, str(r + 20)) for r in range(n)], ex.stdout


# ---------------------------------------------------------------------------
# (a) inside an allocation
# ---------------------------------------------------------------------------

ALLOC = ["-N", "2", "--ntasks-per-node=2"]
SHAPES = {
    "salloc -N 2 --ntasks-per-node=2": None,
    "kernel in an srun step of the allocation (batchspawner), --mpi=none": ["--mpi=none"],
}


@pytest.mark.parametrize("step", SHAPES.values(), ids=SHAPES.keys())
def test_ranks_in_allocation(cluster, shared_mpigo, tmp_path, step):  # noqa: F811
    tag = uuid.uuid4().hex
    k = sm.start(cluster, shared_mpigo, tmp_path, ALLOC, step, extra={TAG: tag})
    try:
        ex = run(k.kc, "%ranks start -n 4 --verbose", timeout=300)
        if ex.status == "error" and "SIGSEGV" in ex.error_text and "InitThread" in ex.error_text:
            print(f"a rank crashed in MPI_Init (Open MPI 4.1 across nodes), once more:\n{ex.describe()}")
            ex = run(k.kc, "%ranks start -n 4", timeout=300)
        assert ex.status == "ok", ex.describe()
        shown = ranks_progress(ex)
        assert re.fullmatch(r"4 ranks with srun started in .*", shown[-1]), shown
        launch = next((line for line in ex.stdout.splitlines() if line.startswith("mpigo: launch: ")), "")
        assert re.search(r"/srun .*-n 4 ", launch) and "--mpi=pmix" in launch, ex.describe()
        assert ("--overlap" in launch.split()) == (step is not None), launch
        assert "MPIGO_PX=…" in launch, launch  # the channel's address and token, not shown
        procs = px_processes(tag)
        assert {"mpigo-n1", "mpigo-n2"} <= set(procs.values()), procs
        check_ranks(k.kc, 4, {"n1", "n2"})

        ex = ok(k.kc, "%ranks stop", timeout=60)
        assert "4 ranks stopped" in ex.stdout, ex.stdout
        assert_no_ranks(tag)
        ex = ok(k.kc, "%ranks start -n 4", timeout=300)
        assert len(px_processes(tag)) >= 4
    finally:
        sm.stop(cluster, k)  # asserts the job is gone
    assert_no_ranks(tag)


# ---------------------------------------------------------------------------
# (b) --sbatch, from a kernel outside any allocation
# ---------------------------------------------------------------------------

JOB_RE = re.compile(r"\bjob (\d+)\b")


def in_queue(cluster, job: str) -> str:
    return cluster.run("squeue", "-h", "-j", job, check=False).stdout.strip()


@pytest.fixture
def sbatch_kernel(cluster, tmp_path):
    tag = uuid.uuid4().hex
    k = start_kernel(tmp_path / "kernel.log", env={TAG: tag}, base=cluster.env, cwd=str(cluster.shared))
    k.tag = tag
    yield k
    stop_kernel(k)
    assert_no_ranks(tag)


def start_sbatch(kc, args: str = "-n 2 --sbatch -t 2", on_msg=None) -> tuple:
    """%ranks start ARGS: the execution and the job id its progress named."""
    ex = run(kc, f"%ranks start {args}", timeout=300, on_msg=on_msg)
    assert ex.status == "ok", ex.describe()
    shown = ranks_progress(ex)
    jobs = {m[1] for t in shown for m in [JOB_RE.search(t)] if m}
    assert len(jobs) == 1, shown
    return ex, jobs.pop()


def test_sbatch_ranks(cluster, sbatch_kernel):
    """Held (the words after -- go to sbatch), the job pends until the
    progress line said so and the test releases it; then it runs, the ranks
    connect, %px works, %ranks stop cancels the job."""
    k = sbatch_kernel
    released = {}

    def on_msg(msg):
        if "job" in released or msg["msg_type"] not in ("display_data", "update_display_data"):
            return
        m = re.search(r"job (\d+) pending \(JobHeldUser\), \d+ s in the queue", text(msg["content"]["data"].get("text/plain", "")))
        if m:
            released["job"] = m[1]
            cluster.run("scontrol", "release", m[1])

    ex, job = start_sbatch(k.kc, "-n 2 --sbatch -t 2 -- --hold", on_msg=on_msg)
    assert released.get("job") == job, ranks_progress(ex)
    shown = ranks_progress(ex)
    pending = [i for i, t in enumerate(shown) if t.startswith(f"job {job} pending (JobHeldUser)")]
    running = [i for i, t in enumerate(shown) if re.match(rf"job {job} running( on n\S+)?: [0-2] of 2 connected", t)]
    # the ranks may connect before the queue is asked again: "running" is
    # then never shown, but it never comes before "pending"
    assert pending and all(pending[0] < i for i in running), shown
    assert re.fullmatch(rf"2 ranks with srun started in job {job} (on n\S+ )?in .*", shown[-1]), shown
    ex = ok(k.kc, "%ranks")
    assert f"job {job}" in ex.stdout, ex.stdout
    assert {r[1] for r in table(ex)} <= {"n1", "n2"} and len(table(ex)) == 2, ex.stdout
    ok(k.kc, "%px\nrank := mpi.World.Rank()", timeout=60)
    ex = ok(k.kc, "%px\nsum := make([]int, 1)\nmpi.World.Allreduce([]int{rank + 1}, sum, mpi.Sum)\nfmt.Println(rank, sum[0])", timeout=60)
    assert sorted(rank_lines(ex.stdout)) == [(0, "0 3"), (1, "1 3")], ex.describe()
    assert in_queue(cluster, job)
    assert px_processes(k.tag)

    ex = ok(k.kc, "%ranks stop", timeout=60)
    assert "2 ranks stopped" in ex.stdout and f"job {job}" in ex.stdout, ex.stdout
    assert wait_for(lambda: not in_queue(cluster, job), 20, interval=0.2), in_queue(cluster, job)
    assert_no_ranks(k.tag)


def test_sbatch_job_ended_outside(cluster, sbatch_kernel):
    """scancel outside the notebook: the next %px says so, and nothing is left."""
    k = sbatch_kernel
    _, job = start_sbatch(k.kc)
    cluster.run("scancel", job)
    assert wait_for(lambda: not in_queue(cluster, job), 20, interval=0.2)
    assert_no_ranks(k.tag)
    ex = run(k.kc, "%px\nfmt.Println(1)", timeout=60)
    assert ex.status == "error", ex.describe()
    assert f"job {job}" in ex.error["evalue"] and "CANCELLED" in ex.error["evalue"], ex.error
    ex = run(k.kc, "%ranks", timeout=30)
    assert "no ranks run" in ex.stdout, ex.describe()


def test_sbatch_shutdown_cancels(cluster, tmp_path):
    tag = uuid.uuid4().hex
    k = start_kernel(tmp_path / "kernel.log", env={TAG: tag}, base=cluster.env, cwd=str(cluster.shared))
    try:
        _, job = start_sbatch(k.kc)
    finally:
        stop_kernel(k)
    assert wait_for(lambda: not in_queue(cluster, job), 20, interval=0.2), in_queue(cluster, job)
    assert_no_ranks(tag)
