"""Headless notebook execution with jupyter nbconvert (what install/setup.sh runs)."""

import os
import subprocess

import nbformat
import pytest

from helpers import ROOT, TESTDATA, check_executed_notebook, check_smoke_notebook, check_unexecuted_notebook, slurm_answers


def execute(notebook, out_dir, timeout=300):
    """Executes notebook with nbconvert into out_dir; returns (process, output notebook or None)."""
    proc = subprocess.run(
        [
            "jupyter", "nbconvert", "--to", "notebook", "--execute",
            "--ExecutePreprocessor.kernel_name=mpigo",
            "--ExecutePreprocessor.timeout=120",
            "--output-dir", str(out_dir), str(notebook),
        ],
        capture_output=True, text=True, timeout=timeout, env=dict(os.environ),
    )
    out = out_dir / notebook.name
    return proc, (nbformat.read(out, as_version=4) if out.exists() else None)


def test_smoke_notebook(tmp_path):
    proc, nb = execute(TESTDATA / "smoke.ipynb", tmp_path)
    assert proc.returncode == 0, proc.stderr
    check_smoke_notebook(nb)


def test_error_cell_without_tag_fails_the_run(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "mpigo", "display_name": "Go (mpigo)", "language": "go"}
    nb.cells = [nbformat.v4.new_code_cell('panic("untagged")'), nbformat.v4.new_code_cell("1")]
    src = tmp_path / "src" / "fail.ipynb"
    src.parent.mkdir()
    nbformat.write(nb, src)
    proc, _ = execute(src, tmp_path / "out")
    assert proc.returncode != 0
    assert "untagged" in proc.stderr


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_repository_notebooks_run_clean(tmp_path, notebook):
    """Every notebook of notebooks/ runs top to bottom unchanged. A cell tagged
    raises-exception must fail and every other cell must not; a cell whose
    metadata holds "mpigo": {"expect": [REGEX, ...]} must show text matching
    each regular expression (re.search over cell_text, multiline). Notebook
    07 submits jobs where SLURM answers (test_slurm_notebook.py runs it on the
    test cluster and without SLURM); its --sbatch cell fails where it does not."""
    check_unexecuted_notebook(notebook.name, nbformat.read(notebook, as_version=4))
    proc, nb = execute(notebook, tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    check_executed_notebook(notebook.name, nb, slurm=slurm_answers())


def test_introduction_notebook_exists():
    assert (ROOT / "notebooks" / "00-introduction.ipynb") in NOTEBOOKS
