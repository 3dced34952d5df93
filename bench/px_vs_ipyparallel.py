#!/usr/bin/env python3
"""Persistent ranks, %ranks/%px, against ipyparallel 9 with MPI engines.

Not a test: it never fails on speed. Both sides are driven the way a notebook
drives them, through jupyter_client, from fresh kernels on this machine, and do
the same work on 4 ranks (every rank computes the sum of the ranks with an
allreduce and prints its rank, the size and that sum).

  mpigo        %ranks start -n 4 (the rank interpreter built before the rounds,
               so this is the start of the ranks themselves), then the cell
                 %px
                 comm := mpi.World
                 rank := comm.Rank()
                 sum := 0
                 comm.Allreduce(&rank, &sum, mpi.Sum)
                 fmt.Println("rank", rank, "of", comm.Size(), "sum", sum)
               once (first result) and --reruns times more (re-run); for
               reference the same work as a compiled %mpirun cell, re-run.
  ipyparallel  ipp.Cluster(engines="mpi", n=4).start_and_connect_sync(), then
               the same work as a %%px cell with mpi4py, first and re-run.
  allreduce    a 1M-element float64 Allreduce (mpi.Sum), timed with mpi.Wtime
               on rank 0 over 10 calls after one to warm up: in a %px cell
               (package mpi compiled into the rank interpreter) and in a
               compiled %mpirun cell.

Every time is wall-clock from execute_request to execute_reply; printed is the
median over --rounds rounds (re-run: the median of each round's median). The
target of issue 16: a %px re-run within 3x of ipyparallel's.

  .venv/bin/python bench/px_vs_ipyparallel.py [--rounds 3] [--reruns 7]
      [--mpigo-bin bin/mpigo] [--python PYTHON] [--deadline 1200]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from benchenv import ROOT, reexec_in_venv

reexec_in_venv(__file__)

from mpirun_vs_ipyparallel import (  # noqa: E402
    IPP_CELL,
    IPP_IMPORT,
    IPP_START,
    IPP_STOP,
    TAG_VAR,
    Deadline,
    Kernel,
    check,
    on_signal,
    out_of,
    reap,
)

WORK = """comm := mpi.World
rank := comm.Rank()
sum := 0
comm.Allreduce(&rank, &sum, mpi.Sum)
fmt.Println("rank", rank, "of", comm.Size(), "sum", sum)"""

ALLREDUCE = """buf := make([]float64, 1<<20)
out := make([]float64, 1<<20)
comm := mpi.World
comm.Allreduce(buf, out, mpi.Sum)
t0 := mpi.Wtime()
for r := 0; r < 10; r++ {
	comm.Allreduce(buf, out, mpi.Sum)
}
if comm.Rank() == 0 {
	fmt.Printf("allreduce_us %.1f\\n", (mpi.Wtime()-t0)/10*1e6)
}"""


def allreduce_us(out: str) -> float:
    m = re.search(r"allreduce_us ([0-9.]+)", out)
    if not m:
        raise RuntimeError(f"no timing in {out!r}")
    return float(m.group(1))


def mpigo_round(env: dict, reruns: int, log: Path) -> dict:
    res = {}
    k = Kernel("mpigo-bench", env, log)
    try:
        res["start"], _ = k.run("%ranks start -n 4")
        res["first"], out = k.run("%px\n" + WORK)
        check(out, "%px first")
        times = []
        for _ in range(reruns):
            took, out = k.run("%px\n" + WORK)
            check(out, "%px re-run")
            times.append(took)
        res["rerun"] = statistics.median(times)
        res["px_allreduce"] = allreduce_us(k.run("%px\n" + ALLREDUCE)[1])
        res["stop"], _ = k.run("%ranks stop")
        k.run("%mpirun -n 4\n" + WORK)  # built once, outside the timing
        times = []
        for _ in range(reruns):
            took, out = k.run("%mpirun -n 4\n" + WORK)
            check(out, "%mpirun re-run")
            times.append(took)
        res["mpirun_rerun"] = statistics.median(times)
        res["mpirun_allreduce"] = allreduce_us(k.run("%mpirun -n 4\n" + ALLREDUCE)[1])
    finally:
        k.close()
    return res


def ipp_round(env: dict, reruns: int, log: Path) -> dict:
    res = {}
    k = Kernel("ipykernel-bench", env, log)
    try:
        k.run(IPP_IMPORT)
        res["start"], _ = k.run(IPP_START)
        res["first"], out = k.run(IPP_CELL)
        check(out, "ipyparallel first %%px")
        times = []
        for _ in range(reruns):
            took, out = k.run(IPP_CELL)
            check(out, "ipyparallel re-run")
            times.append(took)
        res["rerun"] = statistics.median(times)
        res["stop"], _ = k.run(IPP_STOP)
    finally:
        k.close()
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reruns", type=int, default=7)
    ap.add_argument("--mpigo-bin", default=str(ROOT / "bin" / "mpigo"))
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--deadline", type=int, default=1200)
    args = ap.parse_args()
    mpigo = str(Path(args.mpigo_bin).resolve())
    if os.path.isdir("/usr/local/go/bin"):
        os.environ["PATH"] = "/usr/local/go/bin:" + os.environ["PATH"]
    tag = uuid.uuid4().hex
    os.environ[TAG_VAR] = tag
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    signal.alarm(args.deadline)
    work = Path(tempfile.mkdtemp(prefix="mpigo-px-vs-ipp-"))
    log = work / "kernels.log"
    rounds, killed, ok = [], 0, False
    try:
        os.environ["JUPYTER_PATH"] = str(work / "share" / "jupyter")
        subprocess.run([mpigo, "install", "--prefix", str(work), "--name", "mpigo-bench"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([args.python, "-m", "ipykernel", "install", "--prefix", str(work), "--name", "ipykernel-bench"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        go_env = dict(os.environ, MPIGO_WARM="0")
        ipp_env = dict(os.environ, IPYTHONDIR=str(work / "ipython"))
        if os.geteuid() == 0:
            ipp_env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
        if (os.cpu_count() or 1) < 4:
            ipp_env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
        # the rank interpreter and the %mpirun cells built before the rounds
        k = Kernel("mpigo-bench", go_env, log)
        try:
            k.run("%ranks start -n 4")
            k.run("%ranks stop")
        finally:
            k.close()
        for r in range(args.rounds):
            res = {}
            for side in (["mpigo", "ipyparallel"] if r % 2 == 0 else ["ipyparallel", "mpigo"]):
                print(f"round {r + 1}/{args.rounds}: {side} ...", file=sys.stderr, flush=True)
                res[side] = mpigo_round(go_env, args.reruns, log) if side == "mpigo" else ipp_round(ipp_env, args.reruns, log)
                killed += reap(tag, 15)
            rounds.append(res)
        ok = True
    except Deadline as e:
        print(f"{e}: no figures", file=sys.stderr)
    finally:
        signal.alarm(0)
        killed += reap(tag, 5)
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kernel logs kept in {log}", file=sys.stderr)
    if not ok:
        return 2

    def med(side, key):
        return statistics.median(r[side][key] for r in rounds)

    print(f"mpigo: {out_of([mpigo, 'version'])}; {out_of(['mpirun', '--version']).splitlines()[0]}; {os.cpu_count()} CPUs")
    print(f"median of {args.rounds} rounds, re-runs: median of {args.reruns}; processes left and killed: {killed}\n")
    rows = [
        ("start 4 ranks (%ranks start | ipp.Cluster start_and_connect_sync)", med("mpigo", "start"), med("ipyparallel", "start")),
        ("first result (%px | %%px)", med("mpigo", "first"), med("ipyparallel", "first")),
        ("re-run of the cell (%px | %%px)", med("mpigo", "rerun"), med("ipyparallel", "rerun")),
        ("re-run as a compiled %mpirun cell | %%px", med("mpigo", "mpirun_rerun"), med("ipyparallel", "rerun")),
        ("stop (%ranks stop | cluster.stop_cluster_sync)", med("mpigo", "stop"), med("ipyparallel", "stop")),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"  {'seconds':<{width}}  {'mpigo':>8}  {'ipypar.':>8}  {'ratio':>8}")
    for name, m, p in rows:
        print(f"  {name:<{width}}  {m:8.3f}  {p:8.3f}  {m / p:7.2f}x")
    px_ar, mr_ar = med("mpigo", "px_allreduce"), med("mpigo", "mpirun_allreduce")
    print(f"\n  1M-element Allreduce, rank 0, mean of 10: %px {px_ar:.1f} us, compiled %mpirun {mr_ar:.1f} us, "
          f"%px / %mpirun {px_ar / mr_ar:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
