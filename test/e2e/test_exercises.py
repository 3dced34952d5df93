"""The workshop's exercises and pacing (notebooks/).

Each notebook has one to three exercises, each four cells in a row, found by
their metadata "mpigo": {"exercise": "NN.M"} and their tags, not by index:

    markdown  tag exercise            "## Exercise N.M: title", the task
    code      tag exercise-starter    runs as it is (a placeholder result); an
                                      %mpirun starter has --timeout, and one
                                      that deadlocks by design is also tagged
                                      raises-exception and must end by it
    markdown  tag exercise-hints      the hints
    code      tag solution            collapsed (jupyter.source_hidden)

The static tests check that layout, and each notebook's first cell: the
heading "# NN · Title", the objectives and a time plan whose minutes add up
(sections marked *Optional:* come on top, and have an "Optional:" heading),
and that the seven notebooks fit the 2-3 hours of a class. The execution test
runs every notebook with nbconvert as test_nbconvert.py does, then checks
what each starter and each solution printed with a check written for that
exercise (CHECKS), such as pi within 0.01 of math.Pi or every rank's host
gathered on rank 0: a solution that broke would fail it.
"""

from __future__ import annotations

import math
import re

import nbformat
import pytest

from helpers import cell_text, check_executed_notebook, check_unexecuted_notebook, outputs
from test_nbconvert import NOTEBOOKS as ALL_NOTEBOOKS, execute

# The class: notebooks 00 to 06, each with its exercises and time plan.
# 07-slurm is the walkthrough of batch jobs for a cluster, after the class
# (test_slurm_notebook.py runs it on the project's SLURM cluster), and
# 08-ranks-that-stay the persistent ranks, for after the class or a fast
# group (test_nbconvert.py runs both and checks their expectations).
NOTEBOOKS = [p for p in ALL_NOTEBOOKS if re.match(r"0[0-6]-", p.name)]

ROLES = ["exercise", "exercise-starter", "exercise-hints", "solution"]
RANK_LINE = re.compile(r"^\[rank (\d+)\] (.*)$", re.M)


def rank_says(shown: str, rank: int) -> list:
    """The lines rank printed, without their [rank N] label."""
    return [m[2] for m in RANK_LINE.finditer(shown) if int(m[1]) == rank]


def one(pattern: str, lines: list, what: str):
    """The match of pattern in the one line of lines that matches it."""
    found = [m for m in (re.fullmatch(pattern, line) for line in lines) if m]
    assert len(found) == 1, f"{what}: want one line matching {pattern!r}, got {len(found)} in {lines}"
    return found[0]


def timeout_error(cell) -> dict:
    """The Timeout error of an %mpirun cell that --timeout stopped."""
    errors = [o for o in outputs(cell) if o.output_type == "error"]
    assert len(errors) == 1, f"want one error, got {errors}"
    e = errors[0]
    assert e.ename == "Timeout" and re.search(r"--timeout \d+s expired", e.evalue), f"{e.ename}: {e.evalue}"
    return e


# ---------------------------------------------------------------------------
# one check per exercise: (starter, solution), each given the cell's text
# ---------------------------------------------------------------------------


def starter_00_1(shown: str) -> None:
    one(r"rank 0 knows the hosts of 1 of 4 ranks", rank_says(shown, 0), "placeholder")


def solution_00_1(shown: str) -> None:
    says = rank_says(shown, 0)
    one(r"rank 0 knows the hosts of 4 of 4 ranks", says, "the gathered hosts")
    hosts = {r: one(rf"rank {r} runs on (\S+)", says, f"rank {r}'s host")[1] for r in range(4)}
    per_host = {m[1]: [int(x) for x in m[3].split()] for m in (re.fullmatch(r"(\S+): (\d+) ranks \[([\d ]+)\]", s) for s in says) if m}
    assert per_host == {h: sorted(r for r in hosts if hosts[r] == h) for h in set(hosts.values())}, (hosts, per_host)
    for r in range(1, 4):
        assert rank_says(shown, r) == [], f"rank {r} printed: rank 0 does the printing\n{shown}"


def starter_01_1(shown: str) -> None:
    one(r" +8 bytes: +0 round trips counted by rank 1, .*", rank_says(shown, 0), "the empty loop")


def solution_01_1(shown: str) -> None:
    says = rank_says(shown, 0)
    bandwidth = {}
    for size in (8, 1 << 20):
        m = one(rf" *{size} bytes: 100 round trips counted by rank 1, one way +([\d.]+) µs, +([\d.]+) MB/s", says, f"{size} bytes")
        one_way, mb_s = float(m[1]), float(m[2])
        assert 0 < one_way < 1e5 and math.isfinite(mb_s) and mb_s > 0, m[0]
        bandwidth[size] = mb_s
    # the latency dominates small messages: 1 MiB moves far more bytes per second
    assert bandwidth[1 << 20] > bandwidth[8], bandwidth


def starter_02_1(shown: str) -> None:
    for r in (1, 2, 3):
        one(rf"rank {r}: scale 0, offset 0, y = \[\], sum 0", rank_says(shown, r), f"rank {r} before the collectives")


def solution_02_1(shown: str) -> None:
    for r in range(4):
        y = [2 * x + 1 for x in range(5 * r, 5 * r + 5)]
        want = f"rank {r}: scale 2, offset 1, y = [{' '.join(map(str, y))}], sum {sum(y)}"
        assert rank_says(shown, r) == [want], f"rank {r}: want {want!r}\n{shown}"


def _pi(shown: str):
    m = one(r"10000000 points, (\d+) inside: pi ≈ ([\d.]+), error ([\d.]+)", rank_says(shown, 0), "the estimate")
    inside, pi = int(m[1]), float(m[2])
    assert abs(pi - 4 * inside / 10_000_000) < 1e-5, m[0]
    return inside, pi


def starter_03_1(shown: str) -> None:
    _, pi = _pi(shown)
    assert abs(pi - math.pi / 4) < 0.01, f"the starter should estimate pi with rank 0's hits only: {pi}"


def solution_03_1(shown: str) -> None:
    _, pi = _pi(shown)
    assert abs(pi - math.pi) < 0.01, f"pi ≈ {pi}, not within 0.01 of {math.pi}"


def starter_04_1(shown: str) -> None:
    assert "--timeout 10s expired: ranks 0-3 were still running" in shown, shown
    for r in range(4):
        assert re.search(rf"rank {r} on .*last output: rank {r}: sending 1 MiB to rank {(r + 1) % 4}$", shown, re.M), shown


def solution_04_1(shown: str) -> None:
    one(r"every rank got the block of its left neighbour: true \[true true true true\]", rank_says(shown, 0), "the shift")


def starter_05_1(shown: str) -> None:
    says = rank_says(shown, 0)
    for r in (0, 1):
        one(rf"rank {r} on \S+: NumCPU \d+, 1 goroutines", says, f"rank {r}'s layout")
    one(r"2 ranks, 2 workers in all: 400 busy items in [\d.]+ s, speedup [\d.]+ over one worker", says, "the run")


def solution_05_1(shown: str) -> None:
    says = rank_says(shown, 0)
    layout = {}
    for r in (0, 1):
        m = one(
            rf"rank {r} on (\S+): NumCPU (\d+), CPUs \[([\d ]+)\], (\d+) ranks on (\d+) cores of this host: (\d+) goroutines",
            says, f"rank {r}'s layout",
        )
        host, numcpu, cpus, ranks_here, cores, workers = m[1], int(m[2]), {int(c) for c in m[3].split()}, int(m[4]), int(m[5]), int(m[6])
        # runtime.NumCPU() is the size of the cpuset: the point of the exercise
        assert numcpu == len(cpus), m[0]
        assert workers == max(1, cores // ranks_here), m[0]
        layout[r] = (host, cpus, ranks_here, cores, workers)
    for r, (host, _, ranks_here, cores, _) in layout.items():
        same = [q for q in layout if layout[q][0] == host]
        assert ranks_here == len(same), layout
        assert cores == len(set().union(*(layout[q][1] for q in same))), layout
    m = one(r"2 ranks, (\d+) workers in all: 400 busy items in [\d.]+ s, speedup [\d.]+ over one worker", says, "the run")
    assert int(m[1]) == sum(w for *_, w in layout.values()), (m[0], layout)


def starter_06_1(shown: str) -> None:
    assert "--timeout 10s expired: ranks 0-3 were still running" in shown, shown
    assert re.search(r"rank 0 on .*last output: rank 0: below 0\.001 after 10 steps$", shown, re.M), shown


def solution_06_1(shown: str) -> None:
    # rank r starts from r+1 and halves it until it is below 1e-3
    steps = [next(s for s in range(64) if (r + 1) / 2**s < 1e-3) for r in range(4)]
    want = f"every rank is below 0.001 after {max(steps)} rounds: steps per rank [{' '.join(map(str, steps))}]"
    assert rank_says(shown, 0) == [want], f"want {want!r}\n{shown}"


CHECKS = {
    "00.1": (starter_00_1, solution_00_1),
    "01.1": (starter_01_1, solution_01_1),
    "02.1": (starter_02_1, solution_02_1),
    "03.1": (starter_03_1, solution_03_1),
    "04.1": (starter_04_1, solution_04_1),
    "05.1": (starter_05_1, solution_05_1),
    "06.1": (starter_06_1, solution_06_1),
}
# starters that deadlock by design: --timeout must end them with a Timeout error
DEADLOCKS = {"04.1", "06.1"}


# ---------------------------------------------------------------------------
# the notebooks as stored
# ---------------------------------------------------------------------------


def number(notebook) -> str:
    return notebook.name[:2]


def exercises(nb) -> dict:
    """exercise id -> its four cells, in the notebook's order (role by role)."""
    found: dict = {}
    for i, cell in enumerate(nb.cells):
        ex = cell.metadata.get("mpigo", {}).get("exercise")
        if ex is not None:
            found.setdefault(ex, []).append((i, cell))
    for ex, cells in found.items():
        roles = [[t for t in c.metadata.get("tags", []) if t in ROLES] for _, c in cells]
        assert roles == [[r] for r in ROLES], f"exercise {ex}: cells tagged {roles}, want one each of {ROLES} in that order"
        index = [i for i, _ in cells]
        assert index == list(range(index[0], index[0] + 4)), f"exercise {ex}: its cells are not in a row: {index}"
    return {ex: [c for _, c in cells] for ex, cells in found.items()}


def time_plan(nb) -> tuple:
    """(the minutes the first cell announces, {section: minutes}, {optional section: minutes})."""
    first = nb.cells[0].source
    m = re.search(r"^\*\*Time plan\*\* \((\d+) min\)$", first, re.M)
    assert m, f"no '**Time plan** (N min)' in the first cell:\n{first}"
    core, optional = {}, {}
    for row in re.finditer(r"^\| (.+?) \| (\d+) \|$", first[m.end():], re.M):
        name, minutes = row[1], int(row[2])
        if name.startswith("*Optional:*"):
            optional[name[len("*Optional:*"):].strip()] = minutes
        else:
            core[name] = minutes
    return int(m[1]), core, optional


def headings(nb) -> list:
    """The Markdown headings of nb, in order (not the lines of code blocks)."""
    found = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        fenced = False
        for line in cell.source.splitlines():
            if line.startswith("```"):
                fenced = not fenced
            elif not fenced and re.match(r"#+ ", line):
                found.append(line)
    return found


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_exercise_cells(notebook):
    nb = nbformat.read(notebook, as_version=4)
    check_unexecuted_notebook(notebook.name, nb)
    found = exercises(nb)
    assert 1 <= len(found) <= 3, f"{notebook.name}: {len(found)} exercises, want one to three"
    for ex, (task, starter, hints, solution) in found.items():
        assert re.fullmatch(rf"{number(notebook)}\.[1-3]", ex), f"{notebook.name}: exercise id {ex!r}"
        n, m = int(ex[:2]), int(ex[3:])
        assert task.cell_type == "markdown" and re.match(rf"## Exercise {n}\.{m}: \S", task.source), task.source
        assert hints.cell_type == "markdown" and hints.source.startswith("**Hints**"), hints.source
        assert starter.cell_type == "code" and solution.cell_type == "code"
        assert solution.metadata.get("jupyter", {}).get("source_hidden") is True, f"{ex}: the solution is not collapsed"
        for cell in (starter, solution):
            first = cell.source.splitlines()[0]
            if first.startswith("%mpirun") or first.startswith("%%mpirun"):
                assert re.search(r"--timeout \d+[sm]\b", first), f"{ex}: {first!r} has no --timeout"
        # a starter that hangs by design must be allowed to fail, and only that one
        assert ("raises-exception" in starter.metadata.get("tags", [])) == (ex in DEADLOCKS), ex
        assert "raises-exception" not in solution.metadata.get("tags", []), ex


def test_every_exercise_has_its_check():
    ids = set()
    for notebook in NOTEBOOKS:
        ids |= set(exercises(nbformat.read(notebook, as_version=4)))
    assert ids == set(CHECKS), f"exercises without a check: {ids - set(CHECKS)}; checks without an exercise: {set(CHECKS) - ids}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_objectives_and_time_plan(notebook):
    nb = nbformat.read(notebook, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and re.match(rf"# {number(notebook)} · \S", first.source), first.source[:80]
    assert "**Objectives.**" in first.source, f"{notebook.name}: no objectives"
    total, core, optional = time_plan(nb)
    assert sum(core.values()) == total, f"{notebook.name}: the sections add up to {sum(core.values())} min, not {total}: {core}"
    # one heading style: one "# NN · Title", then ## sections and ### below them
    h = headings(nb)
    assert [x for x in h if x.startswith("# ")] == [first.source.splitlines()[0]], h
    # every exercise is in the plan, every optional section has its heading
    for ex in exercises(nb):
        assert any(name.startswith(f"Exercise {int(ex[:2])}.{int(ex[3:])}:") for name in core), (ex, core)
    marked = [x for x in h if re.match(r"#+ Optional: ", x)]
    assert len(marked) == len(optional), f"{notebook.name}: optional in the plan {list(optional)}, headings {marked}"


def test_workshop_fits_a_class():
    """The seven notebooks' core times fit 2-3 hours, and notebook 00's table says the same."""
    plans = {number(p): time_plan(nbformat.read(p, as_version=4))[0] for p in NOTEBOOKS}
    assert 120 <= sum(plans.values()) <= 180, plans
    intro = nbformat.read(NOTEBOOKS[0], as_version=4).cells[0].source
    for p in NOTEBOOKS:
        m = re.search(rf"^\| (?:\*\*)?{re.escape(p.stem)}(?:\*\*)? \| .* \| (\d+) \| .* \|$", intro, re.M)
        assert m and int(m[1]) == plans[number(p)], f"notebook 00's table and {p.name} disagree: {m and m[0]}"


# ---------------------------------------------------------------------------
# the notebooks executed
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_exercises_run(tmp_path, notebook):
    """Every notebook runs top to bottom (as in test_nbconvert.py); then each
    starter ran to completion, with its placeholder result, or, where it
    deadlocks by design, was ended by its --timeout with a Timeout error; and
    each solution printed what its check wants."""
    proc, nb = execute(notebook, tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    check_executed_notebook(notebook.name, nb)
    for ex, (_, starter, _, solution) in exercises(nb).items():
        check_starter, check_solution = CHECKS[ex]
        if ex in DEADLOCKS:
            try:
                timeout_error(starter)
            except AssertionError as e:
                raise AssertionError(f"{ex}: the starter deadlocks by design and must end by its --timeout with a Timeout error: {e}") from None
        else:
            errors = [o for o in outputs(starter) if o.output_type == "error"]
            assert not errors, f"{ex}: the starter must run as it is: {errors}"
        for what, cell, check in (("starter", starter, check_starter), ("solution", solution, check_solution)):
            shown = cell_text(cell)
            try:
                check(shown)
            except AssertionError as e:
                raise AssertionError(f"exercise {ex}, {what}: {e}\n--- cell:\n{cell.source}\n--- output:\n{shown}") from None
