#!/usr/bin/env python3
"""%mpirun -n 4 against ipyparallel 9 (engines="mpi", n=4): start, first result, re-run.

Not a test: it never fails on speed. Both sides are driven the way a notebook
drives them, through jupyter_client, each from a fresh kernel, on this machine
(127.0.0.1 only), doing the same work on 4 ranks: every rank computes the sum
of the ranks with an allreduce and prints its rank, the size and that sum.

  mpigo       a fresh mpigo kernel runs one cell
                %mpirun -n 4
                comm := mpi.World
                rank := comm.Rank()
                sum := 0
                comm.Allreduce(&rank, &sum, mpi.Sum)
                fmt.Println("rank", rank, "of", comm.Size(), "sum", sum)
              three ways: (a) cold build: an empty mpigo cache, Go's build cache
              warm (the first %mpirun of a user who has used Go before);
              (b) a cell never built before (one constant added) with the mpigo
              cache warm (the usual case: a new cell); (c) fully cached: the cell
              of (a) again in a new kernel. Then the cell of (a) again in the same
              kernel, --reruns times (re-run).
  ipyparallel a fresh ipykernel (the venv's, running ipyparallel) runs
                import ipyparallel as ipp
                cluster = ipp.Cluster(engines="mpi", n=4)
                rc = cluster.start_and_connect_sync()
              then the cell
                %%px
                from mpi4py import MPI
                comm = MPI.COMM_WORLD
                print("rank", comm.rank, "of", comm.size, "sum", comm.allreduce(comm.rank))
              once (first result) and --reruns times more (re-run), then
              cluster.stop_cluster_sync().
  reference   the same mpi4py code as a plain job, `mpirun -n 4 python -c ...`
              (no kernel, no ipyparallel), --reruns times: what one MPI job per
              cell costs in Python, as %mpirun runs one per cell.

Every time is wall-clock from sending execute_request to receiving its
execute_reply; kernel start is from launching the kernel process to its first
kernel_info_reply. Each round does all of the above (the two sides in
alternating order); printed is the median over --rounds rounds (re-run: the
median of each round's median), and mpigo/ipyparallel ratios.

The ipyparallel engines are started by Open MPI's mpiexec, which on this
machine may need: as root OMPI_ALLOW_RUN_AS_ROOT=1 and
OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1, and with fewer than 4 CPUs
OMPI_MCA_rmaps_base_oversubscribe=1; they are set in the ipykernel's
environment when needed (mpigo's %mpirun does the same by itself).

Every process the run starts carries a marker in its environment; at the end
(and on an error, Ctrl-C, SIGTERM or the --deadline) any of them still alive
(engines, nannies, controller, mpirun, ranks, kernels) is killed, and the
count of stragglers is printed.

  .venv/bin/python bench/mpirun_vs_ipyparallel.py [--rounds 3] [--reruns 5]
      [--mpigo-bin bin/mpigo] [--python PYTHON] [--deadline 1200]
"""

from __future__ import annotations

import argparse
import os
import platform
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from benchenv import ROOT, reexec_in_venv

reexec_in_venv(__file__)  # before importing jupyter_client: the venv's is measured

import jupyter_client
from jupyter_client.manager import KernelManager
from kernel_rtt import first_kernel_info

TAG_VAR = "MPIGO_BENCH_TAG"

GO_CELL = """%mpirun -n 4
{extra}comm := mpi.World
rank := comm.Rank()
sum := 0
comm.Allreduce(&rank, &sum, mpi.Sum)
fmt.Println("rank", rank, "of", comm.Size(), "sum", sum)"""

IPP_IMPORT = "import ipyparallel as ipp"
IPP_START = 'cluster = ipp.Cluster(engines="mpi", n=4)\nrc = cluster.start_and_connect_sync()'
IPP_CELL = """%%px
from mpi4py import MPI
comm = MPI.COMM_WORLD
print("rank", comm.rank, "of", comm.size, "sum", comm.allreduce(comm.rank))"""
IPP_STOP = "cluster.stop_cluster_sync()"

EXPECTED = {f"rank {r} of 4 sum 6" for r in range(4)}


class Deadline(Exception):
    pass


def on_signal(signum, frame):
    raise Deadline(f"stopped by signal {signum} (--deadline or SIGTERM)")


# ---------------------------------------------------------------- processes


def tagged_pids(tag: str) -> list[int]:
    """Live processes whose environment carries this run's marker."""
    marker = f"{TAG_VAR}={tag}".encode()
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            if marker in (d / "environ").read_bytes().split(b"\0"):
                state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    pids.append(int(d.name))
        except OSError:
            continue
    return pids


def reap(tag: str, wait: float) -> int:
    """Waits up to `wait` s for the marked processes to end, then kills those left
    (by pid: TERM, then KILL); returns how many had to be killed."""
    deadline = time.monotonic() + wait
    while tagged_pids(tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = tagged_pids(tag)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in left:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        t = time.monotonic() + 3
        while tagged_pids(tag) and time.monotonic() < t:
            time.sleep(0.1)
        if not tagged_pids(tag):
            break
    return len(left)


# ---------------------------------------------------------------- kernels


class Kernel:
    """A kernel started through jupyter_client; start = launch -> first kernel_info_reply."""

    def __init__(self, name: str, env: dict, log: Path):
        self.log = open(log, "ab")
        self.km = KernelManager(kernel_name=name)
        t0 = time.perf_counter()
        self.km.start_kernel(env=env, stdout=self.log, stderr=self.log)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.start, self.info = first_kernel_info(self.kc, t0, name, limit=120)
        # let the other kernel_info replies and the start-up iopub messages drain
        time.sleep(0.2)
        for get in (self.kc.get_shell_msg, self.kc.get_iopub_msg):
            while True:
                try:
                    get(timeout=0.01)
                except queue.Empty:
                    break

    def run(self, code: str, timeout: float = 300) -> tuple[float, str]:
        """Executes code; returns (seconds from execute_request to execute_reply, its output:
        stdout and text/plain display data).
        Raises when the cell fails."""
        t0 = time.perf_counter()
        msg_id = self.kc.execute(code)
        deadline = t0 + timeout
        reply, took, idle, out, err = None, None, False, [], []
        while reply is None or not idle:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no reply within {timeout} s for {code!r}; output so far {''.join(out + err)!r}")
            try:
                msg = self.kc.get_shell_msg(timeout=0.002)
                if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_reply":
                    took = time.perf_counter() - t0
                    reply = msg["content"]
            except queue.Empty:
                pass
            while True:
                try:
                    msg = self.kc.get_iopub_msg(timeout=0.002 if reply is not None else 0)
                except queue.Empty:
                    break
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                t, c = msg["msg_type"], msg["content"]
                if t == "stream":
                    (out if c["name"] == "stdout" else err).append(c["text"])
                elif t in ("display_data", "update_display_data"):  # %%px shows engines' output so
                    out.append(c["data"].get("text/plain", "") + "\n")
                elif t == "error":
                    err.append("\n".join(c.get("traceback") or [c.get("evalue", "")]))
                elif t == "status" and c["execution_state"] == "idle":
                    idle = True
        if reply["status"] != "ok":
            raise RuntimeError(f"cell failed: {code!r}\n{''.join(err)}")
        return took, "".join(out)

    def close(self) -> None:
        try:
            self.kc.stop_channels()
            self.km.shutdown_kernel(now=False)
        finally:
            self.log.close()


def check(out: str, what: str) -> None:
    """The cell printed what every rank should (mpigo: '[rank N] ...'; %%px: '[stdout:N] ...')."""
    got = {m.group(3) for m in re.finditer(r"^\[(rank |stdout:)(\d)\] (rank \2 of 4 sum 6)$", out, re.M)}
    if got != EXPECTED:
        raise RuntimeError(f"{what}: expected {sorted(EXPECTED)} in the output, got:\n{out}")


def built_in(out: str) -> float:
    """The build time %mpirun reports on its last progress line ('built in 2.76 s'), 0 when cached."""
    m = re.search(r"built in ([0-9.]+) s", out)
    return float(m.group(1)) if m else 0.0


# ---------------------------------------------------------------- the two sides


def mpigo_round(base_env: dict, work: Path, rnd: int, reruns: int, log: Path) -> dict:
    env = dict(base_env, XDG_CACHE_HOME=str(work / f"mpigo-cache-{rnd}"))  # an empty mpigo cache
    res = {}
    k = Kernel("mpigo-bench", env, log)
    try:
        res["start"] = k.start
        res["first_cold"], out = k.run(GO_CELL.format(extra=""))
        check(out, "mpigo cold build")
        res["build_cold"] = built_in(out)
        reruns_t = []
        for _ in range(reruns):
            took, out = k.run(GO_CELL.format(extra=""))
            check(out, "mpigo re-run")
            reruns_t.append(took)
        res["rerun"] = statistics.median(reruns_t)
    finally:
        k.close()
    k = Kernel("mpigo-bench", env, log)
    try:
        res["start_new"] = k.start
        res["first_new"], out = k.run(GO_CELL.format(extra=f"const build = {time.time_ns()}\n"))
        check(out, "mpigo new cell")
        res["build_new"] = built_in(out)
    finally:
        k.close()
    k = Kernel("mpigo-bench", env, log)
    try:
        res["start_cached"] = k.start
        res["first_cached"], out = k.run(GO_CELL.format(extra=""))
        check(out, "mpigo cached")
    finally:
        k.close()
    return res


def ipp_round(base_env: dict, reruns: int, log: Path) -> dict:
    res = {}
    k = Kernel("ipykernel-bench", base_env, log)
    try:
        res["start"] = k.start
        res["import"], _ = k.run(IPP_IMPORT)
        res["cluster"], _ = k.run(IPP_START)
        res["first"], out = k.run(IPP_CELL)
        check(out, "ipyparallel first %%px")
        reruns_t = []
        for _ in range(reruns):
            took, out = k.run(IPP_CELL)
            check(out, "ipyparallel re-run")
            reruns_t.append(took)
        res["rerun"] = statistics.median(reruns_t)
        res["stop"], _ = k.run(IPP_STOP)
    finally:
        k.close()
    return res


def mpi4py_job_round(env: dict, python: str, reruns: int) -> float:
    """Reference: the %%px cell's work as a plain MPI job, `mpirun -n 4 python -c ...`, no
    kernel and no ipyparallel (what a job per cell costs in Python); median of reruns."""
    cmd = ["mpirun", "-n", "4", python, "-c", IPP_CELL.split("\n", 1)[1]]
    times = []
    for _ in range(reruns):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        times.append(time.perf_counter() - t0)
        # the ranks' prints may interleave mid-line in mpirun's output: compare the characters
        if r.returncode != 0 or sorted(r.stdout) != sorted("".join(line + "\n" for line in EXPECTED)):
            raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stdout}{r.stderr}")
    return statistics.median(times)


# ---------------------------------------------------------------- main


def out_of(cmd: list, env=None) -> str:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
        return (r.stdout or r.stderr).strip()
    except OSError as e:
        return f"({e})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reruns", type=int, default=5, help="re-runs of the cell per round (median taken)")
    ap.add_argument("--mpigo-bin", default=str(ROOT / "bin" / "mpigo"))
    ap.add_argument("--python", default=sys.executable, help="Python whose ipykernel and ipyparallel run (default: this one)")
    ap.add_argument("--deadline", type=int, default=1200, help="stop the whole run after this many seconds")
    args = ap.parse_args()
    mpigo = str(Path(args.mpigo_bin).resolve())
    if not Path(mpigo).exists():
        sys.exit(f"{mpigo} not found: go build -o bin/mpigo ./cmd/mpigo, or pass --mpigo-bin")
    if os.path.isdir("/usr/local/go/bin"):
        os.environ["PATH"] = "/usr/local/go/bin:" + os.environ["PATH"]
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

    tag = uuid.uuid4().hex
    os.environ[TAG_VAR] = tag  # inherited by every kernel, and so by everything they start
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    signal.alarm(args.deadline)

    work = Path(tempfile.mkdtemp(prefix="mpigo-vs-ipp-"))
    log = work / "kernels.log"
    killed = 0
    load_before = os.getloadavg()
    rounds = []
    ok = False
    try:
        data = work / "share" / "jupyter"
        os.environ["JUPYTER_PATH"] = str(data)  # searched first: our two specs
        subprocess.run([mpigo, "install", "--prefix", str(work), "--name", "mpigo-bench"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(
            [args.python, "-m", "ipykernel", "install", "--prefix", str(work), "--name", "ipykernel-bench"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        go_env = dict(os.environ)
        go_env.setdefault("GOCACHE", out_of(["go", "env", "GOCACHE"]))  # Go's build cache: the user's, warm
        ipp_env = dict(os.environ, IPYTHONDIR=str(work / "ipython"))  # a fresh IPython profile
        mpi_env = {}
        if os.geteuid() == 0:
            mpi_env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
        if (os.cpu_count() or 1) < 4:
            mpi_env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
        ipp_env.update(mpi_env)

        versions = {
            "mpigo": out_of([mpigo, "version"]),
            "go": out_of(["go", "version"]),
            "mpirun": out_of(["mpirun", "--version"]).splitlines()[0],
            "python side": out_of([
                args.python, "-c",
                "import sys, ipykernel, ipyparallel, IPython, mpi4py; mpi4py.rc.initialize = False; "
                "from mpi4py import MPI; "
                "print(f'ipykernel {ipykernel.__version__}, ipyparallel {ipyparallel.__version__}, "
                "IPython {IPython.__version__}, mpi4py {mpi4py.__version__} on '"
                "+ MPI.Get_library_version().splitlines()[0].split(',')[0].strip(' \\0') + f', Python {sys.version.split()[0]} ({sys.executable})')",
            ], env=ipp_env),
            "client": f"jupyter_client {jupyter_client.__version__}, Python {platform.python_version()}",
        }
        print(f"uptime before: {out_of(['uptime'])}", flush=True)

        for r in range(args.rounds):
            sides = ["mpigo", "ipyparallel"] if r % 2 == 0 else ["ipyparallel", "mpigo"]
            res = {}
            for side in sides:
                print(f"round {r + 1}/{args.rounds}: {side} ...", file=sys.stderr, flush=True)
                if side == "mpigo":
                    res[side] = mpigo_round(go_env, work, r, args.reruns, log)
                else:
                    res[side] = ipp_round(ipp_env, args.reruns, log)
                    res[side]["job"] = mpi4py_job_round(ipp_env, args.python, args.reruns)
                n = reap(tag, 15)
                killed += n
                if n:
                    print(f"  {n} process(es) of {side} still alive 15 s after its kernel shut down: killed", file=sys.stderr)
            rounds.append(res)
            m, p = res["mpigo"], res["ipyparallel"]
            print(
                f"  round {r + 1}: mpigo start {m['start']:.2f} cold {m['first_cold']:.2f} (build {m['build_cold']:.2f}) "
                f"new cell {m['first_new']:.2f} (build {m['build_new']:.2f}) "
                f"cached {m['first_cached']:.2f} re-run {m['rerun']:.3f} | ipyparallel start {p['start']:.2f} "
                f"import {p['import']:.2f} cluster {p['cluster']:.2f} first {p['first']:.3f} re-run {p['rerun']:.3f} "
                f"stop {p['stop']:.2f} | mpirun python job {p['job']:.3f}",
                file=sys.stderr, flush=True,
            )
        ok = True
    except Deadline as e:
        print(f"{e}: no figures", file=sys.stderr)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        n = reap(tag, 5)
        killed += n
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"{n} process(es) of this run still alive at the end: killed; kernel logs kept in {log}", file=sys.stderr)
    if not ok:
        return 2

    def med(side, key):
        return statistics.median(r[side][key] for r in rounds)

    def medsum(side, *keys):
        return statistics.median(sum(r[side][k] for k in keys) for r in rounds)

    ipp_total = medsum("ipyparallel", "start", "import", "cluster", "first")
    rows = [
        ("kernel start (launch -> kernel_info_reply)", med("mpigo", "start"), med("ipyparallel", "start")),
        ("cell `import ipyparallel as ipp`", None, med("ipyparallel", "import")),
        ("cell `cluster = ipp.Cluster(engines=\"mpi\", n=4); rc = cluster.start_and_connect_sync()`", None, med("ipyparallel", "cluster")),
        ("first %%px cell", None, med("ipyparallel", "first")),
        ("first %mpirun cell, cold build (empty mpigo cache, Go cache warm)", med("mpigo", "first_cold"), None),
        ("  of which building, as %mpirun reports it", med("mpigo", "build_cold"), None),
        ("first %mpirun cell, new cell (mpigo cache warm)", med("mpigo", "first_new"), None),
        ("  of which building, as %mpirun reports it", med("mpigo", "build_new"), None),
        ("first %mpirun cell, fully cached", med("mpigo", "first_cached"), None),
        ("fresh kernel -> first result: mpigo cold build | ipyparallel", medsum("mpigo", "start", "first_cold"), ipp_total),
        ("fresh kernel -> first result: mpigo new cell | ipyparallel", medsum("mpigo", "start_new", "first_new"), ipp_total),
        ("fresh kernel -> first result: mpigo fully cached | ipyparallel", medsum("mpigo", "start_cached", "first_cached"), ipp_total),
        ("re-run of the same cell (%mpirun | %%px)", med("mpigo", "rerun"), med("ipyparallel", "rerun")),
        ("cell `cluster.stop_cluster_sync()`", None, med("ipyparallel", "stop")),
    ]

    load_after = os.getloadavg()
    print()
    for k, v in versions.items():
        print(f"{k}: {v}")
    print(f"{os.cpu_count()} CPUs; load average before {' '.join(f'{x:.2f}' for x in load_before)}, "
          f"after {' '.join(f'{x:.2f}' for x in load_after)}")
    if mpi_env:
        print("ipyparallel's mpiexec environment: " + " ".join(f"{k}={v}" for k, v in mpi_env.items()))
    print(f"median of {args.rounds} rounds; re-run: median of {args.reruns} per round; "
          f"processes left after a kernel shut down and killed: {killed}")
    print()
    width = max(len(r[0]) for r in rows)
    print(f"  {'seconds, execute_request -> execute_reply':<{width}}  {'mpigo':>8}  {'ipypar.':>8}  {'mpigo/ipp':>9}")
    for name, m, p in rows:
        ms = f"{m:8.3f}" if m is not None else f"{'':8}"
        ps = f"{p:8.3f}" if p is not None else f"{'':8}"
        ratio = f"{m / p:8.2f}x" if m is not None and p is not None else ""
        print(f"  {name:<{width}}  {ms}  {ps}  {ratio:>9}")
    print(f"\n  reference, neither kernel: the %%px cell's code as a plain MPI job, "
          f"`mpirun -n 4 python -c ...`: {med('ipyparallel', 'job'):.3f} s (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
