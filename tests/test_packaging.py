"""The project's install story: one pinned set for Binder, laptops and CI; a light import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def requirement_lines(path: Path) -> list[str]:
    lines = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            lines.append(" ".join(line.split()))
    return lines


TEST_TOOLS = {"pytest", "pytest-timeout", "nbval", "playwright", "ruff", "mypy", "jupyterhub"}


def name_of(line: str) -> str:
    return line.split("==", 1)[0].split(";", 1)[0].strip().lower()


def test_binder_installs_the_pins_ci_tests_less_the_test_tools():
    top = [line for line in requirement_lines(ROOT / "requirements.txt") if line != "-e ."]
    binder = requirement_lines(ROOT / "binder" / "requirements.txt")
    assert binder == [line for line in top if name_of(line) not in TEST_TOOLS]
    assert TEST_TOOLS <= {name_of(line) for line in top}
    assert "-e ." in requirement_lines(ROOT / "requirements.txt")


def test_every_requirement_is_pinned():
    for line in requirement_lines(ROOT / "requirements.txt"):
        if line == "-e .":
            continue
        assert "==" in line, f"not pinned: {line}"


def test_binder_runtime_and_postbuild():
    assert (ROOT / "binder" / "runtime.txt").read_text().strip().startswith("python-3.")
    post_build = ROOT / "binder" / "postBuild"
    text = post_build.read_text()
    assert "set -e" in text and "pip install" in text
    assert os.access(post_build, os.X_OK)


def test_ci_script_is_executable_and_fails_on_no_tests():
    ci = ROOT / ".ci" / "run"
    assert os.access(ci, os.X_OK)
    text = ci.read_text()
    assert "-eq 5" in text
    assert "python -m pip install -r requirements.txt && python -m pytest" in text


def test_readme_states_the_two_commands_ci_runs():
    readme = (ROOT / "README.md").read_text()
    assert "python -m pip install -r requirements.txt && jupyter lab notebooks/" in readme
    assert "python -m pip install -r requirements.txt && python -m pytest" in readme


def test_the_package_ships_its_types():
    # PEP 561: py.typed marks the package as typed, and must be installed with it.
    assert (ROOT / "gateway_lab" / "py.typed").is_file()
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["gateway_lab"]


def test_the_test_command_runs_doctests_and_leaves_notebook_scripts_alone():
    """pyproject's pytest options: gateway_lab's doctests are collected; the CGI scripts
    and solutions under notebooks/ are programs, never imported (importing one runs it)."""
    scripts = sorted({str(p.parent.relative_to(ROOT)) for p in (ROOT / "notebooks").rglob("*.py")})
    assert scripts, "expected the CGI scripts and solutions under notebooks/"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", *scripts, "gateway_lab/specs.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    items = [line for line in done.stdout.splitlines() if "::" in line]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert items and all(item.startswith("gateway_lab/specs.py::") for item in items), items


def test_import_is_light():
    code = (
        "import sys, gateway_lab; "
        "print([m for m in ('werkzeug', 'uvicorn', 'httpx', 'ipywidgets', 'h11') "
        "if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_type_checkers_see_every_lazy_export():
    """The TYPE_CHECKING block of gateway_lab/__init__.py imports each name from its home."""
    import ast

    import gateway_lab as gl

    tree = ast.parse((ROOT / "gateway_lab" / "__init__.py").read_text())
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
    )
    seen = {
        alias.name: (node.module or "").removeprefix("gateway_lab.")
        for node in block.body
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gateway_lab")
        for alias in node.names
    }
    assert seen == gl._EXPORTS


def test_public_names_resolve():
    import gateway_lab as gl

    for name in gl.__all__:
        assert getattr(gl, name) is not None, name


def test_notebooks_are_committed_without_outputs():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        notebook = json.loads(path.read_text())
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs"), f"{path.name} has outputs"
                assert cell.get("execution_count") is None, f"{path.name} has counts"
