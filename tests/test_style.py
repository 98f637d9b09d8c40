"""The project's style rules, enforced: ruff lint and format over every Python file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON_PLACES = ["gateway_lab", "tests", "benchmarks", "notebooks/solutions", "tools"]


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    places = [p for p in PYTHON_PLACES if (ROOT / p).exists()]
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, *places], cwd=ROOT, capture_output=True, text=True
    )


def test_ruff_check_is_clean():
    result = ruff("check", "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean():
    result = ruff("format", "--check", "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_module_explains_itself():
    """Each module opens with a docstring: its theory of operation."""
    import ast

    for path in sorted((ROOT / "gateway_lab").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        doc = ast.get_docstring(tree)
        assert doc and len(doc) > 80, f"{path.relative_to(ROOT)} needs a theory of operation"
