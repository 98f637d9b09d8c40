"""Small helpers that turn values and exceptions into short, readable text.

Theory of operation: a finding quotes what the app did ("a str chunk
('Hello')", "ZeroDivisionError: division by zero in hello(), cell line 4:
`return 1/0`"). Values are shown with ``repr`` cut to a readable length;
an exception is located at the deepest frame of the *learner's* code,
skipping this package, the standard library and installed libraries when
the learner's own frame is on the stack (so a mistake inside a Flask view
points at the view, not at Flask).
"""

from __future__ import annotations

import os
import sysconfig
import traceback
from typing import Any

__all__ = ["describe_exception", "learner_frame", "short", "user_frame", "where"]

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LIBRARY_DIRS = tuple(
    os.path.abspath(p)
    for p in {sysconfig.get_paths().get(k, "") for k in ("stdlib", "purelib", "platlib")}
    if p
)


def short(value: Any, limit: int = 40) -> str:
    """``repr(value)``, cut to about ``limit`` characters."""
    try:
        text = repr(value)
    except Exception:  # a learner's object whose __repr__ fails
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_ours(filename: str) -> bool:
    return os.path.abspath(filename).startswith(_PACKAGE_DIR + os.sep)


def _is_library(filename: str) -> bool:
    path = os.path.abspath(filename)
    return any(path.startswith(d + os.sep) for d in _LIBRARY_DIRS)


def user_frame(frames: list[traceback.FrameSummary]) -> traceback.FrameSummary | None:
    """The deepest frame of the learner's code (else the deepest outside this package)."""
    outside = [f for f in frames if not _is_ours(f.filename)]
    own = [f for f in outside if not _is_library(f.filename)]
    chosen = own or outside
    return chosen[-1] if chosen else None


def learner_frame(frames: list[traceback.FrameSummary]) -> traceback.FrameSummary | None:
    """The deepest frame outside this package, the standard library and libraries."""
    own = [f for f in frames if not _is_ours(f.filename) and not _is_library(f.filename)]
    return own[-1] if own else None


def where(frame: traceback.FrameSummary | None) -> str:
    """'in hello() (app.py, line 4: `return 1/0`)', or '' if unknown."""
    if frame is None:
        return ""
    name = os.path.basename(frame.filename)
    code = f": `{frame.line.strip()}`" if frame.line else ""
    return f"in {frame.name}() ({name}, line {frame.lineno}{code})"


def describe_exception(exc: BaseException) -> str:
    """'ZeroDivisionError: division by zero in hello() (app.py, line 4: ...)'."""
    frames = traceback.extract_tb(exc.__traceback__)
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    location = where(user_frame(list(frames)))
    return f"{text} {location}".strip()
