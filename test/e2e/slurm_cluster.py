"""The SLURM cluster of install/slurm-cluster.sh as a session fixture,
`cluster`, shared by the SLURM tests (conftest.py imports it): two nodes
(network namespaces n1 and n2, 8 CPUs each).

The fixture starts the cluster (or uses the one already running in the same
state directory, $MPIGO_SLURM_DIR or the script's default) and stops it at
the end if it started it. Needs root and network namespaces; skipped
otherwise, with the reason.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import helpers

SCRIPT = helpers.ROOT / "install" / "slurm-cluster.sh"
JOB = helpers.ROOT / "test" / "slurm" / "srun-and-mpirun.sh"
NODES = 2
CPUS = 8  # per node, the script's default


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root: slurmd and network namespaces (run as root, as CI does)"
    if not Path("/proc/self/ns/net").exists():
        return "this kernel has no network namespaces"
    r = subprocess.run(["unshare", "--net", "true"], capture_output=True, text=True)
    if r.returncode != 0:
        return f"cannot make a network namespace here (unshare --net: {r.stderr.strip()})"
    if not shutil.which("apt-get") and not shutil.which("slurmctld"):
        return "no slurmctld and no apt-get to install it"
    return None


@dataclasses.dataclass
class Cluster:
    env: dict  # os.environ pointed at the cluster, with no inherited job
    shared: Path  # a directory every node sees
    prog: Path  # the MPI test program (test/slurm/hostname), built there

    def run(self, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run(
            list(args), env=self.env, cwd=self.shared, capture_output=True, text=True, timeout=timeout
        )
        if check and r.returncode != 0:
            raise AssertionError(f"{args} exited {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}")
        return r


def _script(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(
            f"slurm-cluster.sh {' '.join(args)} exited {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
        )
    return r


def _clean_env() -> dict:
    """os.environ without what a surrounding job or MPI launch would leak in."""
    return {k: v for k, v in os.environ.items() if not re.match(r"(SLURM|SALLOC|SBATCH|SRUN|OMPI|PMIX|PMI)_", k)}


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    was_running = _script("status", check=False).returncode == 0
    t0 = time.monotonic()
    r = _script("start", "--nodes", str(NODES), timeout=300)
    print(f"cluster start: {time.monotonic() - t0:.1f} s (already running: {was_running})\n{r.stdout}")
    env = _clean_env()
    for line in _script("env").stdout.splitlines():
        m = re.fullmatch(r"export (\w+)=(.*)", line)
        if m:
            env[m[1]] = m[2]
    assert "SLURM_CONF" in env, "slurm-cluster.sh env printed no SLURM_CONF"
    shared = Path(env["MPIGO_SLURM_SHARED"]) / f"test-{os.getpid()}"
    shared.mkdir(parents=True, exist_ok=True)
    prog = shared / "hostname"
    go_env = dict(env)
    if os.path.isdir("/usr/local/go/bin"):
        go_env["PATH"] = "/usr/local/go/bin:" + go_env.get("PATH", "")
    # -tags ompi: srun --mpi=pmix needs the Open MPI build whatever `mpi` points at
    subprocess.run(
        ["go", "build", "-tags", "ompi", "-o", str(prog), "./test/slurm/hostname"],
        cwd=helpers.ROOT,
        env=go_env,
        check=True,
        timeout=300,
    )
    try:
        yield Cluster(env, shared, prog)
    finally:
        shutil.rmtree(shared, ignore_errors=True)
        if not was_running:
            t0 = time.monotonic()
            _script("stop")
            print(f"cluster stop: {time.monotonic() - t0:.1f} s")
            left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
            assert "mpigo-" not in left, f"network namespaces left after stop:\n{left}"
            assert _script("status", check=False).returncode == 3


# ---------------------------------------------------------------------------
# Jupyter on the nodes (test_workshop_profile.py, test_ood.py): a notebook
# server or nbclient started inside a job runs on n1 or n2, where /tmp is the
# node's own. What it needs must be at paths every node sees.
# ---------------------------------------------------------------------------


def visible_on_nodes(path: Path) -> bool:
    """Whether the nodes see path as this host does (all but /tmp)."""
    p = Path(path).resolve()
    return not (p == Path("/tmp") or Path("/tmp") in p.parents)


@dataclasses.dataclass
class NodeJupyter:
    """The mpigo kernel spec and Jupyter's directories in the shared directory."""

    mpigo: Path  # a copy of bin/mpigo
    data_dir: Path  # holds kernels/mpigo (mpigo install --prefix), for JUPYTER_PATH
    runtime_dir: Path  # JUPYTER_RUNTIME_DIR: connection files

    def env(self, cluster: Cluster, **extra: str) -> dict:
        """cluster.env for a Jupyter program started in a job: Go on PATH (for
        %mpirun builds), the shared kernel spec first on JUPYTER_PATH, and no
        XDG_CACHE_HOME under /tmp (the build cache must be seen by the node
        that runs the ranks, ~/.cache/mpigo is)."""
        env = dict(cluster.env)
        env["PATH"] = "/usr/local/go/bin:" + env.get("PATH", "")
        env["JUPYTER_PATH"] = str(self.data_dir)  # only this spec: no stale /tmp path of this host
        env["JUPYTER_RUNTIME_DIR"] = str(self.runtime_dir)
        if not visible_on_nodes(Path(env.get("XDG_CACHE_HOME", "/"))):
            del env["XDG_CACHE_HOME"]
        env.update(extra)
        return env


def node_jupyter(cluster: Cluster, mpigo_bin: Path, name: str) -> NodeJupyter:
    """Copies mpigo into cluster.shared/name and installs its kernel spec
    there with `mpigo install --prefix` (the spec's argv names the copy)."""
    top = cluster.shared / name
    top.mkdir(parents=True, exist_ok=True)
    mpigo = top / "mpigo"
    shutil.copy2(mpigo_bin, mpigo)
    prefix = top / "prefix"
    subprocess.run([str(mpigo), "install", "--prefix", str(prefix)], check=True, timeout=60, capture_output=True)
    data_dir = prefix / "share" / "jupyter"
    spec = data_dir / "kernels" / "mpigo" / "kernel.json"
    assert str(mpigo) in spec.read_text(), f"{spec} does not start {mpigo}:\n{spec.read_text()}"
    runtime = top / "runtime"
    runtime.mkdir(exist_ok=True)
    return NodeJupyter(mpigo, data_dir, runtime)


VENV = helpers.ROOT / ".venv"
REQUIREMENTS = helpers.ROOT / "install" / "requirements.txt"


@pytest.fixture(scope="session")
def node_venv(cluster) -> Path:
    """The bin directory of a Python environment with the project's Jupyter
    stack (install/requirements.txt) at a path the nodes see: the project's
    .venv, or, when the checkout lies under /tmp (the nodes have their own),
    a venv of the same requirements in the cluster's shared directory, made
    once per requirements file and kept for later runs."""
    if visible_on_nodes(VENV):
        return VENV / "bin"
    key = hashlib.sha256(REQUIREMENTS.read_bytes() + os.fsencode(os.path.realpath(VENV / "bin" / "python"))).hexdigest()[:16]
    target = cluster.shared.parent / f"venv-{key}"
    with open(cluster.shared.parent / "venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one maker; other test sessions wait
        if not (target / ".complete").exists():
            shutil.rmtree(target, ignore_errors=True)
            subprocess.run([os.path.realpath(VENV / "bin" / "python"), "-m", "venv", str(target)], check=True, timeout=120)
            env = dict(os.environ, MPICC=shutil.which("mpicc.openmpi") or shutil.which("mpicc") or "mpicc")
            # the same pip invocation as install/setup.sh: its wheel cache makes this quick
            subprocess.run([str(target / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                            "--no-binary", "mpi4py", "-r", str(REQUIREMENTS)], check=True, timeout=900, env=env)  # fmt: skip
            (target / ".complete").touch()
    return target / "bin"
