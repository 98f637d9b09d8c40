"""The lessons' stated times, break points and quiet checks agree with the instructors' guide.

Each lesson states its time on one line (``**Time:** about N minutes.``), taken
from timed walks by new learners. The guide's table and its two plans must use
the same figures, a plan's clock must add up, and a lesson over an hour must
have one marked break point, where a plan may stop. Quiet checks (cells that
start ``# A quiet check``) are collapsed and tagged, and lesson 00 explains them
once.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
GUIDE = (ROOT / "docs" / "instructors.md").read_text()
BREAK = "**☕ Break point.**"
QUIET = ("# A quiet check", "# Quiet check")


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def stated_minutes(path: Path) -> int:
    found = re.findall(r"\*\*Time:\*\* about (\d+) minutes\.", _source(_cells(path)[0]))
    assert len(found) == 1, f"{path.name}: the first cell states no time (or two)"
    return int(found[0])


def _number(path: Path) -> str:
    return path.name[:2]


def _plan(title: str) -> list[tuple[int, str, int]]:
    """(start in minutes, what, learner minutes) for each row of a plan's table."""
    section = GUIDE.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        fields = [field.strip() for field in line.strip().strip("|").split("|")]
        clock = re.fullmatch(r"(\d+):(\d\d)", fields[0])
        if clock and len(fields) == 3:
            length = re.fullmatch(r"(\d+) min", fields[2])
            start = int(clock.group(1)) * 60 + int(clock.group(2))
            rows.append((start, fields[1], int(length.group(1)) if length else 0))
    assert rows, f"no table under {title!r}"
    return rows


def test_every_lesson_states_a_time() -> None:
    assert len(NOTEBOOKS) == 10
    assert all(stated_minutes(path) >= 15 for path in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_the_guides_table_gives_the_lessons_time(path: Path) -> None:
    rows = re.findall(rf"^\| {_number(path)} · [^|]+ \| (\d+) min \|", GUIDE, re.M)
    assert rows == [str(stated_minutes(path))]


def test_the_guides_total_is_the_sum() -> None:
    total = sum(stated_minutes(path) for path in NOTEBOOKS)
    assert f"| **all** | **{total // 60} h {total % 60:02d} min** |" in GUIDE


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_a_lesson_over_an_hour_has_one_break_point(path: Path) -> None:
    cells = _cells(path)
    breaks = [
        index
        for index, cell in enumerate(cells)
        if cell["cell_type"] == "markdown" and _source(cell).startswith(BREAK)
    ]
    if stated_minutes(path) > 60:
        assert len(breaks) == 1, f"{path.name}: {len(breaks)} break points"
        # near the middle: not in the first or the last fifth of the lesson
        assert len(cells) // 5 < breaks[0] < len(cells) - len(cells) // 5
    else:
        assert len(breaks) <= 1


@pytest.mark.parametrize("title", ["A half-day plan", "A full-day plan"])
def test_a_plans_clock_adds_up_and_uses_the_stated_times(title: str) -> None:
    rows = _plan(title)
    for (start, what, length), (following, _, _) in zip(rows, rows[1:], strict=False):
        assert start + length == following, f"{title}: {what!r} does not end when the next begins"
    assert rows[-1][2] == 0 and rows[-1][1] == "end"
    times = {_number(path): stated_minutes(path) for path in NOTEBOOKS}
    for _, what, length in rows:
        lesson = re.match(r"\*\*(\d\d) · ", what)
        if not lesson:
            continue
        if "to its break point" in what:
            assert length < times[lesson.group(1)], what
        else:
            assert length == times[lesson.group(1)], what
    said = re.search(r"Learner time: (\d+) minutes", GUIDE.split(f"## {title}", 1)[1])
    assert said, f"{title}: no 'Learner time' line"
    lessons = sum(length for _, what, length in rows if what.startswith("**"))
    assert int(said.group(1)) == lessons


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_quiet_checks_are_collapsed_and_tagged(path: Path) -> None:
    quiet = [c for c in _cells(path) if c["cell_type"] == "code" and _source(c).startswith(QUIET)]
    for cell in quiet:
        assert "quiet-check" in cell["metadata"].get("tags", []), _source(cell)[:60]
        assert cell["metadata"].get("jupyter", {}).get("source_hidden") is True
    tagged = [c for c in _cells(path) if "quiet-check" in c["metadata"].get("tags", [])]
    assert len(tagged) == len(quiet)


def test_lesson_00_explains_quiet_checks_before_the_first() -> None:
    cells = _cells(NOTEBOOKS[0])
    first = next(i for i, c in enumerate(cells) if _source(c).startswith(QUIET))
    explained = [i for i, c in enumerate(cells) if _source(c).startswith("### Quiet checks")]
    assert explained and explained[0] < first
