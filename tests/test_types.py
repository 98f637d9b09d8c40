"""mypy passes on gateway_lab/, with the settings in pyproject.toml's [tool.mypy].

The package ships ``py.typed`` (PEP 561), so a learner's editor and a
learner's own mypy trust these annotations; this test keeps them honest. It
runs mypy as the README's test command would, in a fresh process from the
project root, and on failure shows mypy's own report. A second test checks
that the ASGI message TypedDicts in ``gateway_lab.types`` narrow on
``"type"``: a key that only some messages have is an error until the code
has asked which message it holds.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_passes_on_the_package():
    pytest.importorskip("mypy", reason="mypy is a pinned test tool in requirements.txt")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--hide-error-context"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = (done.stdout + done.stderr).strip()
    assert done.returncode == 0, f"mypy found type errors in gateway_lab/:\n{report}"


def test_mypy_reads_the_project_settings():
    text = (ROOT / "pyproject.toml").read_text()
    assert "[tool.mypy]" in text
    for setting in ("disallow_untyped_defs = true", "check_untyped_defs = true"):
        assert setting in text, setting
    assert 'files = ["gateway_lab"]' in text


NARROWING = """
from gateway_lab.types import ASGIScope, ReceiveMessage, SendMessage


def status_of(message: SendMessage) -> int:
    if message["type"] == "http.response.start":
        return message["status"]
    return 0


def path_of(scope: ASGIScope) -> str:
    if scope["type"] == "lifespan":
        return ""
    return scope["path"]


def body_of(message: ReceiveMessage) -> bytes:
    return message["body"]  # wrong: not every message a receive() gives has a body
"""


def test_the_message_typeddicts_narrow_on_type(tmp_path: Path):
    """The ASGI TypedDicts mean something: narrowed on "type" they check each key."""
    pytest.importorskip("mypy", reason="mypy is a pinned test tool in requirements.txt")
    example = tmp_path / "narrowing.py"
    example.write_text(NARROWING, encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--follow-imports=silent",  # judge the example, not the package it imports
            "--no-error-summary",
            "--config-file",
            "",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(example),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    wrong_line = (
        NARROWING.splitlines().index(
            '    return message["body"]  # wrong: not every message a receive() gives has a body'
        )
        + 1
    )
    assert errors, done.stdout + done.stderr
    assert all(f"narrowing.py:{wrong_line}:" in line for line in errors), "\n".join(errors)
    assert any('"body"' in line for line in errors), "\n".join(errors)
