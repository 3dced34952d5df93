#!/usr/bin/env python3
"""mpigo against the null kernel (and ipykernel 7): execute round trip and start-up.

The null kernel (bench/nullkernel) is mpigo's own kernel package, zmq4
transport and protocol code included, with an engine that evaluates nothing:
what mpigo costs above it is the interpreter and the hop to its worker
process. The kernels are measured alternately in one run, so that a load that
comes and goes on the machine falls on all of them alike:

  round trip  the cell `1+1`, execute_request sent -> execute_reply received,
              and -> iopub status idle; the kernels run side by side and each
              run executes the cell once in every kernel, the order rotating
              from run to run; --runs runs after --warmup warm-up runs
  start-up    launching the kernel process (KernelManager.start_kernel) to
              its first kernel_info_reply, --starts starts of each kernel,
              alternating; starts that took 100 ms or more are counted (a
              client that connects before the kernel's shell port is bound
              waits for libzmq's reconnect interval, 100 ms)

Printed: medians, and the ratios mpigo/null and mpigo/ipykernel.

  .venv/bin/python bench/null_rtt.py [--runs 500] [--warmup 50] [--starts 20]
      [--mpigo-bin [LABEL=]PATH ...] [--null-bin PATH] [--python PYTHON]

--mpigo-bin may be given more than once (e.g. before=/tmp/a after=/tmp/b) to
compare builds in the same run. Without --null-bin the null kernel is built
with `go build` into a temporary directory. Not a test: it never fails on speed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchenv import ROOT, reexec_in_venv

reexec_in_venv(__file__)  # before importing jupyter_client: the venv's is measured

import jupyter_client
from jupyter_client.manager import KernelManager

from kernel_rtt import CODE, startup_time, time_execute

SLOW_START = 0.100  # libzmq's default reconnect interval


def install_specs(tmp: Path, mpigo_bins: dict, null_bin: str, python: str) -> dict:
    """Writes temporary kernel specs under tmp; returns {label: kernel name}."""
    data = tmp / "share" / "jupyter"
    os.environ["JUPYTER_PATH"] = str(data)  # searched first: no installed spec can shadow ours
    kernels = {}
    for label, path in mpigo_bins.items():
        name = f"mpigo-bench-{label}"
        subprocess.run([path, "install", "--prefix", str(tmp), "--name", name], check=True, stdout=subprocess.DEVNULL)
        kernels[label] = name
    spec = data / "kernels" / "null-bench"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [null_bin, "{connection_file}"], "display_name": "null", "language": "go",
        "interrupt_mode": "message",
    }))
    kernels["null"] = "null-bench"
    subprocess.run(
        [python, "-m", "ipykernel", "install", "--prefix", str(tmp), "--name", "ipykernel-bench"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    kernels["ipykernel"] = "ipykernel-bench"
    return kernels


def round_trips(kernels: dict, runs: int, warmup: int) -> tuple[dict, dict]:
    """Per-kernel lists of seconds to execute_reply and to iopub idle, the
    kernels running side by side and taking turns."""
    started = {}
    try:
        for label, name in kernels.items():
            km = KernelManager(kernel_name=name)
            km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            kc = km.client()
            kc.start_channels()
            started[label] = (km, kc)
            kc.wait_for_ready(timeout=60)
        labels = list(kernels)
        to_reply = {k: [] for k in labels}
        to_idle = {k: [] for k in labels}
        for i in range(warmup + runs):
            for j in range(len(labels)):
                label = labels[(i + j) % len(labels)]
                reply, idle = time_execute(started[label][1])
                if i >= warmup:
                    to_reply[label].append(reply)
                    to_idle[label].append(idle)
        return to_reply, to_idle
    finally:
        for km, kc in started.values():
            kc.stop_channels()
            km.shutdown_kernel(now=True)


def startups(kernels: dict, starts: int) -> dict:
    """Per-kernel lists of seconds from launch to the first kernel_info_reply."""
    labels = list(kernels)
    out = {k: [] for k in labels}
    for i in range(starts):
        for j in range(len(labels)):
            label = labels[(i + j) % len(labels)]
            out[label].append(startup_time(kernels[label])[0])
    return out


def parse_bins(values: list[str]) -> dict:
    bins = {}
    for v in values or [str(ROOT / "bin" / "mpigo")]:
        label, sep, path = v.partition("=")
        if not sep:
            label, path = "mpigo", v
        if not Path(path).exists():
            sys.exit(f"{path} not found: go build -o bin/mpigo ./cmd/mpigo, or pass --mpigo-bin")
        bins[label] = str(Path(path).resolve())
    return bins


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--starts", type=int, default=20)
    ap.add_argument("--mpigo-bin", action="append", help="[LABEL=]PATH of an mpigo binary (default: bin/mpigo); repeatable")
    ap.add_argument("--null-bin", help="null kernel binary (default: built from bench/nullkernel)")
    ap.add_argument("--python", default=sys.executable, help="Python whose ipykernel is measured (default: this one)")
    args = ap.parse_args()
    bins = parse_bins(args.mpigo_bin)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

    tmp = Path(tempfile.mkdtemp(prefix="mpigo-null-bench-"))
    try:
        null_bin = args.null_bin
        if not null_bin:
            null_bin = str(tmp / "nullkernel")
            subprocess.run(["go", "build", "-o", null_bin, "./bench/nullkernel"], cwd=ROOT, check=True)
        kernels = install_specs(tmp, bins, null_bin, args.python)
        before = os.getloadavg()
        print(f"round trips: {', '.join(kernels)} ...", file=sys.stderr, flush=True)
        to_reply, to_idle = round_trips(kernels, args.runs, args.warmup)
        print("start-ups ...", file=sys.stderr, flush=True)
        start = startups(kernels, args.starts)
        after = os.getloadavg()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(bins, kernels, to_reply, to_idle, start, args, before, after)


def report(bins, kernels, to_reply, to_idle, start, args, before, after) -> None:
    def ms(s: float) -> str:
        return f"{s * 1000:.2f} ms"

    for label, path in bins.items():
        v = subprocess.run([path, "version"], capture_output=True, text=True).stdout.strip()
        print(f"{label}: {path}: {v}")
    print(f"client jupyter_client {jupyter_client.__version__} on Python {platform.python_version()}; "
          f"{os.cpu_count()} CPUs; load average before {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}, "
          f"after {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}")
    print(f"cell {CODE!r}: median of {args.runs} runs per kernel after {args.warmup} warm-up, kernels taking turns; "
          f"start-up: median of {args.starts} starts per kernel, alternating")
    print(f"{'kernel':<12} {'execute -> reply':>17} {'execute -> idle':>16} {'start -> kernel_info':>21} {'starts >= 100 ms':>17}")
    med = {}
    for label in kernels:
        med[label] = (statistics.median(to_reply[label]), statistics.median(to_idle[label]), statistics.median(start[label]))
        slow = sum(1 for s in start[label] if s >= SLOW_START)
        print(f"{label:<12} {ms(med[label][0]):>17} {ms(med[label][1]):>16} {ms(med[label][2]):>21} {slow:>8} of {len(start[label]):<3}")
    for label in bins:
        for ref in ("null", "ipykernel"):
            r = [a / b for a, b in zip(med[label], med[ref])]
            print(f"{label + '/' + ref:<12} {r[0]:>16.2f}x {r[1]:>15.2f}x {r[2]:>20.2f}x")


if __name__ == "__main__":
    main()
