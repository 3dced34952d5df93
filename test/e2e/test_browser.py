"""The kernel in a real browser: JupyterLab 4 and Notebook 7 (the project's
virtual environment) on 127.0.0.1 with a token, driven in Debian's headless
Chromium by playwright-core (test/browser/lab.js, which says what each check
does on the page).

JupyterLab: one server, one page, one run of lab.js (module fixture `lab`) on a
copy of notebooks/00-introduction.ipynb with the Go (mpigo) kernel; each test
below asserts one thing that run saw: the first code cell, the first
`%mpirun -n 4` cell (rank lines, the progress line updated in place, the
summary table), Go highlighting in the editor, Tab completion (and its type
icon), the inspector (tooltip and Contextual Help), the toolbar's Interrupt on
a running %mpirun cell (no rank left), the toolbar's Restart, the console
(Enter and is_complete), and the debugger (a breakpoint set in the gutter, the
cell stopped there, Call Stack, Variables, Continue); then that the server, kernels, ranks and browser are
all gone. Notebook 7: the same two cells, in its own server.

Screenshots go to out/test-artifacts/ (lab-*.png, notebook-*.png, and
lab-failed-CHECK.png for a check that failed); lab.js's JSON result to
out/test-artifacts/{lab,notebook}-result.json.

Skipped only when Chromium, Node.js or the npm packages are missing (reasons
"chromium missing", "node missing", "node_modules missing"); install/setup.sh
installs them where it can.

  MPIGO_README_PICTURE=1   also write docs/mpirun-cell.png and
                           docs/debugger.png (the README's pictures: the
                           %mpirun cell in JupyterLab, and the page stopped
                           at a breakpoint, at twice the pixels)
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import helpers

BROWSER_DIR = helpers.ROOT / "test" / "browser"
SCRIPT = BROWSER_DIR / "lab.js"
ARTIFACTS = helpers.ROOT / "out" / "test-artifacts"
PICTURE = helpers.ROOT / "docs" / "mpirun-cell.png"
DEBUGGER_PICTURE = helpers.ROOT / "docs" / "debugger.png"
NOTEBOOK = helpers.ROOT / "notebooks" / "00-introduction.ipynb"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
NODE_MIN_MAJOR = 20  # playwright-core's engines
# lab.js waits this long for the kernel to start and for each cell (the first
# %mpirun build of a fresh cache takes a minute on 2 busy cores)
CELL_TIMEOUT = 120
DRIVER_TIMEOUT = 600  # the whole lab.js run
IS_COMPLETE_TIMEOUT_MS = 250  # what JupyterLab's console waits for is_complete_reply
LAB_CHECKS = ["cells", "highlight", "complete", "complete_type", "inspect", "interrupt", "restart", "console", "debugger"]


def _node_major(node: str) -> int:
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
    m = re.match(r"v(\d+)", out.strip())
    return int(m.group(1)) if m else 0


def _requirements() -> str:
    """The node binary; skips the test when Chromium, Node.js or playwright-core is missing."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"chromium missing: no {CHROMIUM} (Debian package chromium; install/setup.sh installs it as root)")
    node = shutil.which("node")
    if node is None:
        pytest.skip("node missing: no node (Node.js) on PATH")
    major = _node_major(node)
    if major < NODE_MIN_MAJOR:
        pytest.skip(f"node missing: node {major} is older than {NODE_MIN_MAJOR} (playwright-core needs it)")
    if not (BROWSER_DIR / "node_modules" / "playwright-core" / "package.json").is_file():
        pytest.skip(f"node_modules missing: no playwright-core in {BROWSER_DIR} (`npm ci` there; install/setup.sh does)")
    return node


def _pids_with_arg(arg: str) -> list:
    """Live processes with arg in their command line."""
    return [
        int(e)
        for e in os.listdir("/proc")
        if e.isdigit() and helpers.alive(int(e)) and any(arg in a for a in helpers.cmdline(int(e)))
    ]


def _tail(path: Path, n: int = 4000) -> str:
    return path.read_text(errors="replace")[-n:] if path.exists() else ""


class JupyterServer:
    """`jupyter lab` (app "lab") or Notebook 7's `jupyter notebook` (app
    "notebook") from the project's environment, on 127.0.0.1 with a token,
    serving root; its config, data and settings in tmp. JUPYTER_PATH (conftest)
    brings the kernel spec of the binary under test, which the server must pick."""

    def __init__(self, tmp: Path, app: str, root: Path):
        self.app, self.tmp, self.root = app, tmp, root
        self.port, self.token = helpers.free_port(), secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"{app}-server.log"
        self.proc = None
        for d in ("config", "data"):
            (tmp / d).mkdir(exist_ok=True)
        # no "official Jupyter news?" toast over the page, no update check
        settings = tmp / "config" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}\n')
        self.env = dict(
            os.environ,
            JUPYTER_CONFIG_DIR=str(tmp / "config"),
            JUPYTER_DATA_DIR=str(tmp / "data"),
            PYDEVD_DISABLE_FILE_VALIDATION="1",
        )

    def api(self, path: str, method: str = "GET", timeout: float = 5):
        req = urllib.request.Request(
            f"{self.base}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def start(self) -> None:
        cmd = [
            sys.executable, "-m", "jupyterlab" if self.app == "lab" else "notebook",
            "--no-browser", "--ip=127.0.0.1", f"--port={self.port}", "--port-retries=0",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
            "--ServerApp.terminals_enabled=False",
            # window.jupyterapp: lab.js reads the notebook's model through it
            "--expose-app-in-browser",
        ]  # fmt: skip
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        with open(self.log, "wb") as logf:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, env=self.env, cwd=self.tmp
            )
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, f"jupyter {self.app} exited ({self.proc.returncode}):\n{_tail(self.log)}"
            try:
                self.api("/api/status", timeout=2)
                return
            except (OSError, urllib.error.URLError):
                assert time.monotonic() < deadline, f"jupyter {self.app} did not answer on {self.base} in 60 s:\n{_tail(self.log)}"
                time.sleep(0.2)

    def processes(self) -> dict:
        """pid -> command line of everything the server runs now."""
        return {p: " ".join(helpers.cmdline(p)) for p in helpers.descendants(self.proc.pid)}

    def shut_down_kernels(self, kernel_pids: list) -> None:
        """Shuts every kernel down through the REST API, as the UI's Shut Down does."""
        for k in self.api("/api/kernels"):
            self.api(f"/api/kernels/{k['id']}", method="DELETE", timeout=30)
        assert helpers.wait_for(lambda: not any(helpers.alive(p) for p in kernel_pids), 15), (
            f"kernel still running 15 s after DELETE /api/kernels: {kernel_pids}"
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # stops the server and shuts down its kernels
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@dataclasses.dataclass
class BrowserRun:
    """What one lab.js run against one server showed, and what it left."""

    app: str
    result: dict  # lab.js's JSON
    procs: dict  # pid -> command line: what the server ran at the end of the run
    kernels: list  # pids of `mpigo kernel` processes among procs
    left: dict  # procs still alive after the server stopped
    chromium_left: dict  # browser processes still alive after lab.js ended (killed since)
    log: str  # tail of the server's log

    def check(self, name: str) -> dict:
        """The result of lab.js's check name; fails the test if that check failed."""
        c = self.result["checks"].get(name)
        assert c is not None, f"lab.js ran no {name} check: {sorted(self.result['checks'])}"
        assert c["ok"], (
            f"{self.app}: {name}: {c['error']}\n"
            f"{json.dumps(c, indent=2)[:6000]}\npage console errors: {self.result['console_errors']}"
        )
        return c


def _browser_run(
    node: str, tmp: Path, app: str, checks: list, mpigo_bin: Path,
    picture: Path | None = None, debugger_picture: Path | None = None,
) -> BrowserRun:  # fmt: skip
    """Starts a server on a copy of the notebook, runs lab.js's checks on it in
    Chromium, shuts the kernels down, stops the server, and returns what was seen."""
    root = tmp / "notebooks"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)  # the server saves into it, not into notebooks/
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob(f"{app}-*.png"):
        old.unlink()
    profile = tmp / "chromium-profile"
    server = JupyterServer(tmp, app, root)
    t0 = time.monotonic()
    procs: dict = {}
    driver = None
    try:
        server.start()
        t_server = time.monotonic() - t0
        args = [
            node, str(SCRIPT), "--url", server.base, "--token", server.token, "--notebook", NOTEBOOK.name,
            "--app", app, "--checks", ",".join(checks), "--artifacts", str(ARTIFACTS),
            "--user-data-dir", str(profile), "--chromium", CHROMIUM, "--timeout", str(CELL_TIMEOUT),
        ]  # fmt: skip
        if picture is not None:
            args += ["--picture", str(picture), "--scale", "2"]
        if debugger_picture is not None:
            args += ["--debugger-picture", str(debugger_picture)]
        t1 = time.monotonic()
        # its own process group: on a timeout, the browser goes with it
        driver = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=server.env,
            cwd=BROWSER_DIR, start_new_session=True,
        )  # fmt: skip
        try:
            out, err = driver.communicate(timeout=DRIVER_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(driver.pid, signal.SIGKILL)
            out, err = driver.communicate()
            pytest.fail(f"lab.js did not finish in {DRIVER_TIMEOUT} s:\n{err}\n---- server log ----\n{_tail(server.log)}")
        finally:
            if driver.poll() is None:  # the test was interrupted: the driver and its browser go too
                os.killpg(driver.pid, signal.SIGKILL)
                driver.wait(timeout=10)
            # what the server runs now: the kernels, their workers, anything left of %mpirun
            procs = server.processes()
        t_browser = time.monotonic() - t1
        if driver.returncode not in (0, 1) or not out.strip():
            pytest.fail(f"lab.js failed (exit {driver.returncode}):\n{err}\n{out[-4000:]}\n---- server log ----\n{_tail(server.log)}")
        result = json.loads(out)
        (ARTIFACTS / f"{app}-result.json").write_text(json.dumps(result, indent=2) + "\n")
        print(err)  # which checks failed, if any (shown when a test fails)
        kernels = [p for p, c in procs.items() if helpers.cmdline(p)[:2] == [str(mpigo_bin), "kernel"]]
        server.shut_down_kernels(kernels)
        print(f"{app}: server up in {t_server:.1f} s, lab.js {t_browser:.1f} s {result['timings']}")
    finally:
        server.stop()
        # lab.js closed its browser (found by its profile): what is left of it
        # is noted for the test, then killed
        helpers.wait_for(lambda: not _pids_with_arg(str(profile)), 10)
        chromium_left = {p: " ".join(helpers.cmdline(p)) for p in _pids_with_arg(str(profile))}
        for pid in chromium_left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    # nothing left behind: the server's kernels, workers and ranks
    helpers.wait_for(lambda: not any(helpers.alive(p) for p in procs), 10)
    left = {p: c for p, c in procs.items() if helpers.alive(p)}
    return BrowserRun(app, result, procs, kernels, left, chromium_left, _tail(server.log))


@pytest.fixture(scope="module")
def lab(tmp_path_factory, mpigo_bin, kernel_spec) -> BrowserRun:
    """One JupyterLab run of every check, shared by the tests of this module."""
    node = _requirements()
    readme = bool(os.environ.get("MPIGO_README_PICTURE"))
    run = _browser_run(
        node, tmp_path_factory.mktemp("lab"), "lab", LAB_CHECKS, mpigo_bin,
        PICTURE if readme else None, DEBUGGER_PICTURE if readme else None,
    )  # fmt: skip
    for check, picture in (("cells", PICTURE), ("debugger", DEBUGGER_PICTURE)):
        if readme and run.result["checks"][check]["ok"]:
            print(f"README picture: {picture} {helpers.png_size(picture.read_bytes())}")
    return run


# Notebook 7.6.5 throws this at start-up on any page, /tree included, with no
# kernel open: its shortcuts plugin reads the schema of a plugin it has not
# loaded. Not the kernel's; any other script error fails the test.
NOTEBOOK7_OWN_ERROR = "pageerror: Cannot read properties of undefined (reading 'schema')"


def _page_errors(run: BrowserRun) -> list:
    """Script errors in the page (failed resource loads and console messages are not ours)."""
    known = [NOTEBOOK7_OWN_ERROR] if run.app == "notebook" else []
    return [e for e in run.result["console_errors"] if e.startswith("pageerror:") and e not in known]


def _assert_screenshot(path, min_height: int = 150) -> None:
    assert path and Path(path).is_file(), f"no screenshot {path}"
    w, h = helpers.png_size(Path(path).read_bytes())
    assert w >= 400 and h >= min_height, (path, w, h)


def _assert_cells(run: BrowserRun) -> dict:
    """The first code cell and the first %mpirun -n 4 cell ran and show their output."""
    c = run.check("cells")
    plain = c["plain"]
    assert plain["execution_count"] == 1, plain
    assert plain["output"].strip() and not plain["errors"], plain
    mp = c["mpirun"]
    assert mp["execution_count"] == 2, mp
    assert not mp["errors"], mp["errors"]
    # every rank's lines, prefixed
    assert mp["ranks_seen"] == [0, 1, 2, 3], mp["stream_text"]
    for line in mp["rank_lines"]:
        assert re.match(r"\[rank [0-3]\] ", line), line
    # the HTML summary: a row per (folded) rank group
    summary = mp["summary"]
    assert summary and summary["headers"][0] == "ranks", summary
    assert "4 ranks" in summary["title"], summary
    assert summary["rows"], summary
    assert "stream:stdout" in mp["output_types"] and "display_data" in mp["output_types"], mp["output_types"]
    _assert_screenshot(c["screenshot"])
    return c


def test_lab_opens_notebook_with_mpigo_kernel(lab, mpigo_bin):
    k = lab.result["kernel"]
    assert (k["name"], k["implementation"], k["language"]) == ("mpigo", "mpigo", "go"), k
    # the server ran the kernel spec under test
    assert lab.kernels, f"no `{mpigo_bin} kernel` among the server's processes: {lab.procs}"
    # no script error in the page
    assert not _page_errors(lab), lab.result["console_errors"]


def test_lab_plain_and_mpirun_cells(lab):
    _assert_cells(lab)


def test_lab_mpirun_progress_updated_in_place(lab):
    """The progress line is one display_data that update_display_data changes:
    the page shows one progress output at any time, whose text went through
    several states and ends in the final one."""
    mp = _assert_cells(lab)["mpirun"]
    states = mp["progress_states"]
    assert mp["progress_max_shown"] == 1, f"progress outputs appended, not updated: {states}"
    assert len(mp["progress_shown"]) == 1, mp["progress_shown"]
    final = mp["progress_shown"][0]
    assert final.startswith("%mpirun: done: 4 ranks"), final
    assert len(states) >= 2 and states[-1] == final and states[0] != final, states
    # the kernel sent the progress and the summary as display_data, and updates
    # of the progress as update_display_data, which the page applied in place:
    # two display_data outputs however many updates came
    assert mp["iopub"]["display_data"] == 2 and mp["iopub"]["update_display_data"] >= 1, mp["iopub"]
    assert mp["output_types"].count("display_data") == 2, mp["output_types"]


def test_lab_go_syntax_highlighting(lab):
    """The editors use CodeMirror's Go mode (kernel.json: codemirror_mode go):
    tokens are coloured by the theme's Go highlighting, not left as plain text."""
    c = lab.check("highlight")
    assert c["language"] == "go", c
    assert c["func_token"]["color"] == c["keyword_color"] != c["plain_color"], c
    assert c["string_token"]["color"] == c["string_color"] != c["plain_color"], c


def test_lab_tab_completion(lab):
    c = lab.check("complete")
    assert "ToUpper" in [it["value"] for it in c["items"]], c["items"]
    assert c["accepted"].strip() == "strings.ToUpper", c
    _assert_screenshot(c["screenshot"], min_height=60)  # a one-line cell and the completer


def test_lab_tab_completion_type_icon(lab):
    """ToUpper's completer item carries a type icon: the kernel's
    _jupyter_types_experimental metadata gives its type, "function"."""
    c = lab.check("complete_type")
    assert c["item"]["icon"], c["item"]
    assert c["item"]["title"] == "function", c["item"]
    types = {t["text"]: t.get("type") for t in c["metadata"]["_jupyter_types_experimental"]}
    assert types.get("ToUpper") == "function", c["metadata"]


def test_lab_inspector(lab):
    """Shift+Tab (tooltip) and Contextual Help show ToUpper's signature and doc."""
    c = lab.check("inspect")
    for what in ("tooltip", "contextual_help"):
        assert "func ToUpper(s string) string" in c[what], (what, c[what])
        assert "ToUpper returns" in c[what], (what, c[what])


def test_lab_interrupt_stops_mpirun(lab):
    """The toolbar's Interrupt stops an endless %mpirun -n 4 cell: the cell
    shows the Interrupted error, no process of the run is left, the kernel
    runs the next cell."""
    c = lab.check("interrupt")
    assert len(c["running"]) >= 4, c["running"]
    assert [e["ename"] for e in c["errors"]] == ["Interrupted"], c["errors"]
    assert "were still running" in c["errors"][0]["evalue"], c["errors"]
    assert any("interrupted" in p for p in c["progress"]), c["progress"]
    assert c["left"] == [], c["left"]
    assert c["stopped_after_s"] < 10, c
    assert c["after"] == "42", c
    _assert_screenshot(c["screenshot"])


def test_lab_kernel_restart(lab):
    """The toolbar's Restart: a new kernel process, idle, without the old
    state, running cells again from execution count 1."""
    c = lab.check("restart")
    assert "Restart" in c["dialog"], c["dialog"]
    assert c["new_pid"] and c["new_pid"] != c["old_pid"] and not c["old_pid_alive"], c
    assert c["status"] == "idle", c
    assert c["marker_after"]["errors"] and c["marker_after"]["prompt"] == "[1]:", c["marker_after"]
    assert c["after"]["result"] == "42", c


def test_lab_console_enter_uses_is_complete(lab):
    """In the JupyterLab console (Execute with Enter), Enter on an incomplete
    Go function inserts a newline, on a complete one runs it; every
    is_complete_reply comes well within the console's 250 ms."""
    c = lab.check("console")
    steps = c["steps"]
    assert [s["status"] for s in steps] == ["incomplete", "incomplete", "complete", "complete"], steps
    assert [s["ran"] for s in steps] == [0, 0, 1, 1], steps
    assert steps[3]["output"].strip() == "5", steps[3]
    assert c["max_ms"] < IS_COMPLETE_TIMEOUT_MS, steps
    _assert_screenshot(c["screenshot"])


def test_lab_debugger(lab):
    """The debugger in JupyterLab: enabled with the notebook toolbar's bug
    button, a breakpoint set by a click in the gutter of a loop's body stops
    the cell there (Call Stack frame at the cell's line, the line highlighted,
    the loop variable in Variables); the breakpoint removed, Continue lets the
    cell finish with its output in order. No debug request failed."""
    c = lab.check("debugger")
    assert len(c["breakpoints"]) == 1, c["breakpoints"]
    assert c["frames"], c
    top = c["frames"][0]
    assert top["location"], top  # the cell's dumped path, or its display name
    assert c["highlighted_line"] == 2, c
    assert c["variable_i"] == "0", c["variables"]
    assert c["cell_running"] == "[*]:", c
    assert c["output"].strip().splitlines() == ["step 0 0", "step 1 1", "step 2 4"], c["output"]
    # yaegi may stop once more at the line just cleared (README: Debugging)
    assert 1 <= c["continues"] <= 5, c
    assert c["frames_after"] == 0, c
    assert c["failed_debug_requests"] == [], c["failed_debug_requests"]
    _assert_screenshot(c["screenshot"], min_height=400)


def test_lab_leaves_nothing_running(lab):
    """Kernels shut down through the REST API, the server stopped: no kernel,
    worker, rank or browser process is left."""
    assert lab.kernels
    assert not lab.left, f"processes of the JupyterLab server still running: {lab.left}"
    assert not lab.chromium_left, f"Chromium processes still running: {lab.chromium_left}"


def test_notebook7_smoke(tmp_path, mpigo_bin, kernel_spec):
    """Notebook 7 (`jupyter notebook`): the same two cells as in JupyterLab."""
    node = _requirements()
    run = _browser_run(node, tmp_path, "notebook", ["cells"], mpigo_bin)
    k = run.result["kernel"]
    assert (k["name"], k["implementation"]) == ("mpigo", "mpigo"), k
    assert run.kernels, f"no `{mpigo_bin} kernel` among the server's processes: {run.procs}"
    _assert_cells(run)
    assert not _page_errors(run), run.result["console_errors"]
    assert not run.left, f"processes of the Notebook server still running: {run.left}"
    assert not run.chromium_left, f"Chromium processes still running: {run.chromium_left}"
