"""The benchmarks measure the project's Jupyter stack (.venv: jupyter_client 8,
ipykernel 7, ipyparallel 9): run by another Python (pyenv's python3, Debian's
/usr/bin/python3), a benchmark re-runs itself with the venv's."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def reexec_in_venv(script: str) -> None:
    """Replaces this process by script under the venv's Python, with the same
    arguments, unless it already runs there (or there is no venv)."""
    if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != VENV_PYTHON.parent.parent.resolve():
        print(f"re-running with {VENV_PYTHON}", file=sys.stderr, flush=True)
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(Path(script).resolve()), *sys.argv[1:]])
