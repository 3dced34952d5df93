"""Fixtures for the end-to-end tests.

The tests never depend on a global install: the session fixture installs the
kernel spec of bin/mpigo (built here if missing; $MPIGO_BIN overrides the path)
into a temporary --prefix and puts that first on JUPYTER_PATH.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

sys.path.insert(0, str(Path(__file__).resolve().parent))
import helpers  # noqa: E402
from slurm_cluster import cluster, node_venv  # noqa: E402,F401  (the SLURM cluster fixtures, for every test module)

KERNEL_NAME = "mpigo"

# set before anything imports jupyter paths; KernelTests reads them at class set-up
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")


def _skips_are_failures() -> bool:
    """As root on Debian, install/setup.sh can install everything a test needs
    (Chromium, Node.js packages, shellcheck, SLURM, MPICH, ...): a skip there
    means a broken set-up, and would otherwise pass unnoticed in CI."""
    return os.geteuid() == 0 and os.path.exists("/etc/debian_version")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and _skips_are_failures():
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = (
            f"skipped as root on Debian, where install/setup.sh installs what every test needs: {reason}"
        )


def _build(binary: Path) -> None:
    env = dict(os.environ)
    if os.path.isdir("/usr/local/go/bin"):
        env["PATH"] = "/usr/local/go/bin:" + env.get("PATH", "")
    subprocess.run(
        ["go", "build", "-o", str(binary), "./cmd/mpigo"], cwd=helpers.ROOT, env=env, check=True
    )


@pytest.fixture(scope="session")
def mpigo_bin() -> Path:
    """Absolute path of the mpigo binary under test."""
    binary = Path(os.environ.get("MPIGO_BIN") or helpers.ROOT / "bin" / "mpigo").resolve()
    if not binary.exists():
        _build(binary)
    return binary


@pytest.fixture(scope="session", autouse=True)
def kernel_spec(mpigo_bin, tmp_path_factory) -> Path:
    """Installs the kernel spec into a temporary prefix and points JUPYTER_PATH at it.
    Returns the kernel spec directory."""
    prefix = tmp_path_factory.mktemp("prefix")
    subprocess.run(
        [str(mpigo_bin), "install", "--prefix", str(prefix), "--name", KERNEL_NAME],
        check=True,
        timeout=60,
    )
    data_dir = prefix / "share" / "jupyter"
    spec_dir = data_dir / "kernels" / KERNEL_NAME
    assert (spec_dir / "kernel.json").is_file(), f"mpigo install --prefix wrote no {spec_dir}/kernel.json"
    old = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "JUPYTER_RUNTIME_DIR")}
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(data_dir), old["JUPYTER_PATH"]]))
    os.environ["JUPYTER_RUNTIME_DIR"] = str(tmp_path_factory.mktemp("runtime"))
    yield spec_dir
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@dataclasses.dataclass
class Kernel:
    """A started mpigo kernel and a client connected to it."""

    km: KernelManager
    kc: BlockingKernelClient
    log: Path  # the kernel's stdout and stderr
    pid: int  # of the kernel process (kept after it is gone)
    logf: object = None  # open file behind log (a restart launches with it again)

    def run(self, code: str, **kw) -> helpers.Execution:
        return helpers.run(self.kc, code, **kw)

    def ok(self, code: str, **kw) -> helpers.Execution:
        return helpers.ok(self.kc, code, **kw)


def start_kernel(log: Path, env: dict | None = None, base: dict | None = None, cwd: str | None = None) -> Kernel:
    """A kernel with the environment base (os.environ by default) plus env,
    in cwd, logging to log; stopped again if it does not get ready."""
    km = KernelManager(kernel_name=KERNEL_NAME)
    logf = open(log, "ab")
    try:
        km.start_kernel(env=dict(os.environ if base is None else base, **(env or {})), cwd=cwd, stdout=logf, stderr=logf)
    except Exception:
        logf.close()
        raise
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
    except Exception:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        logf.close()
        raise
    return Kernel(km, kc, log, km.provisioner.process.pid, logf)


def stop_kernel(k: Kernel) -> None:
    try:
        k.kc.stop_channels()
    finally:
        if k.km.has_kernel:
            try:
                k.km.shutdown_kernel(now=False)
            except Exception as e:  # already gone, or stuck
                print(f"shutdown_kernel: {e!r}")
                k.km.shutdown_kernel(now=True)
        if k.logf is not None:
            k.logf.close()
        # shown by pytest only when the test failed
        if k.log.exists():
            tail = k.log.read_text(errors="replace")[-4000:]
            print(f"---- kernel log ({k.log}) ----\n{tail}")


@pytest.fixture
def kernel(tmp_path) -> Kernel:
    """A fresh kernel for one test."""
    k = start_kernel(tmp_path / "kernel.log")
    yield k
    stop_kernel(k)


@pytest.fixture
def kc(kernel) -> BlockingKernelClient:
    return kernel.kc


@pytest.fixture(scope="module")
def shared_kernel(tmp_path_factory) -> Kernel:
    """One kernel for the tests of a module that only query it or run cells
    that do not depend on earlier state (saves a start per test)."""
    k = start_kernel(tmp_path_factory.mktemp("kernel") / "kernel.log")
    yield k
    stop_kernel(k)


@pytest.fixture
def skc(shared_kernel) -> BlockingKernelClient:
    """The client of the module's shared kernel."""
    return shared_kernel.kc
