"""benchmarks/sizing.py: learners at once, CPU of the whole process tree, the sizing sums."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from sizing import (  # noqa: E402
    HUB_CORES,
    HUB_GB,
    SAME_LAB_SHARE,
    SAME_LAB_WINDOW_S,
    LessonFigures,
    run_lesson,
    sizing_table,
)

# A child process that burns CPU and is reaped; memory held by the kernel itself.
BURN_CODE = "sum(range(40_000_000))"
BURN = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {BURN_CODE!r}])"
HOLD = "held = bytearray(80 * 1024 * 1024)\nheld[::4096] = b'x' * len(held[::4096])"


def lesson(cpu: float, peak: float, steady: float) -> LessonFigures:
    return LessonFigures("x.ipynb", 3, cpu, cpu, peak, steady, 1.0, 3)


def test_the_sizing_sums_follow_the_stated_assumption() -> None:
    lessons = [lesson(2.0, 100.0, 80.0), lesson(12.0, 300.0, 140.0)]
    twenty, hundred = sizing_table(lessons, sizes=(20, 100), server_mb=150.0)
    at_once = 20 * SAME_LAB_SHARE
    assert twenty.cores == pytest.approx(HUB_CORES + at_once * 12.0 / SAME_LAB_WINDOW_S)
    assert twenty.memory_gb == pytest.approx(HUB_GB + 20 * (300.0 + 150.0 + 140.0) / 1024)
    assert hundred.cores > twenty.cores and hundred.memory_gb > twenty.memory_gb


def _notebook(folder: Path, name: str, cells: list[str]) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, folder / name)
    return folder / name


def _burn_cpu_seconds() -> float:
    """What BURN's child costs on its own, measured here with getrusage."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", BURN_CODE], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


@pytest.mark.skipif(sys.platform == "win32", reason="getrusage is POSIX")
def test_learners_at_once_count_the_children_their_kernels_start(tmp_path: Path) -> None:
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    quiet = _notebook(notebooks, "quiet.ipynb", [HOLD])
    burn = _notebook(notebooks, "burn.ipynb", [BURN, HOLD])
    without = run_lesson(quiet, 2, tmp_path / "quiet", timeout=120)
    with_child = run_lesson(burn, 2, tmp_path / "burn", timeout=120)
    assert without.passed == with_child.passed == 2 and with_child.learners == 2
    child = _burn_cpu_seconds()
    # the child ended (and was reaped) before the kernel: its CPU still counts
    assert with_child.cpu_mean_s - without.cpu_mean_s > 0.6 * child, (with_child, without, child)
    assert with_child.peak_mb > 80 + 30, with_child  # the 80 MB held, over a kernel's own size
