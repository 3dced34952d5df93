#!/usr/bin/python3
"""Third-party packages in plain cells (not a test: it never fails on speed).

In one run:

  multiply     a 300x300 gonum mat.Dense multiply (c.Mul(a, b)), timed inside
               the code (time.Now around --reps multiplies, after one to warm up):
               (a) in a plain mpigo cell, gonum compiled into the interpreter,
               (b) the same code as a compiled Go program (go build),
               (c) yaegi interpreting gonum's source (GOPATH tree, build tag
                   noasm), the alternative to compiling packages in: yaegi
                   v0.16 cannot interpret gonum v0.15 or later (min, max), so
                   --yaegi-gonum (v0.14.0) is measured after the latest fails;
               ratios a/b (target <= 1.2) and c/b
  bring in     the first `import "gonum.org/v1/gonum/mat"` of a kernel with an
               empty mpigo cache (an interpreter is built), with Go's build cache
               warm (the user's) and empty; and the same in a new kernel with the
               mpigo cache filled (the interpreter is found built):
               execute_request to execute_reply. The module cache is the user's.

  bench/packages/bench.py [--mpigo-bin bin/mpigo] [--reps 20] [--no-yaegi]
                          [--no-cold-gocache] [--yaegi-gonum v0.14.0]
"""

from __future__ import annotations

import argparse
import json
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


def yaegi_source(tmp: Path, reps: int, version: str) -> tuple[float | None, str]:
    """(ns per multiply or None, what happened) with yaegi interpreting the
    source of gonum at version."""
    out = go(["mod", "download", "-json", f"{GONUM}@{version}"], tmp / "compiled")
    moddir = json.loads(out)["Dir"]
    gopath = tmp / f"gopath-{version}"
    shutil.copytree(moddir, gopath / "src" / GONUM)
    bin_ = tmp / "yaegisrc"
    if not bin_.exists():
        go(["build", "-o", str(bin_), "./bench/packages/yaegisrc"], ROOT)
    (tmp / "mul.go").write_text(program(reps))
    t0 = time.perf_counter()
    p = subprocess.run([str(bin_), str(gopath), str(tmp / "mul.go")], capture_output=True, text=True, timeout=3600)
    took = time.perf_counter() - t0
    if p.returncode != 0:
        err = (p.stderr.strip().splitlines() or ["?"])[-1]
        return None, f"gonum {version}: fails after {took:.1f} s: ...{err[-60:]}"
    return ns_per_op(p.stdout), f"gonum {version}, ran in {took:.1f} s"


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


def bring_in(tmp: Path, name: str, cold_gocache: bool) -> tuple[float, "Kernel"]:
    """Seconds to the reply of the first `import` of gonum/mat in a kernel with
    an empty mpigo cache (its own XDG_CACHE_HOME) and Go's build cache warm
    (the user's GOCACHE) or empty; and a second kernel with that cache, whose
    import finds the interpreter built (returned with the kernel, running)."""
    env = dict(os.environ, MPIGO_WARM="0", XDG_CACHE_HOME=str(tmp / name / "cache"))
    env["GOCACHE"] = str(tmp / name / "gocache") if cold_gocache else go(["env", "GOCACHE"], tmp).strip()
    imp = f'import "{GONUM}/mat"'
    k = Kernel(env, tmp / f"{name}-1.log")
    try:
        first = k.run(imp)[1]
    finally:
        k.close()
    k = Kernel(env, tmp / f"{name}-2.log")
    return first, k, k.run(imp)[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mpigo-bin", default=str(ROOT / "bin" / "mpigo"))
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--no-yaegi", action="store_true", help="skip yaegi interpreting gonum's source (slow)")
    ap.add_argument("--no-cold-gocache", action="store_true", help="skip the first import with Go's build cache empty (about a minute)")
    ap.add_argument("--yaegi-gonum", default="v0.14.0", help="the gonum yaegi interprets when it cannot the latest (default v0.14.0)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mpigo-bench-packages-"))
    try:
        subprocess.run([args.mpigo_bin, "install", "--prefix", str(tmp / "prefix"), "--name", "mpigo-bench"], check=True, stdout=subprocess.DEVNULL)
        os.environ["JUPYTER_PATH"] = str(tmp / "prefix" / "share" / "jupyter")
        comp, version = compiled(tmp, args.reps)
        first, k, cached = bring_in(tmp, "warm", cold_gocache=False)
        try:
            k.run(SETUP)
            plain = ns_per_op(k.run(TIMED.format(reps=args.reps))[0].stdout)
        finally:
            k.close()
        cold = None
        if not args.no_cold_gocache:
            cold, k, _ = bring_in(tmp, "cold", cold_gocache=True)
            k.close()
        rows = [
            (f"300x300 Mul, compiled program (gonum {version})", f"{comp / 1e6:9.2f} ms", ""),
            ("300x300 Mul, plain mpigo cell", f"{plain / 1e6:9.2f} ms", f"cell / compiled {plain / comp:6.2f} x (target <= 1.2)"),
        ]
        if not args.no_yaegi:
            # yaegi v0.16 cannot interpret gonum v0.15 and later (they use the
            # min and max built-ins): the latest is tried, then --yaegi-gonum.
            for v in (version, args.yaegi_gonum):
                ys, what = yaegi_source(tmp, 1, v)
                if ys is None:
                    rows.append(("300x300 Mul, yaegi interpreting gonum's source", "-", what))
                    continue
                rows.append(("300x300 Mul, yaegi interpreting gonum's source", f"{ys / 1e6:9.2f} ms", f"yaegi / compiled {ys / comp:6.1f} x ({what})"))
                break
        rows += [
            ("bring in gonum/mat, first time, Go build cache warm", f"{first:9.2f} s", "(an interpreter is built)"),
            ("bring in gonum/mat, second kernel (cached)", f"{cached:9.2f} s", f"first / cached {first / cached:6.1f} x"),
        ]
        if cold is not None:
            rows.append(("bring in gonum/mat, first time, Go build cache empty", f"{cold:9.2f} s", "(yaegi and gonum compiled too)"))
        for name, value, note in rows:
            print(f"{name:52} {value:>12}   {note}")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
