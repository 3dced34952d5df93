"""The Open OnDemand shape: JupyterLab started directly in a batch script.

Open OnDemand's Jupyter app submits a batch job whose script starts
`jupyter lab` itself, with no srun: the server, and the kernels it starts,
run in the job's batch step on its first node, with SLURM_JOB_ID set and no
SLURM_STEP_ID. The script picks a free port, makes a token and writes them
where the portal reads them, and the user's browser then talks to the server
on the node's address.

Here a job of `-N 2 --ntasks-per-node=2` on the cluster of
install/slurm-cluster.sh does that with the project's virtual environment;
the test reads the connection file, starts an mpigo kernel through the
server's REST API (POST /api/kernels), runs an `%mpirun -n 4` cell over the
kernel's websocket (/api/kernels/ID/channels, as JupyterLab does), and checks
that the ranks ran with srun (a new step; no --overlap outside a step) on BOTH
nodes and that their output came back, and that a fifth rank is refused (the
job holds 4 CPUs). Then it cancels the job, as the portal's Delete button
does, and checks that no process of the job is left on any node.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import websocket  # websocket-client, a dependency of jupyter_server

import helpers
from slurm_cluster import node_jupyter


# What Open OnDemand's Jupyter app does (its template/script.sh.erb), in short:
# a free port, a token, the connection file the portal reads, then the server
# in the foreground. --ip: the node's cluster address (the nodes' /etc/hosts).
SCRIPT = r"""#!/bin/bash
set -euo pipefail
TOP=$1 LAB=$2 PY=$3
addr=$(hostname -i)
port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')
token=$("$PY" -c 'import secrets; print(secrets.token_hex(16))')
umask 077
printf '{"host": "%s", "addr": "%s", "port": %s, "token": "%s"}\n' "$(hostname)" "$addr" "$port" "$token" >"$TOP/connection.json.new"
mv "$TOP/connection.json.new" "$TOP/connection.json"
root=()
[[ $(id -u) -ne 0 ]] || root=(--allow-root)
"$LAB" --no-browser "${root[@]}" --ip="$addr" --port="$port" --ServerApp.port_retries=0 \
	--IdentityProvider.token="$token" --ServerApp.root_dir="$TOP/work"
"""

CELL = """%mpirun -n 4 --verbose --timeout 60s
host, _ := os.Hostname()
fmt.Printf("rank %d of %d on %s (%s) job %s step %s\\n", mpi.World.Rank(), mpi.World.Size(), mpi.ProcessorName(), host,
	os.Getenv("SLURM_JOB_ID"), os.Getenv("SLURM_STEP_ID"))
"""
RANK_LINE = re.compile(r"^\[rank (\d)\] rank (\d) of 4 on (\S+) \((\S+)\) job (\d+) step (\d+)$", re.M)


def job_pids(job: str) -> list:
    """Processes on this machine (the nodes are network namespaces of it)
    that belong to SLURM job `job`: every process the job starts inherits
    SLURM_JOB_ID (the batch script, jupyter lab, the kernel, srun, the ranks)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:  # gone, or a zombie
            continue
        if f"SLURM_JOB_ID={job}".encode() in env:
            pids.append(int(entry))
    return pids


def describe(pids: list) -> str:
    lines = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            lines.append(f"{pid}: {cmd[:200]}")
        except OSError:
            pass
    return "\n".join(lines)


def api(base: str, token: str, method: str, path: str, body: dict | None = None, timeout: float = 30):
    req = urllib.request.Request(
        base + path, method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, json.loads(r.read() or b"null")


def execute(ws_url: str, token: str, code: str, timeout: float) -> dict:
    """Runs code through the kernel's websocket as JupyterLab does (the JSON
    message format of jupyter_server's channels handler) and returns what
    came back: stdout, stderr, the final text of each display, the reply."""
    conn = websocket.create_connection(ws_url, header=[f"Authorization: token {token}"], timeout=timeout)
    try:
        msg_id, session = uuid.uuid4().hex, uuid.uuid4().hex
        conn.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session, "username": "test",
                       "version": "5.3", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }))  # fmt: skip
        got = {"stdout": "", "stderr": "", "displays": {}, "reply": None, "types": []}
        idle = False
        deadline = time.monotonic() + timeout
        while got["reply"] is None or not idle:
            conn.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                raw = conn.recv()
            except websocket.WebSocketTimeoutException:
                raise TimeoutError(f"no reply and idle within {timeout} s; so far: {got}") from None
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            got["types"].append(kind)
            if kind == "stream":
                got[content["name"]] += content["text"]
            elif kind in ("display_data", "update_display_data"):
                key = content.get("transient", {}).get("display_id") or len(got["displays"])
                got["displays"][key] = helpers.text(content["data"].get("text/plain", ""))
            elif kind == "error":
                got["error"] = content
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
            elif kind == "execute_reply":
                got["reply"] = content
        return got
    finally:
        conn.close()


def test_jupyter_lab_in_a_batch_script_runs_ranks_on_both_nodes(cluster, mpigo_bin, node_venv):
    lab, python = node_venv / "jupyter-lab", node_venv / "python"
    tag = uuid.uuid4().hex[:8]
    jup = node_jupyter(cluster, mpigo_bin, f"ood-{tag}")
    top = jup.mpigo.parent
    (top / "work").mkdir()
    (top / "config").mkdir()
    script = top / "jupyter.sh"
    script.write_text(SCRIPT)
    log = top / "job.log"
    name = f"mpigo-test-ood-{tag}"
    # an empty JUPYTER_CONFIG_DIR: the server runs as configured here, not
    # as a ~/.jupyter of this machine says
    env = jup.env(cluster, JUPYTER_CONFIG_DIR=str(top / "config"))
    t0 = time.monotonic()
    # --time: should this test die before its scancel, the server's job
    # still ends instead of holding 4 CPUs of the shared cluster for ever
    r = subprocess.run(
        ["sbatch", "--parsable", "-J", name, "-N", "2", "--ntasks-per-node=2", "--time=15", "-o", str(log),
         str(script), str(top), str(lab), str(python)],
        env=env, cwd=top, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, f"sbatch: {r.stderr}"
    job = r.stdout.strip().split(";")[0]
    cancelled = False
    try:
        # bounded waits: the job starts (the cluster may be busy with other
        # tests' jobs), its script writes the connection file, the server answers
        conn_file = top / "connection.json"
        deadline = time.monotonic() + 180
        while not conn_file.exists():
            state = cluster.run("squeue", "-h", "-j", job, "-o", "%T", check=False).stdout.strip()
            assert state in ("PENDING", "CONFIGURING", "RUNNING"), f"job {job} is {state or 'gone'}:\n{_log(log)}"
            assert time.monotonic() < deadline, f"job {job} wrote no {conn_file} in 180 s ({state}):\n{_log(log)}"
            time.sleep(0.2)
        info = json.loads(conn_file.read_text())
        base, token = f"http://{info['addr']}:{info['port']}", info["token"]
        nodes = set(cluster.run("scontrol", "show", "hostnames",
                                cluster.run("squeue", "-h", "-j", job, "-o", "%N").stdout.strip()).stdout.split())  # fmt: skip
        assert nodes == {"n1", "n2"}, f"job {job} got nodes {nodes}"
        assert info["host"] in nodes and re.fullmatch(r"10\.213\.0\.1\d", info["addr"]), info
        deadline, err = time.monotonic() + 90, None
        while True:
            try:
                status, body = api(base, token, "GET", "/api/status", timeout=5)
                if status == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
                err = e
                state = cluster.run("squeue", "-h", "-j", job, "-o", "%T", check=False).stdout.strip()
                assert state == "RUNNING", f"job {job} is {state or 'gone'}:\n{_log(log)}"
            assert time.monotonic() < deadline, f"no server at {base} after 90 s ({err!r}):\n{_log(log)}"
            time.sleep(0.2)
        print(f"job {job}: jupyter lab at {base} on {info['host']}, {time.monotonic() - t0:.1f} s after sbatch")

        # the server found the mpigo kernel spec (JUPYTER_PATH of the job)
        _, specs = api(base, token, "GET", "/api/kernelspecs")
        assert "mpigo" in specs["kernelspecs"], specs["kernelspecs"].keys()
        status, kernel = api(base, token, "POST", "/api/kernels", {"name": "mpigo"}, timeout=60)
        assert status == 201 and kernel["name"] == "mpigo", kernel
        ws_url = f"ws://{info['addr']}:{info['port']}/api/kernels/{kernel['id']}/channels"
        t1 = time.monotonic()
        got = execute(ws_url, token, CELL, timeout=240)
        if got["reply"]["status"] == "error" and "SIGSEGV" in got["stderr"] and "mpi.InitThread" in got["stderr"]:
            # Open MPI 4.1 now and then crashes in MPI_Init when the ranks span
            # the two nodes (see test_slurm_mpirun.SlurmKernel.run_mpi): once more
            print(f"a rank crashed in MPI_Init, once more:\n{got['stderr'][:3000]}")
            got = execute(ws_url, token, CELL, timeout=240)
        print(f"%mpirun -n 4 cell: {time.monotonic() - t1:.1f} s\nstdout:\n{got['stdout']}\nstderr:\n{got['stderr']}")
        assert got["reply"]["status"] == "ok", f"{got}\n{_log(log)}"

        # srun from the batch script: a step of its own, not squeezed into
        # one that is not there (no --overlap), with the cluster's PMIx
        launch = next((l for l in got["stdout"].splitlines() if l.startswith("mpigo: launch: ")), "")
        assert re.search(r"/srun -n 4 ", launch) and "--mpi=pmix" in launch.split(), f"launch: {launch!r}\n{got}"
        assert "--overlap" not in launch.split(), launch
        ranks = {}
        for m in RANK_LINE.finditer(got["stdout"]):
            assert m[1] == m[2] and m[3] == m[4] and m[5] == job, m[0]
            ranks[int(m[1])] = (m[3], m[6])
        assert sorted(ranks) == [0, 1, 2, 3], got["stdout"]
        hosts = [h for h, _ in ranks.values()]
        assert sorted(hosts) == ["n1", "n1", "n2", "n2"], f"ranks not 2 per node on both nodes: {ranks}"
        assert len({s for _, s in ranks.values()}) == 1, ranks
        progress = [t for t in got["displays"].values() if t.startswith("%mpirun: ")]
        assert any(t.startswith("%mpirun: done: 4 ranks with srun") for t in progress), progress

        # the batch job's CPUs (2 nodes x 2) bound -n: one rank more is refused
        # before anything starts, naming the job
        got = execute(ws_url, token, "%mpirun -n 5\nfmt.Println(mpi.World.Rank())", timeout=60)
        assert got["reply"]["status"] == "error" and got["reply"]["ename"] == "UsageError", got
        assert f"-n 5 is more ranks than this SLURM allocation (job {job})" in got["reply"]["evalue"], got["reply"]
        assert "[rank" not in got["stdout"], got["stdout"]

        # what the portal's Delete does: cancel the job, server and kernel alive
        alive = describe(job_pids(job))
        assert "jupyter-lab" in alive and f"{jup.mpigo} kernel " in alive, (
            f"the server and the kernel are not among the processes of job {job} before scancel "
            f"(the check below would prove nothing):\n{alive}"
        )
        t2 = time.monotonic()
        cluster.run("scancel", job)
        cancelled = True
        gone = helpers.wait_for(lambda: not cluster.run("squeue", "-h", "-j", job, check=False).stdout.strip(), 60, 0.2)
        assert gone, cluster.run("squeue", "-j", job, check=False).stdout
        assert helpers.wait_for(lambda: not job_pids(job), 30, 0.2), (
            f"processes of job {job} left after scancel:\n{describe(job_pids(job))}"
        )
        print(f"job {job} cancelled, nothing of it left, in {time.monotonic() - t2:.1f} s")
        with pytest.raises((urllib.error.URLError, ConnectionError, TimeoutError)):
            api(base, token, "GET", "/api/status", timeout=5)
    finally:
        if not cancelled:
            cluster.run("scancel", job, check=False)
        print(f"---- job log ----\n{_log(log)}")


def _log(log: Path) -> str:
    return log.read_text(errors="replace")[-6000:] if log.exists() else "(no job log)"
