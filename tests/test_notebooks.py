"""Every notebook runs top to bottom against the demo data, and uses only the public API."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_imports_only_the_public_api(path):
    code = "\n".join(
        "".join(cell["source"]) for cell in json.loads(path.read_text())["cells"]
        if cell["cell_type"] == "code"
    )  # fmt: skip
    assert not re.search(r"from forecast\.|import forecast\.", code)
    assert not re.search(r"^\s*(def|class) ", code, re.MULTILINE)  # no logic of their own


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    # the kernel's temporary folders land here: each run left a 40 MB demo ledger behind
    # in the system's until the notebooks' folder went with their kernel
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # fmt: skip
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert not [p.name for p in scratch.glob("costcast-*")]  # gone with the kernel
