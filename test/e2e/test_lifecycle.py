"""A kernel never outlives its front end.

jupyter_client starts a kernel in a session of its own, so closing the terminal
of `jupyter console` or killing a Jupyter server sends the kernel nothing. The
kernel watches the process that started it (JPY_PARENT_PID, as ipykernel
does) and shuts down when it exits: the running cell is interrupted, %mpirun
ranks are stopped, the worker process exits. These tests start the real front
ends, SIGKILL them (no front end can clean up after that) and check that every
process below the kernel is gone.
"""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

import helpers

# The Jupyter of the Python that runs the tests (the project's venv).
JUPYTER = str(Path(sys.executable).with_name("jupyter")) if Path(sys.executable).with_name("jupyter").exists() else "jupyter"

# Bounds for events; the waits end as soon as the event happens.
START_TIMEOUT = 90  # front end up, kernel ready
MPIRUN_TIMEOUT = 180  # first %mpirun builds the program
EXIT_TIMEOUT = 20  # the kernel sees its parent's exit at once (pidfd); its shutdown takes < 5 s

# What the kernel logs when it notices (kernel.ErrParentExited's path).
PARENT_EXITED_LOG = "the front end that started the kernel exited"

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def front_end_env() -> dict:
    """The test's environment (JUPYTER_PATH holds the kernel spec under test),
    with Go on PATH for %mpirun builds."""
    env = dict(os.environ)
    if os.path.isdir("/usr/local/go/bin"):
        env["PATH"] = "/usr/local/go/bin:" + env.get("PATH", "")
    return env


def runs(pid: int, binary: Path, command: str) -> bool:
    """Whether pid runs `binary command ...`."""
    argv = helpers.cmdline(pid)
    return len(argv) >= 2 and argv[0] == str(binary) and argv[1] == command


def kernel_of(front_end: int, binary: Path, timeout: float) -> tuple:
    """(kernel PID, worker PID): the mpigo kernel that front_end started and
    its interpreter process, once both run."""
    found = {}

    def look():
        for k in helpers.children_of(front_end):
            if runs(k, binary, "kernel"):
                workers = [w for w in helpers.children_of(k) if runs(w, binary, "worker")]
                if workers:
                    found["pids"] = (k, workers[0])
                    return True
        return False

    if not helpers.wait_for(look, timeout):
        tree = {p: helpers.cmdline(p) for p in helpers.descendants(front_end)}
        raise AssertionError(f"no {binary} kernel with a worker under process {front_end} within {timeout} s: {tree}")
    return found["pids"]


def rank_of(pid: int):
    """The MPI rank a process runs as (Open MPI, MPICH or PMIx variables), or None."""
    env = helpers.environ(pid)
    for var in ("OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"):
        if var in env:
            return int(env[var])
    return None


def assert_all_exit(pids: list, what: str) -> None:
    """Waits (bounded) until none of pids runs, then asserts it."""
    helpers.wait_for(lambda: not any(helpers.alive(p) for p in pids), EXIT_TIMEOUT)
    left = {p: helpers.cmdline(p) for p in pids if helpers.alive(p)}
    assert not left, f"{what}: still running {EXIT_TIMEOUT} s later: {left}"


def kill_all(pids: list) -> None:
    """Cleanup after a failure: nothing a test started may survive it."""
    for p in pids:
        if helpers.alive(p):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass


class Console:
    """`jupyter console --kernel mpigo` in a pseudo-terminal, as a user runs it
    (prompt_toolkit's full interface: multi-line cells go through
    is_complete_request). The console is the kernel's parent."""

    def __init__(self, cwd: Path):
        master, slave = pty.openpty()
        self.master = master
        self.buf = bytearray()
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(
            [JUPYTER, "console", "--kernel", "mpigo"],
            stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=front_end_env(),
            start_new_session=True, close_fds=True,
        )
        os.close(slave)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                b = os.read(self.master, 65536)
            except OSError:
                return
            if not b:
                return
            with self.lock:
                self.buf.extend(b)
            if b"\x1b[6n" in b:  # prompt_toolkit asks where the cursor is
                self.type("\x1b[1;1R")

    def text(self) -> str:
        """Everything the terminal showed, without escape sequences."""
        with self.lock:
            raw = bytes(self.buf)
        return ANSI.sub(b"", raw).decode(errors="replace").replace("\r", "")

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def wait_for(self, text: str, timeout: float) -> None:
        if not helpers.wait_for(lambda: text in self.text(), timeout):
            raise AssertionError(f"the console did not show {text!r} within {timeout} s:\n{self.text()[-3000:]}")

    def close(self) -> None:
        below = helpers.descendants(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        kill_all(below)  # what a failed test left
        os.close(self.master)


@pytest.fixture
def console(tmp_path):
    c = Console(tmp_path)
    try:
        c.wait_for("In [1]", START_TIMEOUT)
        yield c
    finally:
        c.close()
        print(f"---- console ----\n{c.text()[-4000:]}")


def kill_front_end_and_check(proc: subprocess.Popen, pids: list, what: str) -> None:
    try:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert_all_exit(pids, what)
    finally:
        kill_all(pids)


def test_console_killed(console, mpigo_bin):
    console.type('fmt.Println("lifecycle", 6*7)\r')
    console.wait_for("lifecycle 42", START_TIMEOUT)
    kernel, worker = kernel_of(console.proc.pid, mpigo_bin, START_TIMEOUT)
    assert helpers.environ(kernel).get("JPY_PARENT_PID") == str(console.proc.pid), \
        "jupyter console did not start the kernel with JPY_PARENT_PID"
    pids = [kernel] + helpers.descendants(kernel)
    assert worker in pids
    kill_front_end_and_check(console.proc, pids, "after jupyter console was killed")
    assert_clean_exit(console)


def test_console_killed_during_mpirun(console, mpigo_bin):
    # One keystroke sequence: each Enter asks is_complete; the %mpirun cell
    # ends with an empty line, which takes two Enters (as IPython's %%magics).
    console.type('%mpirun -n 2\rfmt.Println("ranks", "up")\rtime.Sleep(time.Hour)\r\r\r')
    console.wait_for("[rank 0] ranks up", MPIRUN_TIMEOUT)
    console.wait_for("[rank 1] ranks up", 10)
    kernel, worker = kernel_of(console.proc.pid, mpigo_bin, 10)
    pids = [kernel] + helpers.descendants(kernel)
    ranks = {rank_of(p) for p in pids} - {None}
    assert ranks == {0, 1}, f"want the processes of ranks 0 and 1 below the kernel: {[helpers.cmdline(p) for p in pids]}"
    kill_front_end_and_check(console.proc, pids, "after jupyter console was killed while %mpirun ran")
    assert_clean_exit(console)


def assert_clean_exit(console: Console) -> None:
    """The kernel (whose log goes to the console's terminal) went out through
    its watcher, or at least without a crash: the terminal's reader may lag
    behind a process that is already gone, so the watcher's line is waited
    for a while but a missing one alone is reported, not failed; a panic or a
    fatal error fails."""
    if not helpers.wait_for(lambda: PARENT_EXITED_LOG in console.text(), 30):
        print(f"note: the watcher's log line did not reach the terminal reader: {console.text()[-1000:]}")
    text = console.text()
    assert "panic:" not in text and "fatal error:" not in text, text[-3000:]


def api(base: str, token: str, path: str, method: str = "GET", body=None):
    req = urllib.request.Request(
        base + path, method=method, headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        data=None if body is None else json.dumps(body).encode(),
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def test_server_killed(tmp_path, mpigo_bin):
    port, token = helpers.free_port(), uuid.uuid4().hex
    base = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "server.log", "wb")
    server = subprocess.Popen(
        [JUPYTER, "server", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}"],
        stdout=log, stderr=subprocess.STDOUT, env=front_end_env(), start_new_session=True,
    )
    pids = []
    try:

        def up():
            try:
                api(base, token, "/api/status")
                return True
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, (tmp_path / "server.log").read_text()
                return False

        assert helpers.wait_for(up, START_TIMEOUT, interval=0.2), "jupyter server did not answer"
        started = api(base, token, "/api/kernels", "POST", {"name": "mpigo"})
        assert started.get("name") == "mpigo", started
        kernel, worker = kernel_of(server.pid, mpigo_bin, START_TIMEOUT)
        pids = [kernel] + helpers.descendants(kernel)
        assert worker in pids
        kill_front_end_and_check(server, pids, "after the Jupyter server was killed")
    finally:
        pids += helpers.descendants(server.pid)  # if the test failed early
        if server.poll() is None:
            server.kill()
        server.wait()
        kill_all(pids)
        log.close()
        print(f"---- server log ----\n{(tmp_path / 'server.log').read_text(errors='replace')[-4000:]}")
    assert PARENT_EXITED_LOG in (tmp_path / "server.log").read_text(errors="replace"), \
        "the kernel did not log that its parent exited"


class KernelKilled(Exception):
    """Ends helpers.run once the test has killed the kernel."""


def test_kernel_killed_during_mpirun(tmp_path, mpigo_bin):
    """SIGKILL, which the kernel cannot see, still leaves nothing: the worker
    reads end-of-file on its request pipe and exits, the launcher gets its
    parent-death signal and takes the ranks down."""
    from conftest import start_kernel, stop_kernel

    k = start_kernel(tmp_path / "kernel.log", env={"PATH": front_end_env()["PATH"]})
    seen = {}
    try:

        def on_msg(msg):
            if msg["msg_type"] == "stream" and "ranks up" in msg["content"]["text"]:
                pids = [k.pid] + helpers.descendants(k.pid)
                seen.update(pids=pids, workers=[p for p in pids if runs(p, mpigo_bin, "worker")],
                            ranks={rank_of(p) for p in pids} - {None})
                os.kill(k.pid, signal.SIGKILL)
                raise KernelKilled

        with pytest.raises(KernelKilled):
            helpers.run(k.kc, '%mpirun -n 2\nfmt.Println("ranks", "up")\ntime.Sleep(time.Hour)',
                        on_msg=on_msg, timeout=MPIRUN_TIMEOUT)
        assert len(seen["workers"]) == 1, seen
        assert seen["ranks"] == {0, 1}, seen
        assert_all_exit(seen["pids"], "after the kernel was killed with SIGKILL")
    finally:
        kill_all(seen.get("pids", []))
        stop_kernel(k)
