"""The SLURM cluster of install/slurm-cluster.sh, started for real: two nodes
(network namespaces n1 and n2, 8 CPUs each), MPI programs through srun (PMIx)
and mpirun, across the nodes over TCP.

The `cluster` fixture (slurm_cluster.py) starts the cluster, or uses the one
running; needs root and network namespaces.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import helpers
from slurm_cluster import CPUS, JOB, NODES, _script


def _ranks(out: str) -> dict[int, str]:
    """rank -> host from the test program's 'rank R of N on HOST' lines."""
    return {int(m[1]): m[3] for m in re.finditer(r"^rank (\d+) of (\d+) on (\S+)$", out, re.M)}


def test_status_and_nodes_idle(cluster):
    r = _script("status")
    assert r.stdout.startswith("running:"), r.stdout
    want = [[f"n{i}", "idle", str(CPUS), "debug*"] for i in range(1, NODES + 1)]
    out = []

    def idle():
        # a job of an earlier test may still be completing: wait for it to go
        out[:] = cluster.run("sinfo", "-h", "-N", "-o", "%N %T %c %P").stdout.split("\n")
        return sorted(line.split() for line in out if line) == want

    assert helpers.wait_for(idle, timeout=60, interval=0.5), out


def test_pmix_plugin(cluster):
    r = cluster.run("srun", "--mpi=list")
    assert "pmix" in r.stdout + r.stderr


def test_srun_two_nodes_non_mpi(cluster):
    out = cluster.run("srun", "-N", "2", "-n", "4", "--mpi=none", "hostname").stdout.split()
    assert len(out) == 4 and set(out) == {"n1", "n2"}, out


def test_node_has_private_tmp(cluster):
    """Every node has its own /tmp (the script's nodes/nI/tmp): PMIx step
    directories of two nodes must not collide."""
    marker = f"mpigo-test-{os.getpid()}"
    cluster.run("srun", "-w", "n1", "--mpi=none", "touch", f"/tmp/{marker}")
    base = Path(cluster.env["MPIGO_SLURM_DIR"]) / "nodes"
    try:
        assert (base / "n1" / "tmp" / marker).exists()
        assert not (base / "n2" / "tmp" / marker).exists()
        assert not Path("/tmp", marker).exists()
    finally:
        (base / "n1" / "tmp" / marker).unlink(missing_ok=True)


def test_salloc_srun_mpi(cluster):
    r = cluster.run("salloc", "-n", "4", "srun", "--mpi=pmix", "-n", "4", str(cluster.prog))
    assert "allreduce sum=10 want=10" in r.stdout, r.stdout
    assert sorted(_ranks(r.stdout)) == [0, 1, 2, 3], r.stdout
    assert "Granted job allocation" in r.stderr


def test_two_nodes_mpi_ranks_on_both(cluster):
    """Open MPI over TCP between the nodes' network namespaces."""
    r = cluster.run("srun", "-N", "2", "--ntasks-per-node=2", str(cluster.prog))
    assert _ranks(r.stdout) == {0: "n1", 1: "n1", 2: "n2", 3: "n2"}, r.stdout
    assert "allreduce sum=10 want=10" in r.stdout


def test_salloc_beyond_cluster_refused_at_once(cluster):
    t0 = time.monotonic()
    r = cluster.run("salloc", "-n", str(NODES * CPUS + 1), "true", timeout=30, check=False)
    took = time.monotonic() - t0
    assert r.returncode != 0
    assert "More processors requested than permitted" in r.stderr, r.stderr
    assert took < 10, f"refusal took {took:.1f} s"


def test_srun_beyond_allocation_refused(cluster):
    """What %mpirun -n 8 inside salloc -n 4 meets: step creation fails at once."""
    r = cluster.run("salloc", "-n", "4", "srun", "-n", "8", str(cluster.prog), timeout=30, check=False)
    assert r.returncode != 0
    assert "Unable to create step" in r.stderr and "More processors requested than permitted" in r.stderr, r.stderr


def test_srun_overlap_inside_a_step(cluster):
    """A launcher inside an srun step of the allocation (batchspawner's shape)
    needs --overlap: without it, step creation waits for busy nodes."""
    r = cluster.run(
        "salloc", "-n", "4", "srun", "-n", "1", "--mpi=none",
        "sh", "-c", f"srun --overlap -n 4 {cluster.prog}",
    )  # fmt: skip
    assert "allreduce sum=10 want=10" in r.stdout, r.stdout + r.stderr
    assert sorted(_ranks(r.stdout)) == [0, 1, 2, 3]


def test_sbatch_wait_srun_and_mpirun(cluster):
    out = cluster.shared / "job.out"
    r = cluster.run("sbatch", "--wait", "-o", str(out), str(JOB), str(cluster.prog), timeout=90)
    assert re.match(r"Submitted batch job \d+", r.stdout), r.stdout
    text = out.read_text()
    assert re.search(r"^batch host n1, job \d+ on n\[1-2\]$", text, re.M), text
    srun_part, mpirun_part = text.split("== srun\n", 1)[1].split("== mpirun\n", 1)
    mpirun_part = mpirun_part.split("== done", 1)[0]
    for part in (srun_part, mpirun_part):
        assert _ranks(part) == {0: "n1", 1: "n1", 2: "n2", 3: "n2"}, text
        assert "allreduce sum=10 want=10" in part, text
    assert "== done" in text
