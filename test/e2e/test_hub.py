"""JupyterHub with batchspawner on the SLURM cluster of install/slurm-cluster.sh,
end to end in a browser, as a workshop's users meet mpigo.

The hub (the project's venv: JupyterHub 4.1, batchspawner, wrapspawner) runs
on this host as root, with the SHIPPED install/cluster/jupyterhub_config.py
and only site values on top (see SITE_CONFIG: addresses, ports, paths,
partition, node memory), its proxy configurable-http-proxy from
install/hub/ (npm ci, pinned by the lock file). mpigo is installed as a
site would: install/cluster/install.sh into a prefix with its Lmod module, in
a directory every node sees. A Unix user made for the test logs in on the
hub's login page in headless Chromium (test/browser/hub-login.js; PAM, the
hub's default authenticator), picks the workshop profile, and batchspawner
submits the server with `sudo -E -u USER sbatch`: it runs as one task in step
0 of a SLURM job on n1 or n2 and reports to the hub's API over the cluster's
bridge. In JupyterLab the user runs notebook 00 whole (Run > Run All Cells)
and saves it; the test then checks

- the job: one job of the user, 4 CPUs on one node, step 0 holding one task,
  one notebook server process (not one per task), the mpigo kernel on the
  job's node (in that node's network namespace);
- the saved notebook: every cell ran, with the output its metadata expects
  (helpers.check_executed_notebook, as for nbconvert), and two cells the
  test appends: the kernel sees the job and step 0 on that node, and
  `%mpirun -n 4 --verbose` launched `srun --overlap -n 4` with the four ranks
  in a step of their own of the same job, on that node;
- "Stop My Server" on the hub's control panel: the job ends (gone from
  squeue, CANCELLED in scontrol) and no process of the user is left on any
  node (the nodes share this host's PID namespace: pgrep -u sees them all).

Teardown, even after a failure: the browser, the user's jobs (scancel -u:
only the test user's), the hub and its proxy, the user's processes, the user
(userdel -r) and the installed prefix. Screenshots: out/test-artifacts/hub-*.png.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

import helpers

HUB_CONFIG = helpers.ROOT / "install" / "cluster" / "jupyterhub_config.py"
PROXY = helpers.ROOT / "install" / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"
DRIVER = helpers.ROOT / "test" / "browser" / "hub-login.js"
ARTIFACTS = helpers.ROOT / "out" / "test-artifacts"
NOTEBOOK = helpers.ROOT / "notebooks" / "00-introduction.ipynb"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
LMOD_INIT = "/etc/profile.d/lmod.sh"  # Debian's lmod: exports BASH_ENV, so job shells know `module`
PROFILE = "mpi4"
PROFILE_LABEL = r"^Workshop: 4 MPI ranks on 1 node"
RANKS = 4

# The hub's configuration: the shipped file, then this site's values.
SITE_CONFIG = """\
c = get_config()  # noqa: F821
load_subconfig({shipped!r})  # noqa: F821 (JupyterHub's config loader)

# ---- site values of the test cluster ----
# the browser reaches the hub through the proxy on this host
c.JupyterHub.bind_url = "http://127.0.0.1:{public_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
# the proxy from install/hub (npm ci), not a global install
c.ConfigurableHTTPProxy.command = [{proxy!r}]
# the hub's API on the cluster's bridge: the servers on the nodes report to it
c.JupyterHub.hub_ip = "{bridge}"
c.JupyterHub.hub_port = {hub_port}
# (the hub runs in the test's directory: its database, cookie secret and the
# proxy's pid file land there)
c.SlurmSpawner.req_partition = "debug"
# the test cluster's slurm.conf is not in /etc/slurm: sbatch, squeue and
# scancel (run with the spawner's environment) and the job need SLURM_CONF;
# MODULEPATH: where install/cluster/install.sh put the modulefiles
c.Spawner.environment = {{"SLURM_CONF": {slurm_conf!r}, "MODULEPATH": {modulepath!r}}}
# the Jupyter stack is the project's venv (sudo's secure_path is the job's PATH)
c.SlurmSpawner.batchspawner_singleuser_cmd = {venv_bin!r} + "/batchspawner-singleuser"
c.Spawner.cmd = [{venv_bin!r} + "/jupyterhub-singleuser"]
# node names are not in this host's DNS: node nI is {subnet}.(10+I) (I < 10)
c.SlurmSpawner.state_exechost_re = r"\\s+n([1-9])$"
c.SlurmSpawner.state_exechost_exp = r"{subnet}.1\\1"
# the test nodes declare {node_mb} MB of memory (slurm-cluster.sh): the
# workshop profile's 4G would be refused
for _p in c.ProfilesSpawner.profiles:
    if _p[1] == {profile!r}:
        _p[3]["req_memory"] = "1G"
"""


@pytest.fixture
def node_bin(cluster, node_venv) -> str:
    """The node binary; a missing piece is a failure (as root on Debian,
    install/setup.sh installs them all), with what to run. (Not root, no
    network namespaces: the cluster fixture skips.)"""
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    node = shutil.which("node")
    if node is None:
        missing.append("node (Node.js 20) on PATH")
    if not (DRIVER.parent / "node_modules" / "playwright-core" / "package.json").is_file():
        missing.append(f"playwright-core (npm ci in {DRIVER.parent})")
    if not PROXY.exists():
        missing.append(f"configurable-http-proxy (npm ci in {PROXY.parents[2]})")
    if not shutil.which("sudo"):
        missing.append("sudo (apt-get install sudo): batchspawner runs sbatch as the user with it")
    if not os.path.exists(LMOD_INIT):
        missing.append("Lmod (apt-get install lmod): the job runs `module load mpigo`")
    for exe in ("jupyterhub", "batchspawner-singleuser", "jupyterhub-singleuser", "jupyter-lab"):
        if not (node_venv / exe).exists():
            missing.append(f"{exe} in {node_venv} (install/setup.sh makes .venv)")
    assert not missing, "missing: " + "; ".join(missing)
    return node


def _run(*args, check=True, timeout=60, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{args} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def _pids_of(user: str) -> list:
    r = subprocess.run(["pgrep", "-u", user], capture_output=True, text=True)
    return [int(p) for p in r.stdout.split()]


def _ps(pids) -> str:
    if not pids:
        return ""
    return _run("ps", "-o", "pid,user,args", "-p", ",".join(map(str, pids)), check=False).stdout


class Lines:
    """The driver's stdout, one JSON event a line, read with bounded waits."""

    def __init__(self, stream):
        self.q: queue.Queue = queue.Queue()
        self.seen: list = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            self.q.put(line)
        self.q.put(None)

    def event(self, name: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no {name!r} event from {DRIVER.name} within {timeout:.0f} s; it said: {self.seen}"
            try:
                line = self.q.get(timeout=left)
            except queue.Empty:
                continue
            assert line is not None, f"{DRIVER.name} ended before its {name!r} event; it said: {self.seen}"
            self.seen.append(line.rstrip())
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("event") == name:
                return ev


@dataclasses.dataclass
class Site:
    prefix: Path  # install.sh's PREFIX: bin/mpigo, share/jupyter/kernels/mpigo
    modules: Path  # its MODULEFILES_DIR: mpigo/VERSION.lua (and the go stand-in)


@pytest.fixture
def site(cluster, node_bin):
    """mpigo installed the cluster way: install/cluster/install.sh into a
    prefix with its modulefile, plus a stand-in for the site's `go` module,
    in a directory the nodes see and the user can read."""
    top = cluster.shared / f"hub-{secrets.token_hex(4)}"
    prefix, modules = top / "sw" / "mpigo", top / "modulefiles"
    env = dict(cluster.env, PATH="/usr/local/go/bin:" + cluster.env.get("PATH", ""))
    # Go comes from the site's `go` module (below); Open MPI is Debian's, on
    # every default PATH: no MPI module to load
    env.update(MPIGO_GO_MODULE="go", MPIGO_MPI_MODULE="")
    try:
        _run("bash", str(helpers.ROOT / "install" / "cluster" / "install.sh"), str(prefix), str(modules), env=env, timeout=600)
        go_root = _run("go", "env", "GOROOT", env=env).stdout.strip()
        (modules / "go").mkdir()
        (modules / "go" / "site.lua").write_text(f'prepend_path("PATH", "{go_root}/bin")\n')
        yield Site(prefix, modules)
    finally:
        shutil.rmtree(top, ignore_errors=True)


# Cells appended to the user's copy of notebook 00 (after its own): where the
# kernel runs, and how %mpirun launches there. Checked by their "expect"
# metadata and, with the job's id and node, by the test.
KERNEL_CELL = (
    'host, _ := os.Hostname()\n'
    'fmt.Printf("kernel job=%s step=%s host=%s\\n", os.Getenv("SLURM_JOB_ID"), os.Getenv("SLURM_STEP_ID"), host)'
)
MPIRUN_CELL = (
    f"%mpirun -n {RANKS} --verbose\n"
    'fmt.Printf("rank %d of %d on %s job %s step %s\\n", mpi.World.Rank(), mpi.World.Size(), '
    'mpi.ProcessorName(), os.Getenv("SLURM_JOB_ID"), os.Getenv("SLURM_STEP_ID"))'
)
KERNEL_RE = re.compile(r"^kernel job=(\d+) step=(\S*) host=(\S+)$", re.M)
LAUNCH_RE = re.compile(r"^mpigo: launch: (.*)$", re.M)
RANK_RE = re.compile(r"^\[rank (\d+)\] rank (\d+) of (\d+) on (\S+) job (\d+) step (\d+)$", re.M)


def _notebook_copy() -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    helpers.check_unexecuted_notebook(NOTEBOOK.name, nb)
    nb.cells.append(nbformat.v4.new_markdown_cell("Added by test/e2e/test_hub.py: where the kernel and the ranks run."))
    for source, expect in [
        (KERNEL_CELL, [r"^kernel job=\d+ step=0 host=n\d+$"]),
        (MPIRUN_CELL, [rf"^mpigo: launch: .*/srun --overlap -n {RANKS} ", rf"all {RANKS} ranks exited 0"]),
    ]:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["mpigo"] = {"expect": expect}
        nb.cells.append(cell)
    return nb


@pytest.fixture
def user(node_bin):
    """An ordinary Unix user with a home directory and a password (PAM), the
    workshop notebook in its home; deleted afterwards with its home, after
    its jobs and processes are ended."""
    name = f"mpigo-hub-{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(12)
    _run("useradd", "--create-home", "--shell", "/bin/bash", name)
    try:
        _run("chpasswd", input=f"{name}:{password}\n")
        home = Path(os.path.expanduser(f"~{name}"))
        nb = home / NOTEBOOK.name
        nbformat.write(_notebook_copy(), nb)
        shutil.chown(nb, name, name)
        yield name, password, home
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = _pids_of(name)
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            helpers.wait_for(lambda: not _pids_of(name), timeout=5, interval=0.1)
        _run("userdel", "--remove", name, check=False)  # "mail spool not found" and the like are fine
        assert subprocess.run(["id", name], capture_output=True).returncode != 0, f"user {name} not deleted"


class Hub:
    def __init__(self, proc, log: Path, state: Path, url: str):
        self.proc, self.log, self.state, self.url = proc, log, state, url

    def log_tail(self, n: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""


def _stop_hub(hub: Hub) -> None:
    """SIGTERM to the hub (it stops its proxy too), SIGKILL after 15 s; then
    the proxy by its pid file, should it be left."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        if hub.proc.poll() is not None:
            break
        hub.proc.send_signal(sig)
        try:
            hub.proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            pass
    pidfile = hub.state / "jupyterhub-proxy.pid"
    if pidfile.exists():
        pid = int(pidfile.read_text().strip() or 0)
        if pid and any("configurable-http-proxy" in a for a in helpers.cmdline(pid)):
            os.kill(pid, signal.SIGTERM)
            if not helpers.wait_for(lambda: not helpers.alive(pid), timeout=5):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def hub(cluster, node_bin, site, user, tmp_path, node_venv):
    """The hub, as root, with the shipped config and the site values; up when
    its API answers through the proxy."""
    name, _, _ = user
    state = tmp_path / "hub"
    state.mkdir()
    bridge = re.sub(r"\.\d+$", ".1", _node_addr(cluster, "n1"))  # the host's end of the bridge
    subnet = bridge.rsplit(".", 1)[0]
    public = helpers.free_port("127.0.0.1")
    config = SITE_CONFIG.format(
        shipped=str(HUB_CONFIG), public_port=public, proxy_api_port=helpers.free_port("127.0.0.1"), proxy=str(PROXY),
        bridge=bridge, hub_port=helpers.free_port(bridge), slurm_conf=cluster.env["SLURM_CONF"],
        modulepath=str(site.modules), venv_bin=str(node_venv), subnet=subnet, node_mb=_node_memory(cluster, "n1"),
        profile=PROFILE,
    )  # fmt: skip
    (state / "jupyterhub_config.py").write_text(config)
    log = state / "hub.log"
    with open(log, "wb") as logf:
        proc = subprocess.Popen(
            [str(node_venv / "jupyterhub"), "-f", str(state / "jupyterhub_config.py")],
            cwd=state, env=cluster.env, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True,
        )  # fmt: skip
    h = Hub(proc, log, state, f"http://127.0.0.1:{public}")
    try:
        t0 = time.monotonic()

        def up():
            assert proc.poll() is None, f"jupyterhub exited {proc.returncode}:\n{h.log_tail()}"
            try:
                with urllib.request.urlopen(f"{h.url}/hub/api", timeout=2) as r:
                    return r.status == 200 and "version" in json.loads(r.read())
            except OSError:
                return False

        assert helpers.wait_for(up, timeout=60, interval=0.2), f"the hub did not answer within 60 s:\n{h.log_tail()}"
        print(f"hub up in {time.monotonic() - t0:.1f} s at {h.url}")
        yield h
    finally:
        # the user's jobs first (only the test user's): the server, if still there
        cluster.run("scancel", "--user", name, check=False)
        helpers.wait_for(lambda: not _jobs(cluster, name), timeout=20, interval=0.2)
        _stop_hub(h)
        print(f"---- hub log ({log}) ----\n{h.log_tail(8000)}")


def _node_addr(cluster, node: str) -> str:
    out = cluster.run("scontrol", "show", "node", node).stdout
    m = re.search(r"NodeAddr=(\S+)", out)
    assert m, out
    return m[1]


def _node_memory(cluster, node: str) -> int:
    out = cluster.run("scontrol", "show", "node", node).stdout
    m = re.search(r"RealMemory=(\d+)", out)
    assert m, out
    return int(m[1])


def _jobs(cluster, user: str) -> list:
    """[(id, state, nodes)] of user's jobs in the queue."""
    out = cluster.run("squeue", "-h", "-u", user, "-o", "%i %T %N", check=False).stdout
    return [tuple(line.split()) for line in out.splitlines() if line.strip()]


def _head_tail(text: str, n: int = 2500) -> str:
    return text if len(text) <= 2 * n else f"{text[:n]}\n[...]\n{text[-n:]}"


def _field(text: str, name: str) -> str:
    m = re.search(rf"\b{name}=(\S+)", text)
    return m[1] if m else ""


def test_workshop_on_jupyterhub(cluster, node_bin, site, user, hub, node_venv):
    name, password, home = user
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("hub-*.png"):
        old.unlink()
    err = hub.state / "driver.err"
    t0 = time.monotonic()
    with open(err, "w") as errf:
        driver = subprocess.Popen(
            [node_bin, str(DRIVER), "--url", hub.url, "--user", name, "--password", "-", "--profile", PROFILE,
             "--profile-label", PROFILE_LABEL, "--notebook", NOTEBOOK.name, "--screenshots", str(ARTIFACTS),
             "--spawn-timeout", "120", "--run-timeout", "150"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errf, text=True, start_new_session=True,
        )  # fmt: skip
    lines = Lines(driver.stdout)

    def explain() -> str:
        job_logs = "".join(
            f"\n---- {p} (head and tail) ----\n{_head_tail(p.read_text(errors='replace'))}" for p in home.glob("jupyterhub_slurmspawner_*.log")
        )
        return (
            f"\n---- {DRIVER.name} stderr ----\n{err.read_text(errors='replace')[-6000:]}{job_logs}"
            f"\n---- hub log (tail) ----\n{hub.log_tail(4000)}"
        )

    try:
        driver.stdin.write(password + "\n")
        driver.stdin.flush()
        try:
            ran = lines.event("ran", timeout=300)
        except AssertionError as e:
            raise AssertionError(f"{e}{explain()}") from None
        print(f"notebook ran in the browser: {json.dumps(ran['timings'])}")
        assert ran["kernel"] == "Go (mpigo)", ran

        # --- the job, while the server runs: one job of the user, the
        # workshop profile's shape, the server one task in step 0
        jobs = _jobs(cluster, name)
        assert len(jobs) == 1 and jobs[0][1] == "RUNNING", f"the user's jobs: {jobs}{explain()}"
        job, _, node = jobs[0]
        assert re.fullmatch(r"n\d+", node), f"job {job} runs on {node!r}, not one node"
        info = cluster.run("scontrol", "show", "job", job).stdout
        assert (_field(info, "NumNodes"), _field(info, "NumCPUs"), _field(info, "NumTasks")) == ("1", "4", "4"), info
        assert _field(info, "JobName") == "spawner-jupyterhub", info  # batchspawner's job
        step0 = cluster.run("scontrol", "show", "step", f"{job}.0").stdout
        assert _field(step0, "Tasks") == "1" and _field(step0, "NodeList") == node, f"step 0 of job {job}:\n{step0}"
        # (python batchspawner-singleuser jupyterhub-singleuser: one process,
        # under srun's; with a plain srun there would be 4)
        servers = [p for p in _pids_of(name) if helpers.cmdline(p)[1:2] == [f"{node_venv}/batchspawner-singleuser"]]
        assert len(servers) == 1, f"want one notebook server process of {name}:\n{_ps(_pids_of(name))}{explain()}"
        # the kernel is the module's mpigo (install.sh's prefix): the job loaded the module
        kernels = [p for p in _pids_of(name) if helpers.cmdline(p)[1:2] == ["kernel"]]
        assert kernels, f"no mpigo kernel process of {name}:\n{_ps(_pids_of(name))}{explain()}"
        for pid in kernels:
            env = helpers.environ(pid)
            assert helpers.cmdline(pid)[0] == str(site.prefix / "bin" / "mpigo"), (
                f"the kernel is not the module's: {_ps([pid])} (JUPYTER_PATH={env.get('JUPYTER_PATH')!r}, "
                f"LOADEDMODULES={env.get('LOADEDMODULES')!r}){explain()}"
            )
        for pid in kernels + servers:
            ns = _run("ip", "netns", "identify", str(pid)).stdout.split()
            assert ns == [f"mpigo-{node}"], f"process {pid} runs in network namespace {ns}, not {node}'s"

        # --- the notebook as JupyterLab saved it: every cell of notebook 00
        # ran with its expected output, and the test's two cells
        nb = nbformat.read(home / NOTEBOOK.name, as_version=4)
        try:
            helpers.check_executed_notebook(NOTEBOOK.name, nb)
        except AssertionError as e:
            shown = "".join(f"\n---- cell {i} ----\n{c.source}\n---- shows ----\n{helpers.cell_text(c)}" for i, c in enumerate(nb.cells) if c.cell_type == "code")
            raise AssertionError(f"{e}\n{shown}{explain()}") from None
        code = [c for c in nb.cells if c.cell_type == "code"]
        want = sum(c.cell_type == "code" for c in nbformat.read(NOTEBOOK, as_version=4).cells) + 2
        assert len(code) == want, f"{len(code)} code cells in the saved notebook, not notebook 00's and the test's {want}"
        kernel_out, mpirun_out = helpers.cell_text(code[-2]), helpers.cell_text(code[-1])
        m = KERNEL_RE.search(kernel_out)
        assert m and m.groups() == (job, "0", node), f"the kernel is not in step 0 of job {job} on {node}:\n{kernel_out}"
        launch = LAUNCH_RE.search(mpirun_out)
        assert launch, mpirun_out
        # (the launch line: the ranks' environment, then the launcher's command)
        assert re.search(rf"(^|\s)/\S*/srun --overlap -n {RANKS} ", launch[1]), launch[1]
        ranks = {int(r[1]): r.groups() for r in RANK_RE.finditer(mpirun_out)}
        assert sorted(ranks) == list(range(RANKS)), mpirun_out
        for label, rank, size, host, rjob, step in ranks.values():
            assert (label, size, host, rjob) == (rank, str(RANKS), node, job), f"rank {label}: {ranks[int(label)]}"
            assert step != "0", f"rank {label} ran in the server's step 0, not a step of its own"
        first = next(c for c in code if c.source.startswith(f"%mpirun -n {RANKS}\n"))
        hosts = set(re.findall(r"^\[rank \d\] Hello, world! I am rank \d of 4, running on (\S+) ", helpers.cell_text(first), re.M))
        assert hosts == {node}, f"notebook 00's hello world ran on {hosts}, not the job's node {node}"

        # --- Stop My Server: the job ends, nothing of the user is left
        t_stop = time.monotonic()
        driver.stdin.write("stop\n")
        driver.stdin.flush()
        try:
            stopped = lines.event("stopped", timeout=90)
        except AssertionError as e:
            raise AssertionError(f"{e}{explain()}") from None
        assert driver.wait(timeout=30) == 0, explain()
        print(f"stopped from the control panel in {time.monotonic() - t_stop:.1f} s: {json.dumps(stopped['timings'])}")
        assert helpers.wait_for(lambda: not _jobs(cluster, name), timeout=30, interval=0.2), _jobs(cluster, name)
        state = _field(cluster.run("scontrol", "show", "job", job).stdout, "JobState")
        assert state == "CANCELLED", f"job {job} ended {state}"
        assert helpers.wait_for(lambda: not _pids_of(name), timeout=30, interval=0.2), (
            f"processes of {name} left after the server stopped:\n{_ps(_pids_of(name))}"
        )
        for shot in ("login", "spawn-form", "lab-notebook", "lab-mpirun", "home-stopped"):
            assert (ARTIFACTS / f"hub-{shot}.png").is_file(), shot
        print(f"whole run {time.monotonic() - t0:.1f} s")
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait(timeout=10)
