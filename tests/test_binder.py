"""The Binder dry run (tools/binder_dry_run.py) passes: Binder's build, then lessons in it.

The copy step is tested on its own, on a small scratch git repository: only
what git tracks is copied (as it is in the working tree), so an untracked
folder inside the repository, even one that holds the copy being made, is
never copied.

The whole dry run is the slow test of the suite (a fresh virtual environment, the pinned
set installed with pip's cache, binder/postBuild, every module the lessons import, then
lessons 00 and 01 in that environment's kernel; every lesson runs under nbval in
tests/test_notebooks_busy.py). It skips only when pip cannot reach the package registry;
any other failure fails it, with the dry run's own report.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).parent.parent
DRY_RUN = ROOT / "tools" / "binder_dry_run.py"
NO_REGISTRY = 3


def _dry_run_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("binder_dry_run", DRY_RUN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def scratch_repo(tmp_path: Path) -> Path:
    """A small git repository: tracked files (one executable, one link), one edit not committed."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    (repo / "binder").mkdir(parents=True)
    (repo / "notebooks").mkdir()
    (repo / "README.md").write_text("committed text\n")
    (repo / "binder" / "postBuild").write_text("#!/bin/bash\necho built\n")
    (repo / "binder" / "postBuild").chmod(0o755)
    (repo / "notebooks" / "00-start.ipynb").write_text("{}\n")
    os.symlink("README.md", repo / "LINK.md")
    (repo / "gone.txt").write_text("deleted later, never committed as deleted\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    who = ["-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    _git(repo, *who, "commit", "-qm", "the first commit")
    (repo / "README.md").write_text("edited, not committed\n")
    (repo / "gone.txt").unlink()
    (repo / "staged.txt").write_text("new and staged\n")
    _git(repo, "add", "staged.txt")
    (repo / "untracked.txt").write_text("never added\n")
    return repo


def test_the_copy_holds_exactly_the_tracked_files_as_they_are_now(scratch_repo: Path) -> None:
    dry_run = _dry_run_module()
    destination = scratch_repo.parent / "copy"
    copied = dry_run.copy_tracked(scratch_repo, destination)
    assert sorted(copied) == [
        "LINK.md",
        "README.md",
        "binder/postBuild",
        "notebooks/00-start.ipynb",
        "staged.txt",
    ]
    on_disk = sorted(
        str(path.relative_to(destination)) for path in destination.rglob("*") if not path.is_dir()
    )
    assert on_disk == sorted(copied)
    assert (destination / "README.md").read_text() == "edited, not committed\n"
    assert os.access(destination / "binder" / "postBuild", os.X_OK)
    assert os.readlink(destination / "LINK.md") == "README.md"


def test_an_untracked_folder_inside_the_repository_is_never_copied(scratch_repo: Path) -> None:
    """The fault: a temporary folder inside the checkout held the copy being made of it."""
    dry_run = _dry_run_module()
    scratch = scratch_repo / "binder-dry-run-tmp"
    (scratch / "deep" / "deeper").mkdir(parents=True)
    with open(scratch / "deep" / "big.bin", "wb") as big:
        big.truncate(2**30)  # 1 GiB, sparse: copying it would take long and fill the disk
    os.symlink("..", scratch / "deep" / "deeper" / "loop")  # a folder that contains itself
    destination = scratch / "repo"  # the copy goes inside the untracked folder, inside the repo
    copied = dry_run.copy_tracked(scratch_repo, destination)
    assert not [name for name in copied if name.startswith("binder-dry-run-tmp")]
    assert not (destination / "binder-dry-run-tmp").exists()
    assert not (destination / "untracked.txt").exists()
    assert sum(path.stat().st_size for path in destination.rglob("*") if path.is_file()) < 10_000
    again = dry_run.copy_tracked(scratch_repo, destination)  # a second run copies the same
    assert again == copied


def test_the_project_copy_is_its_tracked_files() -> None:
    dry_run = _dry_run_module()
    tracked = dry_run.tracked_files(ROOT)
    assert "binder/postBuild" in tracked and "pyproject.toml" in tracked
    assert not [name for name in tracked if name.startswith((".git/", "test-artifacts/"))]


def test_outside_a_git_checkout_the_dry_run_says_so(tmp_path: Path) -> None:
    dry_run = _dry_run_module()
    with pytest.raises(SystemExit, match="must be a git checkout"):
        dry_run.tracked_files(tmp_path)


# Two lessons run in Binder's kernel: the start (widgets, a served app) and CGI
# (scripts run from the copied cgi-bin). Every lesson runs in the busy test.
SAMPLE = ["00-start-here.ipynb", "01-cgi.ipynb"]


def test_every_lesson_import_is_found(tmp_path: Path) -> None:
    names = _dry_run_module().notebook_imports(ROOT / "notebooks")
    assert {"gateway_lab", "asyncio", "werkzeug"} <= set(names)
    lesson = tmp_path / "notebooks"
    lesson.mkdir()
    cells = [
        {"cell_type": "code", "source": ["import alpha.beta\n", "from gamma import delta\n"]},
        {"cell_type": "code", "source": ["%%writefile x.py\n", "import written_not_imported\n"]},
        {"cell_type": "code", "source": ["%time import epsilon\n", "from . import relative\n"]},
        {"cell_type": "markdown", "source": ["import not_code\n"]},
    ]
    (lesson / "a.ipynb").write_text(json.dumps({"cells": cells}))
    assert _dry_run_module().notebook_imports(lesson) == ["alpha", "gamma"]


@pytest.mark.timeout(1200)
def test_binder_dry_run_builds_and_runs_the_sample_lessons(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            str(DRY_RUN),
            "--workdir",
            str(tmp_path / "build"),
            "--json",
            str(report_path),
            "--only",
            *SAMPLE,
        ],
        capture_output=True,
        text=True,
        timeout=1100,
    )
    if done.returncode == NO_REGISTRY:
        pytest.skip("no access to the package registry (pip install failed to connect)")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    report = json.loads(report_path.read_text())
    ran = sorted(notebook["name"] for notebook in report["course"]["notebooks"])
    assert ran == sorted(SAMPLE)
    # The other lessons run under nbval in tests/test_notebooks_busy.py; here every
    # module any of them imports must import in Binder's environment.
    assert {"gateway_lab", "werkzeug", "h11"} <= set(report["lesson_imports"])
    assert all(notebook["ok"] for notebook in report["course"]["notebooks"])
    assert report["gateway_lab_from"].startswith(str(tmp_path / "build" / "venv"))
