"""Every notebook in notebooks/ runs top to bottom in a fresh kernel, without an error,
and every Player in it shows a picture in an HTML export (where widgets do not run).

The kernel is started from this Python (sys.executable), in notebooks/, so
it imports the raftsim installed in this environment, as a reader's kernel
would after the README's install command.

To refresh the outputs committed with the notebooks after a change:

    python tests/test_notebooks.py --write [notebooks/01-leader-election.ipynb ...]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import nbclient
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
CELL_TIMEOUT = 120  # seconds, per cell
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _kernel_manager(spec_dir: Path):
    """A kernel manager whose only kernel is this Python with ipykernel."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    kernel = spec_dir / "raftsim-test"
    kernel.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "raftsim (tests)",
        "language": "python",
    }
    (kernel / "kernel.json").write_text(json.dumps(spec))
    specs = KernelSpecManager(kernel_dirs=[str(spec_dir)], ensure_native_kernel=False)
    return KernelManager(kernel_name="raftsim-test", kernel_spec_manager=specs)


def execute(path: Path, *, store_widgets: bool = False):
    """Run the notebook at `path` in a fresh kernel; returns it with its outputs.

    With `store_widgets`, the widgets' state is kept in the notebook, as
    `jupyter nbconvert --execute` keeps it, so an export prefers the widget views.
    """
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as specs:
        client = nbclient.NotebookClient(
            notebook,
            km=_kernel_manager(Path(specs)),
            timeout=CELL_TIMEOUT,
            resources={"metadata": {"path": str(path.parent)}},
            record_timing=False,
            store_widget_state=store_widgets,
        )
        client.execute()
    # The kernel name is ours for the run; readers' Jupyter should pick its own python3.
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    return notebook


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def test_there_are_at_least_seven_notebooks_in_order():
    names = [p.name for p in _notebooks()]
    assert len(names) >= 7, names
    assert [name[:3] for name in names[:7]] == ["01-", "02-", "03-", "04-", "05-", "06-", "07-"]


def players_without_a_picture(notebook) -> list[str]:
    """The Player cells whose output, exported to HTML, shows no picture.

    A picture is an `<svg` in the cell's output area outside any script: a
    widget view is a script that draws nothing without the widget libraries
    (and the widget state, which holds the picture too, is a script).
    """
    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter

    html, _ = HTMLExporter().from_notebook_node(notebook)
    shown = BeautifulSoup(html, "html.parser").select("div.jp-CodeCell")
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert len(shown) == len(code)
    blank = []
    for cell, div in zip(code, shown, strict=True):
        if "Player(" not in cell.source:
            continue
        area = div.select_one(".jp-OutputArea")
        for script in area.find_all("script") if area else []:
            script.decompose()
        if area is None or "<svg" not in str(area):
            blank.append(cell.source.splitlines()[0])
    return blank


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom_without_error_and_exports_its_players(path: Path):
    notebook = execute(path, store_widgets=True)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", (
                f"{path.name}: {output.get('ename')}: {output.get('evalue')}"
            )
    assert players_without_a_picture(notebook) == [], "blank in `jupyter nbconvert --execute`"


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_committed_notebook_shows_every_player_as_a_picture(path: Path):
    """As a code host's viewer shows it: from the committed outputs, no kernel."""
    notebook = nbformat.read(path, as_version=4)
    assert any("Player(" in cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert players_without_a_picture(notebook) == []


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_notebook_is_committed_with_its_outputs(path: Path):
    """So that it reads well where it cannot be run (on a code host, say)."""
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.get("execution_count") for cell in code), (
        f"{path.name} is not committed executed: python tests/test_notebooks.py --write {path}"
    )
    assert any(cell.get("outputs") for cell in code)


def main(argv: list[str]) -> None:
    if not argv or argv[0] != "--write":
        raise SystemExit("usage: python tests/test_notebooks.py --write [NOTEBOOK ...]")
    paths = [Path(p) for p in argv[1:]] or _notebooks()
    for path in paths:
        notebook = execute(path)
        # A widget's model lives only in the kernel that made it: a saved notebook keeps the
        # static HTML picture the Player also offers, not a view Jupyter could not find.
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                output.get("data", {}).pop(WIDGET_VIEW, None)
        nbformat.write(notebook, path)
        print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main(sys.argv[1:])
