"""The batch jobs of jobs/: the programs built once with jobs/build.sh, then
every job script run as a laptop or CI runs it, `bash jobs/NN-name.sh`
without SLURM, with the teaching output of its program checked; one program
under MPICH as well; a job whose program was not built says how to build it;
and the job files checked for the #SBATCH lines the cluster needs (class-sized,
site settings commented out, no compiler in the job) and for launcher options
placed before the program (after it they are the program's arguments, the
original workshop's bug).

SLURM itself is not here: one test runs a job file the way sbatch does (a copy
in a spool directory, SLURM_* set) with a stand-in srun."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess

import pytest

from helpers import ROOT

JOBS = ROOT / "jobs"
NAMES = [
    "00-hello-world",
    "01-send-and-receive",
    "02-broadcast",
    "03-scatter",
    "04-gather",
    "05-ring",
    "06-hybrid",
]

pytestmark = pytest.mark.skipif(shutil.which("mpiexec") is None, reason="no mpiexec (install openmpi-bin)")


def job_env(**extra) -> dict:
    """The environment of a job run outside SLURM: no SLURM, MPI launcher or
    module variables inherited from whoever runs the tests."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLURM_", "OMPI_", "PMIX_", "PMI_", "HYDRA_", "MPIEXEC", "NP", "CPUS", "ITEMS", "LAUNCHER", "MPI_", "GO_TAGS"))
    }
    if os.path.isdir("/usr/local/go/bin"):
        env["PATH"] = "/usr/local/go/bin:" + env.get("PATH", "")
    env.update(extra)
    return env


# MPICH's UCX now and then fails MPI_Init on this (shared, container) machine
# while other MPI jobs start: "init_worker ... No such device". Not the jobs'
# fault; such a run is tried once more.
UCX_INIT_FAILURE = "ucx function returned with failed status"


def run_job(name: str, timeout: float = 300, **extra) -> tuple[str, str]:
    """Runs `bash jobs/NAME.sh` from the repository root; returns (stdout, stderr)."""
    out, err, rc = _run_job(name, timeout, **extra)
    if rc != 0 and UCX_INIT_FAILURE in err:
        print(f"jobs/{name}.sh: MPICH/UCX failed to initialise, once more:\n{err}")
        out, err, rc = _run_job(name, timeout, **extra)
    assert rc == 0, f"jobs/{name}.sh exited {rc}\nstdout:\n{out}\nstderr:\n{err}"
    return out, err


def _run_job(name: str, timeout: float, **extra) -> tuple[str, str, int]:
    proc = subprocess.Popen(
        ["bash", f"jobs/{name}.sh"],
        cwd=ROOT,
        env=job_env(**extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"jobs/{name}.sh ran over {timeout}s\nstdout:\n{out}\nstderr:\n{err}")
    return out, err, proc.returncode


def build(*names: str, **extra) -> str:
    """Runs `bash jobs/build.sh NAME...` (all programs without names) as a
    user does before sbatch; returns its output (stdout and stderr)."""
    proc = subprocess.run(["bash", "jobs/build.sh", *names], cwd=ROOT, env=job_env(**extra), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"jobs/build.sh exited {proc.returncode}\n{proc.stdout}{proc.stderr}"
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def compiled():
    """Builds every program for Open MPI once, with jobs/build.sh, as the jobs
    expect; returns what build.sh said."""
    return build()


def test_build_builds_every_program_once(compiled):
    # one go build for all of them, into jobs/bin/ompi/, for the MPI of mpiexec
    builds = [l for l in compiled.splitlines() if l.startswith("+ go build")]
    assert builds == [f"+ go build -tags ompi -o {ROOT}/jobs/bin/ompi/ " + " ".join(f"./jobs/src/{n}" for n in NAMES)], compiled
    for name in NAMES:
        assert os.access(JOBS / "bin" / "ompi" / name, os.X_OK), f"no jobs/bin/ompi/{name}:\n{compiled}"
    assert re.search(r"^built 7 program\(s\) in \d+ s with go[\d.]+ for .*(Open MPI|OpenRTE)", compiled, re.M), compiled


# ---- what each program must print ----------------------------------------


def check_hello(out: str, np: int, env: dict) -> None:
    lines = out.splitlines()
    assert re.fullmatch(rf"(Open MPI|MPICH) .*, {np} ranks", lines[0]), out
    hello = [re.fullmatch(r"Hello, world! I am rank (\d+) of (\d+), running on (\S+)!", l) for l in lines[1:-1]]
    assert all(hello), out
    assert [int(m[1]) for m in hello] == list(range(np)), f"every rank once, in order:\n{out}"
    assert {int(m[2]) for m in hello} == {np}, out
    m = re.fullmatch(r"ranks per node: (.*)", lines[-1])
    assert m and sum(int(c.rsplit(": ", 1)[1]) for c in m[1].split(", ")) == np, out


def check_send_receive(out: str, np: int, env: dict) -> None:
    lines = out.splitlines()
    to = "rank 1" if np == 2 else f"ranks 1..{np - 1}"
    assert lines[0] == f"I am rank 0 and about to send data=map[Dartmouth:1769] to {to} in 1s.", out
    waits = [re.fullmatch(rf"I am rank {r} and received data=map\[Dartmouth:1769\] after waiting ([\d.]+) s\.", l) for r, l in zip(range(1, np), lines[1:np])]
    assert all(waits), out
    # each receiver blocked until rank 0 sent, 1 s after the common barrier
    assert all(float(m[1]) >= 0.5 for m in waits), out
    assert lines[np:] == [f"I am rank {r} and I have data=map[Dartmouth:1769]." for r in range(np)], out


def check_broadcast(out: str, np: int, env: dict) -> None:
    def data(r, before):
        return "map[Dartmouth:1769]" if r == 0 or not before else "None"

    want = ["before the broadcast:"]
    want += [f"  I am rank {r} and my data is {data(r, True)}" for r in range(np)]
    want += ["after the broadcast:"]
    want += [f"  I am rank {r} and my data is {data(r, False)}" for r in range(np)]
    assert out.splitlines() == want, out


def check_scatter(out: str, np: int, env: dict) -> None:
    n = np * 3 + 1
    lines = out.splitlines()
    assert lines[0].startswith(f"I am rank 0 and I am preparing to scatter an array of size={n} across {np} ranks"), out
    after = lines.index("after the scatter:")
    parts = []
    for r, line in enumerate(lines[after + 1 :]):
        m = re.fullmatch(rf"  rank {r} has \[([\d ]*)\] \((\d+) elements\)", line)
        assert m, out
        part = [int(x) for x in m[1].split()]
        assert len(part) == int(m[2]), out
        parts.append(part)
    sizes = [len(p) for p in parts]
    assert len(parts) == np, out
    assert sum(sizes) == n and max(sizes) - min(sizes) <= 1, f"sizes {sizes}:\n{out}"
    assert [x for p in parts for x in p] == list(range(n)), out
    before = lines[lines.index("before the scatter:") + 1 : after]
    assert before[0] == f"  rank 0 has {str(parts).replace(',', '')}", out
    assert before[1:] == [f"  rank {r} has nothing" for r in range(1, np)], out


def check_gather(out: str, np: int, env: dict) -> None:
    lines = out.splitlines()
    ranks = " ".join(str(r) for r in range(np))
    assert lines[1] == f"  I am rank 0 and my data is [{ranks}]", out
    assert lines[2 : np + 1] == [f"  I am rank {r} and my data is None" for r in range(1, np)], out
    squares = " ".join(str(r * r) for r in range(np))
    assert lines[-1].endswith(f"rank 0 has squares=[{squares}]"), out


def check_ring(out: str, np: int, env: dict) -> None:
    lines = out.splitlines()
    want = [
        f"lap {lap}: I am rank {r} and I am sending data={(lap - 1) * np + r + 1} to rank {(r + 1) % np}"
        for lap in range(1, 6)
        for r in range(np)
    ]
    assert lines[:-1] == want, out
    # the fifth lap's last send was received: rank 0 holds 5 laps x np
    assert lines[-1] == f"after 5 laps rank 0 has data={5 * np} (5 laps x {np} ranks)", out


def check_hybrid(out: str, np: int, env: dict) -> None:
    m = re.search(r"^(\d+) work items? of 1ms \(\d+ rounds of arithmetic\); (\d+) ranks? on \d+ nodes?, (\d+) CPUs? \(goroutines\) per rank$", out, re.M)
    assert m, out
    items, ranks, cpus = (int(g) for g in m.groups())
    assert items == int(env["ITEMS"]) and ranks == np, out
    assert cpus == max(1, len(os.sched_getaffinity(0)) // np), "CPUS defaults to the cores shared among the ranks"
    nodes = f"{np} nodes" if np > 1 else "1 node"
    want = [
        ("1 CPU", 1),
        (f"1 node ({cpus} CPU{'s' if cpus > 1 else ''}) vs 1 CPU", cpus),
        (f"{nodes} vs 1 node", np),
        (f"{nodes} ({np * cpus} CPU{'s' if np * cpus > 1 else ''}) vs 1 CPU", np * cpus),
    ]
    table = out[out.index("\nwhat ") + 1 :].splitlines()
    assert table[0].split() == ["what", "time", "(s)", "speedup", "ideal", "efficiency"], out
    assert len(table) == 5, f"a header and four rows:\n{out}"
    times = {}
    for (what, ideal), line in zip(want, table[1:]):
        row = re.fullmatch(rf"{re.escape(what)} +([\d.]+) +([\d.]+) +(\d+) +(\d+)%", line)
        assert row, f"row {what!r}:\n{out}"
        times[what] = float(row[1])
        assert times[what] > 0 and int(row[3]) == ideal, out
    one_cpu, one_node, all_nodes = times[want[0][0]], times[want[1][0]], times[want[2][0]]
    assert one_cpu >= 0.5 * items * 0.001, f"{items} items of 1 ms on 1 CPU in {one_cpu} s:\n{out}"
    # each speedup is the ratio of the times it compares (timings vary on a shared machine)
    for (what, _), line, base, t in zip(want, table[1:], [one_cpu, one_cpu, one_node, one_cpu], [one_cpu, one_node, all_nodes, all_nodes]):
        speedup = float(line.split()[-3])
        assert speedup == pytest.approx(base / t, rel=0.02, abs=0.011), f"row {what!r}:\n{out}"


CASES = [
    # name, environment, check; NP left out runs the script's default
    ("00-hello-world", {}, check_hello),
    ("01-send-and-receive", {"NP": "3"}, check_send_receive),  # the original failed beyond 2 ranks
    ("02-broadcast", {}, check_broadcast),
    ("03-scatter", {"NP": "5"}, check_scatter),
    ("04-gather", {}, check_gather),
    ("05-ring", {}, check_ring),
    ("06-hybrid", {"ITEMS": "600"}, check_hybrid),
]
DEFAULT_NP = {"06-hybrid": 2}


@pytest.mark.parametrize("name, env, check", CASES, ids=[c[0] for c in CASES])
def test_job_runs(compiled, name, env, check):
    out, err = run_job(name, **env)
    np = int(env.get("NP", DEFAULT_NP.get(name, 4)))
    # the script runs what build.sh built (no compiling) and says how it
    # launches it, launcher options first
    assert "go build" not in err, err
    launch = [l for l in err.splitlines() if l.startswith("+ ")]
    assert len(launch) == 1 and launch[0].startswith("+ mpiexec ") and f" -np {np} {ROOT}/jobs/bin/ompi/{name}" in launch[0], err
    assert launch[0].index("--mca mpi_cuda_support 0") < launch[0].index(" -np "), err
    check(out, np, env)


@pytest.mark.skipif(shutil.which("mpirun.mpich") is None, reason="no mpirun.mpich (install mpich)")
def test_job_runs_under_mpich():
    said = build("00-hello-world", MPIEXEC="mpirun.mpich")
    assert f"+ go build -tags mpich -o {ROOT}/jobs/bin/mpich/ ./jobs/src/00-hello-world" in said, said
    out, err = run_job("00-hello-world", NP="3", MPIEXEC="mpirun.mpich")
    assert f"+ mpirun.mpich -np 3 {ROOT}/jobs/bin/mpich/00-hello-world" in err, err
    check_hello(out, 3, {})
    assert out.startswith("MPICH "), out


FAKE_SRUN = """#!/bin/bash
# stands in for srun: notes how it was called, starts $SLURM_NTASKS ranks with mpiexec
printf '%s\\n' "$*" "OMPI_MCA_mpi_cuda_support=${OMPI_MCA_mpi_cuda_support:-}" > "$FAKE_SRUN_LOG"
while [[ $1 == -* ]]; do shift; done
exec mpiexec --oversubscribe --allow-run-as-root -np "$SLURM_NTASKS" "$@"
"""


def test_job_runs_as_sbatch_runs_it(compiled, tmp_path):
    """The SLURM side, short of SLURM: sbatch runs a copy of the script from its
    spool directory, in the submit directory (jobs/), with SLURM_* set; the
    script must find common.sh there and start the ranks with srun."""
    (tmp_path / "bin").mkdir()
    srun = tmp_path / "bin" / "srun"
    srun.write_text(FAKE_SRUN)
    srun.chmod(0o755)
    spool = tmp_path / "spool"
    spool.mkdir()
    shutil.copy(JOBS / "00-hello-world.sh", spool / "slurm_script")
    log = tmp_path / "srun.log"
    env = job_env(SLURM_JOB_ID="1", SLURM_SUBMIT_DIR=str(JOBS), SLURM_NTASKS="3", FAKE_SRUN_LOG=str(log))
    env["PATH"] = f"{tmp_path / 'bin'}:{env['PATH']}"
    proc = subprocess.run(["bash", str(spool / "slurm_script")], cwd=JOBS, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    args, mca = log.read_text().splitlines()
    assert args == f"{ROOT}/jobs/bin/ompi/00-hello-world", "srun gets the program and no mpiexec options"
    assert mca == "OMPI_MCA_mpi_cuda_support=0", "srun has no --mca: the setting goes by the environment"
    check_hello(proc.stdout, 3, {})


@pytest.mark.parametrize("slurm", [False, True], ids=["laptop", "sbatch"])
def test_job_without_its_program_says_how_to_build_it(tmp_path, slurm):
    """A checkout where jobs/build.sh has not run: the job stops at once and
    says what to run, and compiles nothing (no go on PATH here: it would
    not be found anyway)."""
    shutil.copytree(JOBS, tmp_path / "jobs", ignore=shutil.ignore_patterns("bin", "src"))
    env = job_env()
    env["PATH"] = ":".join(p for p in env["PATH"].split(":") if not os.path.exists(os.path.join(p, "go")))
    script = tmp_path / "jobs" / "05-ring.sh"
    if slurm:  # as sbatch runs it: a copy in a spool directory, in the submit directory
        spool = tmp_path / "spool"
        spool.mkdir()
        script = shutil.copy(script, spool / "slurm_script")
        env.update(SLURM_JOB_ID="1", SLURM_SUBMIT_DIR=str(tmp_path / "jobs"), SLURM_NTASKS="4")
    proc = subprocess.run(["bash", str(script)], cwd=tmp_path / "jobs", env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: jobs/bin/ompi/05-ring is not built: "), proc.stderr
    assert f"    cd {tmp_path} && bash jobs/build.sh\n" in proc.stderr, proc.stderr
    assert "+ " not in proc.stderr and not proc.stdout, "nothing is run"


# ---- the job files themselves -----------------------------------------------


def test_every_example_has_a_job_and_a_program():
    assert sorted(p.stem for p in JOBS.glob("[0-9][0-9]-*.sh")) == NAMES
    for name in NAMES:
        src = (JOBS / "src" / name / "main.go").read_text()
        assert "package main" in src and '"github.com/mpigo/mpigo/mpi"' in src, name
        assert src.startswith("// Command " + name + " "), f"{name}: doc comment first"


REQUIRED = {
    "--job-name": r'"[^"]+"',
    "--time": "00:05:00",
    "--nodes": "[12]",  # class-sized: 30 students, 2 nodes at most each
    "--ntasks-per-node": r"\d",
    "--cpus-per-task": r"\d",
    "--mem-per-cpu": r"\d+M",
}


@pytest.mark.parametrize("name", NAMES)
def test_job_file_has_the_sbatch_lines(name):
    path = JOBS / f"{name}.sh"
    lines = path.read_text().splitlines()
    assert lines[0] == "#!/bin/bash"
    # sbatch reads #SBATCH lines only up to the first command
    first_command = next(i for i, l in enumerate(lines) if l.strip() and not l.lstrip().startswith("#"))
    directives = {}
    for i, line in enumerate(lines):
        if line.startswith("#SBATCH"):
            assert i < first_command, f"{name}: {line!r} after the first command is ignored by sbatch"
            opt, _, value = line.split(None, 1)[1].partition("=")
            assert opt not in directives, f"{name}: {opt} twice"
            directives[opt] = value
    for opt, pattern in REQUIRED.items():
        assert opt in directives and re.fullmatch(pattern, directives[opt]), f"{name}: want #SBATCH {opt}={pattern}, have {directives}"
    assert directives["--output"] == f"../out/{name}-%j.out", f"{name}: output into out/ of the repository (sbatch from jobs/)"
    assert set(directives) == set(REQUIRED) | {"--output"}, f"{name}: no partition or account by default: {directives}"
    # a few tasks, and a comment that says how to scale up
    nodes, tasks, cpus = (int(directives[o]) for o in ("--nodes", "--ntasks-per-node", "--cpus-per-task"))
    assert 2 <= nodes * tasks <= 4 and nodes * tasks * cpus <= 8, f"{name}: {directives}"
    assert any(re.match(rf"#   sbatch --nodes=\d+ .*{name}\.sh", l) for l in lines[:first_command]), f"{name}: no scale-up example"
    # the site settings: at the top, commented out, with placeholders that no cluster accepts
    first_sbatch = next(i for i, l in enumerate(lines) if l.startswith("#SBATCH"))
    for opt, value in (("--partition", "YOUR_PARTITION"), ("--account", "YOUR_ACCOUNT")):
        assert f"##SBATCH {opt}={value}" in lines[:first_sbatch], f"{name}: no commented-out {opt} before the #SBATCH lines"
    if name == "06-hybrid":
        assert int(directives["--cpus-per-task"]) > 1 and nodes > 1, "the hybrid job needs CPUs per node and nodes"
    assert "set -euo pipefail" in lines, name
    # the job runs what jobs/build.sh built: no compiler inside the allocation
    assert not [l for l in lines if re.match(r"\s*[^#]*\bgo (build|run|install)\b", l)], f"{name} compiles"
    assert f"program {name} " in path.read_text(), name
    subprocess.run(["bash", "-n", str(path)], check=True)


def launcher_options_after_program(line: str) -> list:
    """Launcher options (as opposed to the program's own) that a launch line puts
    after the program, where the launcher never sees them."""
    words = shlex.split(line)
    program = next((i for i, w in enumerate(words) if w in ("$prog", "python", "python3")), None)
    assert program is not None, f"no program in {line!r}"
    launcher_opts = re.compile(r"^(-np|-n|-N|-c|-x|--?mca|--oversubscribe|--allow-run-as-root|--bind-to|--map-by|--cpus-per-task.*|--ntasks.*|--nodes.*|--mpi.*|--overlap|--label|--tag-output)$")
    return [w for w in words[program + 1 :] if launcher_opts.match(w)]


@pytest.mark.parametrize(
    "line, wrong",
    [
        ("mpiexec -np 20 python ../src/00-hello-world.py --mca mpi_cuda_support 0", ["--mca"]),  # the original
        ('run "$MPIEXEC" --mca mpi_cuda_support 0 -np "$NP" "$prog" -delay 1s', []),
        ('run srun "$prog" -cpus 4 --cpus-per-task=4', ["--cpus-per-task=4"]),
    ],
)
def test_launch_line_check(line, wrong):
    assert launcher_options_after_program(line) == wrong


@pytest.mark.parametrize("name", NAMES)
def test_launcher_options_come_before_the_program(name):
    lines = [l.strip() for l in (JOBS / f"{name}.sh").read_text().splitlines()]
    launches = [l for l in lines if re.match(r'run (srun|"\$MPIEXEC") ', l)]
    assert [l.split()[1] for l in launches] == ["srun", '"$MPIEXEC"'], f"{name}: one srun line (SLURM), one mpiexec line (elsewhere)"
    for line in launches:
        assert launcher_options_after_program(line) == [], f"{name}: launcher option after the program in {line!r}"
        assert "--mca" not in line.split(), f"{name}: options for mpiexec come from mpiexec_opts (srun has no --mca)"


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="no shellcheck")
def test_shellcheck():
    proc = subprocess.run(["shellcheck", *sorted(str(p) for p in JOBS.glob("*.sh"))], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_job_output_is_git_ignored():
    for path in ("out/00-hello-world-123.out", "jobs/bin/ompi/00-hello-world", "jobs/bin/mpich/05-ring"):
        assert subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0, f"{path} is not ignored"
