#!/usr/bin/python3
"""Kernel round-trip benchmark: mpigo against Debian's ipykernel.

For each kernel: the median time from launching the kernel process to the
first kernel_info_reply (over --starts starts), and the median round trip of a
trivial cell `1+1` (execute_request sent -> execute_reply received, and ->
iopub status idle) over --runs runs after --warmup warm-up runs.

Run with Debian's Python: /usr/bin/python3 bench/kernel_rtt.py
It uses the installed "mpigo" kernel spec unless --mpigo-bin is given (then a
temporary spec for that binary is installed). Not a test: it never fails on speed.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parents[1]
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


def startup_time(kernel_name: str) -> float:
    """Seconds from launching the kernel to its first kernel_info_reply."""
    km = KernelManager(kernel_name=kernel_name)
    t0 = time.perf_counter()
    km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kc = km.client()
    kc.start_channels()
    try:
        # requests queue in ZeroMQ until the kernel binds; resend now and then
        # in case one is lost, and take the first reply to any of them
        next_send = 0.0
        while True:
            now = time.perf_counter()
            if now - t0 > 60:
                raise TimeoutError(f"{kernel_name}: no kernel_info_reply within 60 s")
            if now >= next_send:
                kc.kernel_info()
                next_send = now + 0.5
            try:
                msg = kc.get_shell_msg(timeout=0.01)
            except queue.Empty:
                continue
            if msg["msg_type"] == "kernel_info_reply":
                break
        return time.perf_counter() - t0
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


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
            t0 = time.perf_counter()
            msg_id = kc.execute(CODE, store_history=False)
            wait_reply(kc, msg_id)
            t1 = time.perf_counter()
            wait_idle(kc, msg_id)
            t2 = time.perf_counter()
            if i >= warmup:
                to_reply.append(t1 - t0)
                to_idle.append(t2 - t0)
        return to_reply, to_idle
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def ensure_specs(tmp: Path, mpigo_bin: str | None) -> dict:
    """Returns {label: kernel name}, installing temporary specs where needed."""
    data = tmp / "share" / "jupyter"
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(data), os.environ.get("JUPYTER_PATH")]))
    if mpigo_bin:
        subprocess.run([mpigo_bin, "install", "--prefix", str(tmp), "--name", "mpigo-bench"], check=True)
        mpigo = "mpigo-bench"
    else:
        mpigo = "mpigo"
    ksm = KernelSpecManager()
    for name in (mpigo,):
        try:
            ksm.get_kernel_spec(name)
        except NoSuchKernel:
            sys.exit(f"no {name!r} kernel spec: run install/setup.sh, or pass --mpigo-bin bin/mpigo")
    try:
        ksm.get_kernel_spec("python3")
        python = "python3"
    except NoSuchKernel:
        spec_dir = data / "kernels" / "python3-bench"
        spec_dir.mkdir(parents=True)
        (spec_dir / "kernel.json").write_text(
            json.dumps(
                {
                    "argv": ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                    "display_name": "Python 3 (bench)",
                    "language": "python",
                    "env": {"PYDEVD_DISABLE_FILE_VALIDATION": "1"},
                }
            )
        )
        python = "python3-bench"
    return {"mpigo": mpigo, "ipykernel": python}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--starts", type=int, default=5)
    default_bin = ROOT / "bin" / "mpigo"
    ap.add_argument(
        "--mpigo-bin",
        default=str(default_bin) if default_bin.exists() else None,
        help="mpigo binary to measure (default: bin/mpigo if built, else the installed mpigo kernel spec)",
    )
    args = ap.parse_args()
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

    tmp = Path(tempfile.mkdtemp(prefix="mpigo-bench-"))
    try:
        kernels = ensure_specs(tmp, args.mpigo_bin)
        rows = {}
        for label, name in kernels.items():
            print(f"measuring {label} (kernel {name}) ...", file=sys.stderr, flush=True)
            starts = [startup_time(name) for _ in range(args.starts)]
            to_reply, to_idle = round_trips(name, args.runs, args.warmup)
            rows[label] = (statistics.median(starts), statistics.median(to_reply), statistics.median(to_idle))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\ncell {CODE!r}: median of {args.runs} runs after {args.warmup} warm-up; start-up: median of {args.starts}")
    print(f"{'kernel':<12} {'start -> kernel_info':>22} {'execute -> reply':>18} {'execute -> idle':>18}")
    for label, (start, reply, idle) in rows.items():
        print(f"{label:<12} {ms(start):>22} {ms(reply):>18} {ms(idle):>18}")
    m, p = rows["mpigo"], rows["ipykernel"]
    print(
        f"{'mpigo/ipyk.':<12} {m[0] / p[0]:>21.2f}x {m[1] / p[1]:>17.2f}x {m[2] / p[2]:>17.2f}x"
    )


if __name__ == "__main__":
    main()
