"""What a WSGI body may be, and the plain-words sentence when it is not.

Theory of operation: PEP 3333 asks an app to return an iterable of bytes
strings. The classic mistakes (returning a ``str``, ``bytes`` or ``None``;
yielding ``str``) give cryptic errors deep inside a server, so every place
that plays the server asks these two functions first and raises
:class:`~gateway_lab.errors.WSGIBodyTypeError` with the sentence they return.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["PEP3333_BODY", "body_type_problem", "chunk_type_problem"]

PEP3333_BODY = "https://peps.python.org/pep-3333/#specification-details"


def _shown(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def body_type_problem(result: Any) -> str | None:
    """Explain why ``result`` cannot be a WSGI response body, or None if it can."""
    if result is None:
        return (
            "the app returned None. A WSGI app must return an iterable of bytes, "
            "for example `return [b'Hello']`. Did you forget the return statement?"
        )
    if isinstance(result, str):
        return (
            f"the app returned a str ({_shown(result)}). WSGI bodies are bytes, in an "
            f"iterable: `return [text.encode('utf-8')]`."
        )
    if isinstance(result, (bytes, bytearray)):
        return (
            f"the app returned {type(result).__name__} directly ({_shown(bytes(result))}). "
            f"Python would iterate it as numbers, one per byte. Wrap it in a list: "
            f"`return [body]`."
        )
    if not isinstance(result, Iterable):
        return (
            f"the app returned a {type(result).__name__}, which is not iterable. "
            f"Return a list of bytes (or yield bytes from a generator)."
        )
    return None


def chunk_type_problem(chunk: Any) -> str | None:
    if isinstance(chunk, bytes):
        return None
    if isinstance(chunk, str):
        return (
            f"the body contained a str chunk ({_shown(chunk)}). Each chunk must be "
            f"bytes: use text.encode('utf-8') or a b'...' literal."
        )
    return (
        f"the body contained a {type(chunk).__name__} chunk ({_shown(chunk)}). Each "
        f"chunk must be bytes."
    )
