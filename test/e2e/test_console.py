"""jupyter console and jupyter run, driven non-interactively against a kernel
started by `jupyter kernel`.

(`jupyter console --kernel mpigo` fed by a pipe hangs in a client start-up race
of jupyter_console itself, so the console attaches with --existing.)
"""

import os
import signal
import subprocess
import time

import pytest
from helpers import wait_for_kernel


@pytest.fixture
def existing_kernel(tmp_path):
    """A kernel started by `jupyter kernel`; yields its connection file."""
    cf = tmp_path / "kernel.json"
    log = open(tmp_path / "jupyter-kernel.log", "wb")
    proc = subprocess.Popen(
        ["jupyter", "kernel", "--kernel=mpigo", f"--KernelManager.connection_file={cf}"],
        stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ),
    )
    try:
        deadline = time.monotonic() + 60
        while not (cf.exists() and cf.stat().st_size > 0):
            assert proc.poll() is None, (tmp_path / "jupyter-kernel.log").read_text()
            assert time.monotonic() < deadline, "jupyter kernel wrote no connection file"
            time.sleep(0.1)
        wait_for_kernel(cf)  # the file is written before the kernel binds
        yield cf
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        print((tmp_path / "jupyter-kernel.log").read_text())


def test_console(existing_kernel):
    proc = subprocess.run(
        ["jupyter", "console", "--existing", str(existing_kernel), "--simple-prompt"],
        input='x := 21\nfmt.Println("printed", x)\nx*2\nexit\n',
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )
    assert "printed 21" in proc.stdout, proc.stdout + proc.stderr
    assert "42" in proc.stdout, proc.stdout + proc.stderr


def test_jupyter_run(existing_kernel, tmp_path):
    script = tmp_path / "script.go"
    script.write_text('y := 6\nfmt.Println("from script", y*7)\n')
    proc = subprocess.run(
        ["jupyter", "run", "--existing", str(existing_kernel), str(script)],
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stderr
    assert "from script 42" in proc.stdout, proc.stdout + proc.stderr
