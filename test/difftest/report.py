"""Runs the differential test (compiled Go vs notebook cells) and reports.

    .venv/bin/python test/difftest/report.py                  # counts per source
    .venv/bin/python test/difftest/report.py --list wrong     # + each wrong program, with its diff
    .venv/bin/python test/difftest/report.py --list error --source own
    .venv/bin/python test/difftest/report.py --match 'closure' --list same
    .venv/bin/python test/difftest/report.py --write /tmp/difftest-report.txt

--write writes everything: the counts, the exclusions, and every wrong,
error and refused program with its reason (and diff for wrong ones). Oracle
results are cached (see difftest.oracle_cache_dir); $MPIGO_DIFFTEST_CACHE=off
disables the cache. bin/mpigo is built when missing ($MPIGO_BIN overrides).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import difftest  # noqa: E402


def mpigo_binary(path: str | None) -> Path:
    """The kernel binary: path, $MPIGO_BIN or bin/mpigo (built if missing)."""
    binary = Path(path or os.environ.get("MPIGO_BIN") or difftest.ROOT / "bin" / "mpigo").resolve()
    if not binary.exists():
        subprocess.run(["go", "build", "-o", str(binary), "./cmd/mpigo"], cwd=difftest.ROOT, env=difftest.go_tool_env(), check=True)
    return binary


def full_report(res: difftest.RunResult) -> str:
    """The report for the lead: counts, exclusions, timings, and every
    wrong, error and refused program."""
    parts = [
        "Differential test: compiled Go (the oracle) vs plain cells of the mpigo kernel",
        "",
        difftest.summary_table(res),
        "",
        "timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in res.timings.items()) + f"; kernel starts: {res.restarts}",
        "",
        "== our own corpus, per topic",
        difftest.topic_table(res),
        "",
        "== slowest cells",
        slowest(res),
        "",
        "== excluded (source, count, reason)",
        difftest.exclusions_text(res),
    ]
    for cat in ("wrong", "error", "refused"):
        n = sum(1 for o in res.outcomes if o.category == cat)
        parts += ["", f"== {cat} ({n})", difftest.listing(res, cat)]
    return "\n".join(parts) + "\n"


def slowest(res: difftest.RunResult, n: int = 10) -> str:
    """The n programs that took longest in the kernel."""
    ran = sorted((o for o in res.outcomes if o.kernel is not None), key=lambda o: -o.kernel.seconds)
    return "\n".join(f"{o.kernel.seconds:6.2f}s {o.program.key} ({o.category})" for o in ran[:n])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", action="append", choices=difftest.SOURCES, help="only these sources (repeatable)")
    ap.add_argument("--match", help="only programs whose source/name matches this regular expression")
    ap.add_argument("--list", action="append", choices=difftest.CATEGORIES + ("excluded",), default=[], help="list the programs of a category")
    ap.add_argument("--no-diff", action="store_true", help="no output diffs in listings")
    ap.add_argument("--write", help="write the full report to this file")
    ap.add_argument("--tour", help="a copy of golang.org/x/website (or its _content/tour) for the tour's programs")
    ap.add_argument("--mpigo", help="the kernel binary (default $MPIGO_BIN or bin/mpigo)")
    ap.add_argument("--restart-every", type=int, default=200, help="programs per kernel (default 200)")
    ap.add_argument("--no-reset", action="store_true", help="no %%reset between programs (to measure isolation)")
    ap.add_argument("--cell-timeout", type=float, default=difftest.CELL_TIMEOUT, help="seconds per cell")
    args = ap.parse_args()

    t0 = time.monotonic()
    programs, unavailable = difftest.load_corpus(Path(args.tour) if args.tour else None)
    if args.source:
        programs = [p for p in programs if p.source in args.source]
        unavailable = {s: w for s, w in unavailable.items() if s in args.source}
    if args.match:
        programs = [p for p in programs if re.search(args.match, p.key)]
    print(f"{len(programs)} programs", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="difftest-kernel-") as tmp:
        difftest.install_kernel_spec(mpigo_binary(args.mpigo), Path(tmp))
        log = Path(tmp) / "kernel.log"
        runner = difftest.KernelRunner(lambda: difftest.start_standalone(log=log), difftest.stop_standalone, args.restart_every, reset=not args.no_reset)
        try:
            res = difftest.run_all(programs, runner, unavailable, log=lambda s: print(s, file=sys.stderr), cell_timeout=args.cell_timeout)
        finally:
            runner.close()
    res.timings["total"] = time.monotonic() - t0

    print(difftest.summary_table(res))
    print("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in res.timings.items()))
    for cat in args.list:
        print(f"\n== {cat}")
        print(difftest.listing(res, cat, diff=not args.no_diff))
    if args.write:
        Path(args.write).write_text(full_report(res))
        print(f"report written to {args.write}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
