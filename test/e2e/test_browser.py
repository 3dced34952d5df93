"""The notebook in a real browser: Jupyter Notebook (classic UI) on 127.0.0.1,
driven by Debian's headless Chromium through playwright-core
(test/browser/run-notebook.js). It opens notebooks/00-introduction.ipynb (a
copy), runs its first code cell and its first `%mpirun -n 4` cell, and checks
what the page renders: the first cell's output, a `[rank N] ` line for each
of ranks 0-3 and the HTML summary table. The %mpirun cell's screenshot is kept
in out/test-artifacts/.

Skipped only when Chromium or Node.js is missing (install/setup.sh installs
Chromium and the npm package where it can).

  MPIGO_BROWSER_NOTEBOOK=FILE  open FILE (copied next to the notebooks) instead
  MPIGO_README_PICTURE=1       also write docs/mpirun-cell.png (the README's
                               picture, at twice the pixels)
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import helpers

BROWSER_DIR = helpers.ROOT / "test" / "browser"
SCRIPT = BROWSER_DIR / "run-notebook.js"
ARTIFACTS = helpers.ROOT / "out" / "test-artifacts"
PICTURE = helpers.ROOT / "docs" / "mpirun-cell.png"
NOTEBOOK = "00-introduction.ipynb"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
NODE_MIN_MAJOR = 20  # playwright-core's engines


def _node_major(node: str) -> int:
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
    m = re.match(r"v(\d+)", out.strip())
    return int(m.group(1)) if m else 0


def _requirements() -> str:
    """The node binary; skips the test when Chromium or Node.js is missing."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian package chromium; install/setup.sh installs it as root)")
    node = shutil.which("node")
    if node is None:
        pytest.skip("no node (Node.js) on PATH")
    major = _node_major(node)
    if major < NODE_MIN_MAJOR:
        pytest.skip(f"node {major} is older than {NODE_MIN_MAJOR} (playwright-core needs it)")
    assert (BROWSER_DIR / "node_modules" / "playwright-core" / "package.json").is_file(), (
        f"playwright-core is not installed: run `npm ci` in {BROWSER_DIR} (install/setup.sh does)"
    )
    return node


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(base: str, token: str, path: str, method: str = "GET", timeout: float = 5):
    req = urllib.request.Request(f"{base}{path}", method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        body = resp.read()
    return json.loads(body) if body else None


def _descendants(pid: int) -> list:
    out, todo = [], [pid]
    while todo:
        kids = helpers.children_of(todo.pop())
        out += kids
        todo += kids
    return out


def _cmdline(pid: int) -> list:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def _pids_with_arg(arg: str) -> list:
    """Live processes with arg in their command line."""
    return [
        int(e)
        for e in os.listdir("/proc")
        if e.isdigit() and helpers.alive(int(e)) and any(arg in a for a in _cmdline(int(e)))
    ]


def _tail(path: Path, n: int = 4000) -> str:
    return path.read_text(errors="replace")[-n:] if path.exists() else ""


def test_notebook_in_browser(tmp_path, mpigo_bin, kernel_spec):
    node = _requirements()
    t_start = time.monotonic()

    # a copy of notebooks/ (the server may save into it), and Jupyter's own
    # config and data in temporary places; JUPYTER_PATH (conftest) brings the
    # kernel spec of the binary under test, which the server must pick
    nbdir = tmp_path / "notebooks"
    shutil.copytree(helpers.ROOT / "notebooks", nbdir)
    notebook = NOTEBOOK
    if os.environ.get("MPIGO_BROWSER_NOTEBOOK"):
        src = Path(os.environ["MPIGO_BROWSER_NOTEBOOK"]).resolve()
        notebook = "browser-" + src.name
        shutil.copy(src, nbdir / notebook)
    for d in ("config", "data"):
        (tmp_path / d).mkdir()
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )

    port, token = _free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable, "-m", "notebook",
        "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
        f"--NotebookApp.token={token}", f"--notebook-dir={nbdir}",
        "--NotebookApp.terminals_enabled=False",
    ]  # fmt: skip
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = tmp_path / "server.log"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "browser-mpirun-cell.png"
    shot.unlink(missing_ok=True)
    profile = tmp_path / "chromium-profile"

    with open(log, "wb") as logf:
        server = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, env=env, cwd=tmp_path)
    procs: dict = {}  # pid -> command line, of everything the server started
    try:
        # the server answers
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, f"jupyter notebook exited ({server.returncode}):\n{_tail(log)}"
            try:
                _api(base, token, "/api/status", timeout=2)
                break
            except (OSError, urllib.error.URLError):
                assert time.monotonic() < deadline, f"jupyter notebook did not answer on {base} in 30 s:\n{_tail(log)}"
                time.sleep(0.2)
        t_server = time.monotonic() - t_start

        args = [
            node, str(SCRIPT), "--url", base, "--token", token, "--notebook", notebook,
            "--screenshot", str(shot), "--user-data-dir", str(profile), "--chromium", CHROMIUM,
            "--timeout", "120",
        ]  # fmt: skip
        if os.environ.get("MPIGO_README_PICTURE"):
            args += ["--picture", str(PICTURE), "--scale", "2"]
        t0 = time.monotonic()
        try:
            r = subprocess.run(args, capture_output=True, text=True, timeout=200, env=env, cwd=BROWSER_DIR)
        finally:
            # what the server runs now: the kernel, its worker, anything left of %mpirun
            procs = {p: " ".join(_cmdline(p)) for p in _descendants(server.pid)}
        t_browser = time.monotonic() - t0
        assert r.returncode == 0, (
            f"run-notebook.js failed (exit {r.returncode}):\n{r.stderr}\n{r.stdout[-4000:]}\n"
            f"---- jupyter notebook log ----\n{_tail(log)}"
        )
        res = json.loads(r.stdout)
        (ARTIFACTS / "browser-result.json").write_text(json.dumps(res, indent=2) + "\n")
        print(json.dumps(res, indent=2))

        # the server ran the kernel spec under test
        assert res["kernel"]["kernel"] == "mpigo", res["kernel"]
        assert res["kernel"]["implementation"] == "mpigo", res["kernel"]
        kernels = [p for p, c in procs.items() if _cmdline(p)[:2] == [str(mpigo_bin), "kernel"]]
        assert kernels, f"no `{mpigo_bin} kernel` among the server's processes: {procs}"

        # the first code cell: ran, shows output, no error (the script checks that too)
        plain = res["plain"]
        assert plain["execution_count"] == 1, plain
        assert plain["output"].strip(), plain

        # the %mpirun -n 4 cell: every rank's lines, prefixed, and the HTML summary
        mp = res["mpirun"]
        assert mp["execution_count"] == 2, mp
        assert mp["ranks_seen"] == [0, 1, 2, 3], mp["stream_text"]
        for line in mp["rank_lines"]:
            assert re.match(r"\[rank [0-3]\] ", line), line
        summary = mp["summary"]
        assert summary and summary["headers"][0] == "ranks", summary
        assert "4 ranks" in summary["title"], summary
        assert summary["rows"], summary
        assert "display_data" in mp["output_types"] and "stream:stdout" in mp["output_types"], mp["output_types"]

        # no script error in the page (failed resource loads, such as the
        # widgets extension Debian's notebook asks for, are not ours)
        page_errors = [e for e in res["console_errors"] if e.startswith("pageerror:")]
        assert not page_errors, page_errors

        assert shot.is_file() and shot.stat().st_size > 1000, shot
        w, h = helpers.png_size(shot.read_bytes())
        assert w >= 400 and h >= 150, (w, h)
        if os.environ.get("MPIGO_README_PICTURE"):
            assert PICTURE.is_file(), PICTURE
            print(f"README picture: {PICTURE} {helpers.png_size(PICTURE.read_bytes())}")

        # shut the kernels down through the REST API, as the UI's Shutdown does
        for k in _api(base, token, "/api/kernels"):
            _api(base, token, f"/api/kernels/{k['id']}", method="DELETE", timeout=30)
        assert helpers.wait_for(lambda: not any(helpers.alive(p) for p in kernels), 15), (
            f"kernel still running 15 s after DELETE /api/kernels: {kernels}"
        )
        print(
            f"timings: server up {t_server:.1f} s, browser run {t_browser:.1f} s "
            f"({res['timings']}), total {time.monotonic() - t_start:.1f} s"
        )
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)  # stops the server and shuts down its kernels
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
        print(f"---- jupyter notebook log ----\n{_tail(log)}")

    # nothing left behind: the server's kernels, workers and ranks, and the browser
    gone = helpers.wait_for(lambda: not any(helpers.alive(p) for p in procs), 10)
    assert gone, f"processes of the notebook server still running: { {p: c for p, c in procs.items() if helpers.alive(p)} }"
    assert helpers.wait_for(lambda: not _pids_with_arg(str(profile)), 10), (
        f"Chromium processes still running: {_pids_with_arg(str(profile))}"
    )
