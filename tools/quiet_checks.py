"""Collapse and tag the lessons' quiet checks: ``python tools/quiet_checks.py``.

Theory of operation: a quiet check is a code cell whose first line starts with
``# A quiet check`` (or ``# Quiet checks``); it asserts what the prose beside it
claims, so that the test run fails when a claim stops being true. Lesson 00
explains them once; everywhere they are collapsed (JupyterLab's
``jupyter.source_hidden``) and tagged ``quiet-check``. This script sets both on
every such cell and removes the tag from cells that are no longer quiet checks;
``tests/test_course_times.py`` fails when a lesson is out of step. Cell ids,
sources and outputs are kept as they are.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUIET = ("# A quiet check", "# Quiet check")
TAG = "quiet-check"


def mark(path: Path) -> int:
    """Mark the quiet checks of one notebook; return how many cells changed."""
    notebook = json.loads(path.read_text())
    changed = 0
    for cell in notebook["cells"]:
        before = json.dumps(cell["metadata"], sort_keys=True)
        tags = [tag for tag in cell["metadata"].get("tags", []) if tag != TAG]
        quiet = cell["cell_type"] == "code" and "".join(cell["source"]).startswith(QUIET)
        view = dict(cell["metadata"].get("jupyter", {}))
        if quiet:
            tags.append(TAG)
            view["source_hidden"] = True
        elif cell["metadata"].get("tags", []).count(TAG):
            view.pop("source_hidden", None)
        if tags:
            cell["metadata"]["tags"] = tags
        else:
            cell["metadata"].pop("tags", None)
        if view:
            cell["metadata"]["jupyter"] = view
        else:
            cell["metadata"].pop("jupyter", None)
        changed += json.dumps(cell["metadata"], sort_keys=True) != before
    if changed:
        path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    return changed


def main(argv: list[str]) -> int:
    paths = [Path(arg) for arg in argv] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in paths:
        print(f"{path.name}: {mark(path)} cells changed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
