"""The code a learner's answer runs, as far as reading it (not running it) can tell.

Theory of operation: an exercise sometimes needs to know what the answer's
code *does* beyond what its requests show: which function it hands to a
thread (lesson 07), whether it compares passwords in constant time (lesson
04). :func:`reachable` starts from the answer (a function, a callable
object's ``__call__``, or a class's own methods), takes every code object
defined inside it (:func:`nested`), and follows the plain functions it names
that share its globals (the learner's own helpers, not a library's) a few
calls deep. :func:`source_of` is the source text of all of that.
"""

from __future__ import annotations

import contextlib
import inspect
import types
from collections.abc import Iterator

__all__ = ["nested", "reachable", "source_of"]


def nested(code: types.CodeType) -> Iterator[types.CodeType]:
    """``code`` and the code of every function (or lambda) defined inside it."""
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from nested(const)


def reachable(app: object, depth: int = 2) -> list[tuple[types.CodeType, list[object]]]:
    """The code the app runs, as far as reading it can tell: its own (nested functions
    included) and that of the plain functions it names, ``depth`` calls deep; each code
    object with the values it can reach (the globals it names, defaults, closure cells).
    Only functions that share the app's globals are followed: the app's own helpers."""
    starts: list[object] = [app]
    if isinstance(app, type):  # a class: its own methods (__init__, __call__, helpers)
        starts = [f for f in vars(app).values() if isinstance(f, types.FunctionType)]
    elif not isinstance(app, types.FunctionType) and callable(app):
        starts = [type(app).__call__]  # a callable object: its class's method
    found: list[tuple[types.CodeType, list[object]]] = []
    seen: set[types.CodeType] = set()
    todo: list[tuple[object, int]] = [(start, 0) for start in starts]
    while todo:
        function, level = todo.pop()
        if not isinstance(function, types.FunctionType) or function.__code__ in seen:
            continue
        seen.add(function.__code__)
        own = [*(function.__defaults__ or ()), *(function.__kwdefaults__ or {}).values()]
        for cell in function.__closure__ or ():
            with contextlib.suppress(ValueError):  # an empty cell
                own.append(cell.cell_contents)
        for code in nested(function.__code__):
            values = [function.__globals__[n] for n in code.co_names if n in function.__globals__]
            found.append((code, [*own, *values]))
            if level < depth:  # the app's own helpers, not a library's functions
                todo += [
                    (value, level + 1)
                    for value in [*own, *values]
                    if getattr(value, "__globals__", None) is function.__globals__
                ]
    return found


def source_of(answer: object) -> str:
    """The source of everything :func:`reachable` finds from ``answer`` ("" if none).

    A code object without source to read (typed at a prompt, built by
    ``exec``) is left out.
    """
    texts: list[str] = []
    for code, _ in reachable(answer):
        with contextlib.suppress(OSError, TypeError):
            texts.append(inspect.getsource(code))
    return "\n".join(dict.fromkeys(texts))
