#!/usr/bin/python3
"""Third-party packages in plain cells (not a test: it never fails on speed).

In one run:

  multiply     a 300x300 gonum mat.Dense multiply (c.Mul(a, b)), timed inside
               the code (time.Now around --reps multiplies, after one to warm up):
               (a) in a plain mpigo cell, gonum compiled into the interpreter,
               (b) the same code as a compiled Go program (go build),
               (c) yaegi interpreting gonum's source (GOPATH tree, build tag
                   noasm), the alternative to compiling packages in;
               ratios a/b (target <= 1.2) and c/b
  bring in     the first `import "gonum.org/v1/gonum/mat"` of a kernel with an
               empty mpigo cache (an interpreter is built: Go's build cache and
               module cache as they are), and the same in a new kernel with that
               cache (the interpreter is found built): execute_request to
               execute_reply

  bench/packages/bench.py [--mpigo-bin bin/mpigo] [--reps 20] [--no-yaegi]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "test" / "e2e"))

from benchenv import reexec_in_venv  # noqa: E402

reexec_in_venv(__file__)

import helpers  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402

GONUM = "gonum.org/v1/gonum"

SETUP = """\
const n = 300
da, db := make([]float64, n*n), make([]float64, n*n)
for i := range da {
	da[i], db[i] = float64(i%11)/10, float64(i%7)/10
}
a, b := mat.NewDense(n, n, da), mat.NewDense(n, n, db)
var c mat.Dense
c.Mul(a, b)
"""

TIMED = """\
start := time.Now()
for r := 0; r < {reps}; r++ {{
	c.Mul(a, b)
}}
fmt.Println("ns/op", time.Since(start).Nanoseconds()/{reps}, c.At(n-1, n-1))
"""


def program(reps: int) -> str:
    body = SETUP + TIMED.format(reps=reps)
    body = "\n".join("\t" + line if line else line for line in body.splitlines())
    return f'package main\n\nimport (\n\t"fmt"\n\t"time"\n\n\t"{GONUM}/mat"\n)\n\nfunc main() {{\n{body}\n}}\n'


def ns_per_op(out: str) -> float:
    m = re.search(r"ns/op (\d+)", out)
    if not m:
        raise RuntimeError(f"no timing in {out!r}")
    return float(m.group(1))


def go(args: list, cwd: Path, env: dict | None = None) -> str:
    return subprocess.run(["go", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def compiled(tmp: Path, reps: int) -> tuple[float, str]:
    """(ns per multiply, gonum version) of the program built with go build."""
    d = tmp / "compiled"
    d.mkdir()
    (d / "main.go").write_text(program(reps))
    go(["mod", "init", "bench.local/mul"], d)
    go(["get", f"{GONUM}@latest"], d)
    go(["build", "-o", "mul", "."], d)
    out = subprocess.run([str(d / "mul")], check=True, capture_output=True, text=True).stdout
    version = go(["list", "-m", "-f", "{{.Version}}", GONUM], d).strip()
    return ns_per_op(out), version


def yaegi_source(tmp: Path, reps: int) -> tuple[float | None, str]:
    """(ns per multiply or None, what happened) with yaegi interpreting gonum."""
    gopath = tmp / "gopath"
    moddir = go(["list", "-m", "-f", "{{.Dir}}", GONUM], tmp / "compiled").strip()
    shutil.copytree(moddir, gopath / "src" / GONUM)
    bin_ = tmp / "yaegisrc"
    go(["build", "-o", str(bin_), "./bench/packages/yaegisrc"], ROOT)
    (tmp / "mul.go").write_text(program(reps))
    t0 = time.perf_counter()
    p = subprocess.run([str(bin_), str(gopath), str(tmp / "mul.go")], capture_output=True, text=True, timeout=1800)
    took = time.perf_counter() - t0
    if p.returncode != 0:
        err = (p.stderr.strip().splitlines() or ["?"])[-1]
        return None, f"failed after {took:.1f} s: {err[:160]}"
    return ns_per_op(p.stdout), f"ran in {took:.1f} s"


class Kernel:
    def __init__(self, env: dict, log: Path):
        self.km = KernelManager(kernel_name="mpigo-bench")
        self.log = open(log, "ab")
        self.km.start_kernel(env=env, stdout=self.log, stderr=self.log)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def run(self, code: str, timeout: float = 1200):
        t0 = time.perf_counter()
        ex = helpers.run(self.kc, code, timeout=timeout)
        took = time.perf_counter() - t0
        if ex.status != "ok":
            raise RuntimeError(f"cell failed: {code!r}\n{ex.describe()}")
        return ex, took

    def close(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=False)
        self.log.close()


def plain_cell(tmp: Path, reps: int) -> tuple[float, float, float]:
    """(first bring-in s, cached bring-in s, ns per multiply in a plain cell)."""
    env = dict(os.environ, MPIGO_WARM="0", XDG_CACHE_HOME=str(tmp / "cache"))
    imp = f'import "{GONUM}/mat"'
    k = Kernel(env, tmp / "kernel1.log")
    try:
        first = k.run(imp)[1]
    finally:
        k.close()
    k = Kernel(env, tmp / "kernel2.log")
    try:
        cached = k.run(imp)[1]
        k.run(SETUP)
        ex, _ = k.run(TIMED.format(reps=reps))
        return first, cached, ns_per_op(ex.stdout)
    finally:
        k.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mpigo-bin", default=str(ROOT / "bin" / "mpigo"))
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--no-yaegi", action="store_true", help="skip yaegi interpreting gonum's source (slow)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mpigo-bench-packages-"))
    try:
        subprocess.run([args.mpigo_bin, "install", "--prefix", str(tmp / "prefix"), "--name", "mpigo-bench"], check=True, stdout=subprocess.DEVNULL)
        os.environ["JUPYTER_PATH"] = str(tmp / "prefix" / "share" / "jupyter")
        comp, version = compiled(tmp, args.reps)
        first, cached, plain = plain_cell(tmp, args.reps)
        rows = [
            (f"300x300 Mul, compiled program (gonum {version})", f"{comp / 1e6:9.2f} ms", ""),
            ("300x300 Mul, plain mpigo cell", f"{plain / 1e6:9.2f} ms", f"cell / compiled {plain / comp:6.2f} x (target <= 1.2)"),
        ]
        if not args.no_yaegi:
            ys, what = yaegi_source(tmp, 1)
            if ys is None:
                rows.append(("300x300 Mul, yaegi interpreting gonum's source", "-", what))
            else:
                rows.append(("300x300 Mul, yaegi interpreting gonum's source", f"{ys / 1e6:9.2f} ms", f"yaegi / compiled {ys / comp:6.1f} x ({what})"))
        rows += [
            ("bring in gonum/mat, first time (interpreter built)", f"{first:9.2f} s", ""),
            ("bring in gonum/mat, second kernel (cached)", f"{cached:9.2f} s", f"first / cached {first / cached:6.1f} x"),
        ]
        for name, value, note in rows:
            print(f"{name:52} {value:>12}   {note}")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
