"""Headless notebook execution with jupyter nbconvert (what install/setup.sh runs)."""

import os
import re
import subprocess

import nbformat
import pytest

from helpers import ROOT, TESTDATA, text


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


def outputs(cell):
    return cell.get("outputs", [])


def test_smoke_notebook(tmp_path):
    proc, nb = execute(TESTDATA / "smoke.ipynb", tmp_path)
    assert proc.returncode == 0, proc.stderr
    code = [c for c in nb.cells if c.cell_type == "code"]
    by_source = {c.source: c for c in code}

    assert outputs(by_source["x := 20"]) == []

    (res,) = outputs(by_source["x*2 + 2"])
    assert res.output_type == "execute_result"
    assert text(res.data["text/plain"]) == "42"

    (stream,) = outputs(by_source['fmt.Println("hello from", "mpigo")'])
    assert stream.output_type == "stream" and stream.name == "stdout"
    assert stream.text == "hello from mpigo\n"

    (disp,) = outputs(by_source['display.HTML("<b>bold</b>")'])
    assert disp.output_type == "display_data"
    assert text(disp.data["text/html"]) == "<b>bold</b>"
    assert "text/plain" in disp.data

    (err,) = outputs(by_source['panic("expected failure")'])
    assert err.output_type == "error"
    assert "expected failure" in err.evalue

    (after,) = outputs(by_source["x + 1"])
    assert text(after.data["text/plain"]) == "21"

    # cells are numbered in order
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))


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


def cell_text(cell) -> str:
    """Everything a cell showed, as text: streams, text/plain of results and
    displays, and errors (name, value, traceback)."""
    parts = []
    for out in outputs(cell):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(text(out.data.get("text/plain", "")))
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}\n" + "\n".join(out.traceback))
    return "\n".join(parts)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_repository_notebooks_run_clean(tmp_path, notebook):
    """Every notebook of notebooks/ runs top to bottom unchanged. A cell tagged
    raises-exception must fail and every other cell must not; a cell whose
    metadata holds "mpigo": {"expect": [REGEX, ...]} must show text matching
    each regular expression (re.search over cell_text, multiline)."""
    raw = nbformat.read(notebook, as_version=4)
    assert raw.metadata["kernelspec"]["name"] == "mpigo"
    for cell in raw.cells:
        if cell.cell_type == "code":
            assert outputs(cell) == [] and cell.execution_count is None, f"{notebook.name}: outputs not cleared"
    proc, nb = execute(notebook, tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert cell.execution_count is not None
        errors = [o for o in outputs(cell) if o.output_type == "error"]
        if "raises-exception" in cell.metadata.get("tags", []):
            assert errors, f"{notebook.name}: cell tagged raises-exception did not fail:\n{cell.source}"
        else:
            for out in errors:
                pytest.fail(f"{notebook.name}: error in cell:\n{cell.source}\n{out.ename}: {out.evalue}")
        shown = cell_text(cell)
        for pattern in cell.metadata.get("mpigo", {}).get("expect", []):
            assert re.search(pattern, shown, re.M), (
                f"{notebook.name}: cell output does not match {pattern!r}\n--- cell:\n{cell.source}\n--- output:\n{shown}"
            )


def test_introduction_notebook_exists():
    assert (ROOT / "notebooks" / "00-introduction.ipynb") in NOTEBOOKS
