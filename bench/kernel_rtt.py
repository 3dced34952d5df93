#!/usr/bin/env python3
"""Kernel round-trip benchmark: mpigo against ipykernel (7, from the project's venv).

For each kernel, in each of --rounds rounds (mpigo, then ipykernel):
  start-up    launching the kernel process (KernelManager.start_kernel) to the
              first kernel_info_reply, --starts starts per round
  round trip  the trivial cell `1+1` in one kernel: execute_request sent ->
              execute_reply received, and -> iopub status idle, --runs runs
              after --warmup warm-up runs
Printed: the median over rounds of each round's median, the mpigo/ipykernel
ratios, and the spread of the per-round ratios (a busy machine shows there).

Run it with the venv's Python, whose ipykernel it measures:

  .venv/bin/python bench/kernel_rtt.py [--rounds 3] [--runs 200] [--warmup 20]
      [--starts 5] [--mpigo-bin bin/mpigo] [--python PYTHON]

Both kernels get temporary kernel specs: mpigo's from `MPIGO install --prefix`,
ipykernel's from `PYTHON -m ipykernel install --prefix` (PYTHON: --python, by
default the interpreter running this script). Not a test: it never fails on speed.
"""

from __future__ import annotations

import argparse
import os
import platform
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchenv import ROOT, reexec_in_venv

reexec_in_venv(__file__)  # before importing jupyter_client: the venv's is measured

import jupyter_client
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

CODE = "1+1"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def wait_reply(kc, msg_id: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        msg = kc.get_shell_msg(timeout=max(0.001, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") == msg_id:
            return


def wait_idle(kc, msg_id: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        msg = kc.get_iopub_msg(timeout=max(0.001, deadline - time.monotonic()))
        if (
            msg["parent_header"].get("msg_id") == msg_id
            and msg["msg_type"] == "status"
            and msg["content"]["execution_state"] == "idle"
        ):
            return


def first_kernel_info(kc, t0: float, name: str, limit: float = 60) -> tuple[float, dict]:
    """Seconds from t0 (the kernel's launch) to its first kernel_info_reply,
    and that reply's content. Requests queue in ZeroMQ until the kernel
    binds; one is resent now and then in case one is lost, and the first
    reply to any of them counts."""
    next_send = 0.0
    while True:
        now = time.perf_counter()
        if now - t0 > limit:
            raise TimeoutError(f"{name}: no kernel_info_reply within {limit:g} s")
        if now >= next_send:
            kc.kernel_info()
            next_send = now + 0.5
        try:
            msg = kc.get_shell_msg(timeout=0.005)
        except queue.Empty:
            continue
        if msg["msg_type"] == "kernel_info_reply":
            return time.perf_counter() - t0, msg["content"]


def startup_time(kernel_name: str) -> tuple[float, dict]:
    """Seconds from launching the kernel to its first kernel_info_reply, and that reply's content."""
    km = KernelManager(kernel_name=kernel_name)
    t0 = time.perf_counter()
    km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kc = km.client()
    kc.start_channels()
    try:
        return first_kernel_info(kc, t0, kernel_name)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def time_execute(kc) -> tuple[float, float]:
    """Executes CODE once: seconds to its execute_reply and to its iopub idle."""
    t0 = time.perf_counter()
    msg_id = kc.execute(CODE, store_history=False)
    wait_reply(kc, msg_id)
    t1 = time.perf_counter()
    wait_idle(kc, msg_id)
    return t1 - t0, time.perf_counter() - t0


def round_trips(kernel_name: str, runs: int, warmup: int) -> tuple[list, list]:
    """Per-run seconds to execute_reply and to iopub idle."""
    km = KernelManager(kernel_name=kernel_name)
    km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        to_reply, to_idle = [], []
        for i in range(warmup + runs):
            reply, idle = time_execute(kc)
            if i >= warmup:
                to_reply.append(reply)
                to_idle.append(idle)
        return to_reply, to_idle
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def install_specs(tmp: Path, mpigo_bin: str, python: str) -> dict:
    """Installs temporary kernel specs under tmp; returns {label: kernel name}."""
    data = tmp / "share" / "jupyter"
    os.environ["JUPYTER_PATH"] = str(data)  # searched first: no installed spec can shadow ours
    subprocess.run([mpigo_bin, "install", "--prefix", str(tmp), "--name", "mpigo-bench"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(
        [python, "-m", "ipykernel", "install", "--prefix", str(tmp), "--name", "ipykernel-bench"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    ksm = KernelSpecManager()
    for name in ("mpigo-bench", "ipykernel-bench"):
        spec = ksm.get_kernel_spec(name)
        print(f"kernel spec {name}: {' '.join(spec.argv)}", file=sys.stderr)
    return {"mpigo": "mpigo-bench", "ipykernel": "ipykernel-bench"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--starts", type=int, default=5)
    ap.add_argument("--mpigo-bin", default=str(ROOT / "bin" / "mpigo"), help="mpigo binary to measure (default: bin/mpigo)")
    ap.add_argument("--python", default=sys.executable, help="Python whose ipykernel is measured (default: this one)")
    args = ap.parse_args()
    if not Path(args.mpigo_bin).exists():
        sys.exit(f"{args.mpigo_bin} not found: go build -o bin/mpigo ./cmd/mpigo, or pass --mpigo-bin")
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

    tmp = Path(tempfile.mkdtemp(prefix="mpigo-bench-"))
    starts = {"mpigo": [], "ipykernel": []}
    replies = {"mpigo": [], "ipykernel": []}
    idles = {"mpigo": [], "ipykernel": []}
    info = {}
    try:
        kernels = install_specs(tmp, args.mpigo_bin, args.python)
        for r in range(args.rounds):
            for label, name in kernels.items():
                print(f"round {r + 1}/{args.rounds}: {label} ...", file=sys.stderr, flush=True)
                s = []
                for _ in range(args.starts):
                    took, info[label] = startup_time(name)
                    s.append(took)
                to_reply, to_idle = round_trips(name, args.runs, args.warmup)
                starts[label].append(statistics.median(s))
                replies[label].append(statistics.median(to_reply))
                idles[label].append(statistics.median(to_idle))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    load = os.getloadavg()
    mpigo_version = subprocess.run([args.mpigo_bin, "version"], capture_output=True, text=True).stdout.strip()
    ipykernel_version = subprocess.run(
        [args.python, "-c", "import ipykernel; print(ipykernel.__version__)"], capture_output=True, text=True
    ).stdout.strip()
    print(
        f"\n{mpigo_version} (protocol {info['mpigo'].get('protocol_version')}) vs "
        f"ipykernel {ipykernel_version} (IPython {info['ipykernel'].get('implementation_version')}, "
        f"protocol {info['ipykernel'].get('protocol_version')}, "
        f"Python {info['ipykernel'].get('language_info', {}).get('version')}, {args.python}); "
        f"client jupyter_client {jupyter_client.__version__} on Python {platform.python_version()}"
    )
    print(f"{os.cpu_count()} CPUs; load average after the run {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(
        f"cell {CODE!r}: per round the median of {args.runs} runs after {args.warmup} warm-up, "
        f"start-up the median of {args.starts} starts; shown: the median of {args.rounds} rounds"
    )
    print(f"{'kernel':<12} {'start -> kernel_info':>22} {'execute -> reply':>18} {'execute -> idle':>18}")
    med = {k: (statistics.median(starts[k]), statistics.median(replies[k]), statistics.median(idles[k])) for k in kernels}
    for label, (start, reply, idle) in med.items():
        print(f"{label:<12} {ms(start):>22} {ms(reply):>18} {ms(idle):>18}")
    m, p = med["mpigo"], med["ipykernel"]
    print(f"{'mpigo/ipyk.':<12} {m[0] / p[0]:>21.2f}x {m[1] / p[1]:>17.2f}x {m[2] / p[2]:>17.2f}x")

    def spread(a, b):
        ratios = [x / y for x, y in zip(a, b)]
        return f"{min(ratios):.2f}-{max(ratios):.2f}x"

    print(
        f"{'per round':<12} {spread(starts['mpigo'], starts['ipykernel']):>22} "
        f"{spread(replies['mpigo'], replies['ipykernel']):>18} {spread(idles['mpigo'], idles['ipykernel']):>18}"
    )


if __name__ == "__main__":
    main()
