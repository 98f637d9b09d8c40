"""What a WSGI body may be, and the plain-words sentence when it is not.

Theory of operation: PEP 3333 asks an app to return an iterable of bytes
strings. The classic mistakes (returning a ``str``, ``bytes`` or ``None``;
yielding ``str``) give cryptic errors deep inside a server, so every place
that plays the server asks :func:`body_problem` and :func:`chunk_problem`
first. Each answers with a *problem*: a key into :data:`BODY_SENTENCES` and
the details its sentence needs. A :class:`Sentence` is data (what the app
did, what to change, the spec section that says so), written once here and
read by everyone: ``call_wsgi`` and the servers raise
:class:`~gateway_lab.errors.WSGIBodyTypeError` with :meth:`Sentence.say`,
the guard answers 500 with it, and the checker's rules ``wsgi.<key>`` use its
``message`` and ``hint`` as their templates.

>>> body_type_problem([b"fine"]) is None
True
>>> body_problem("text")
('body-is-str', {'value': "'text'"})
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gateway_lab import specs

__all__ = [
    "BODY_SENTENCES",
    "Problem",
    "Sentence",
    "body_problem",
    "body_type_problem",
    "chunk_problem",
    "chunk_type_problem",
    "shown",
]

# A problem: the key of its sentence, and the details that fill the sentence in.
Problem = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class Sentence:
    """One mistake in words: ``message`` (what happened), ``hint`` (what to change), ``spec``.

    ``message`` and ``hint`` are ``str.format`` templates; the details of the
    case fill them in.
    """

    message: str
    hint: str
    spec: str

    def say(self, **details: Any) -> str:
        """The whole sentence for one case: what happened, what to change, the spec."""
        return f"{self.message.format(**details)} {self.hint.format(**details)} See {self.spec}"


def shown(value: Any, limit: int = 40) -> str:
    """``repr(value)``, cut to about ``limit`` characters (never fails)."""
    try:
        text = repr(value)
    except Exception:  # a learner's object whose __repr__ fails
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


BODY_SENTENCES = {
    "body-is-none": Sentence(
        "The app returned None instead of an iterable of bytes.",
        "End the app with `return [body_bytes]` (did you forget the return statement?).",
        specs.PEP3333_DETAILS,
    ),
    "body-is-str": Sentence(
        "The app returned a str ({value}). A WSGI body is an iterable of bytes; a str "
        "would be sent one character at a time, and characters are not bytes.",
        "Return a list holding bytes: `return [text.encode('utf-8')]` (text being your str).",
        specs.PEP3333_DETAILS,
    ),
    "body-is-bytes": Sentence(
        "The app returned bytes directly ({value}). The server iterates the body, and "
        "iterating bytes in Python 3 gives integers, one per byte, which no server "
        "can send (wsgiref answers 500, werkzeug fails an assertion).",
        "Wrap it in a list: `return [body]` instead of `return body`.",
        specs.PEP3333_DETAILS,
    ),
    "body-not-iterable": Sentence(
        "The app returned {value}, of type {type}, which is not iterable.",
        "Return a list of bytes, or yield bytes from a generator.",
        specs.PEP3333_DETAILS,
    ),
    "body-not-bytes": Sentence(
        "The body contained a {type} chunk ({value}). Every chunk of a WSGI body must be bytes.",
        "{fix}",
        specs.PEP3333_UNICODE,
    ),
}


def body_problem(result: Any) -> Problem | None:
    """Why ``result`` cannot be a WSGI response body, as a problem; None if it can."""
    if result is None:
        return "body-is-none", {}
    if isinstance(result, str):
        return "body-is-str", {"value": shown(result, 30)}
    if isinstance(result, (bytes, bytearray)):
        return "body-is-bytes", {"value": shown(bytes(result), 30)}
    if not isinstance(result, Iterable) and not hasattr(result, "__getitem__"):
        return "body-not-iterable", {"value": shown(result), "type": type(result).__name__}
    return None


def _fix(chunk: Any) -> str:
    if isinstance(chunk, str):
        return "Encode it: use text.encode('utf-8') or a b'...' literal."
    if isinstance(chunk, (bytearray, memoryview)):
        return "Convert it with bytes(...)."
    if isinstance(chunk, (int, float)) and not isinstance(chunk, bool):
        return f"Turn the number into text, then bytes: str({chunk!r}).encode()."
    return "Encode text with .encode('utf-8'); yield only bytes."


def chunk_problem(chunk: Any) -> Problem | None:
    """Why ``chunk`` cannot be a piece of a WSGI body, as a problem; None if it can."""
    if isinstance(chunk, bytes):
        return None
    details = {"type": type(chunk).__name__, "value": shown(chunk, 30), "fix": _fix(chunk)}
    return "body-not-bytes", details


def body_type_problem(result: Any) -> str | None:
    """The sentence explaining why ``result`` cannot be a WSGI body, or None if it can."""
    problem = body_problem(result)
    return None if problem is None else BODY_SENTENCES[problem[0]].say(**problem[1])


def chunk_type_problem(chunk: Any) -> str | None:
    """The sentence explaining why ``chunk`` cannot be a piece of a body, or None."""
    problem = chunk_problem(chunk)
    return None if problem is None else BODY_SENTENCES[problem[0]].say(**problem[1])
