"""What an ASGI HTTP response message must hold: an int status, bytes headers, a bytes body.

Theory of operation: :mod:`gateway_lab.protocol.asgi` judges the *order* of
messages; this module judges what is *in* one, the mistakes a learner makes
first (a str body, str headers, ``"200 OK"`` as the status). One pure
function, :func:`field_problem`, gives the sentence for the first wrong
field of an ``http.response.start`` or ``http.response.body`` (``None`` when
they are right), so ``gl.call_asgi``, the guard every served app sits behind
and the mini server all say the same words, and uvicorn never gets to turn a
str body into h11's "sequence item 1: expected a bytes-like object".

>>> field_problem({"type": "http.response.body", "body": "hi"})[:38]
"'body' must be bytes, but the app sent"
>>> field_problem({"type": "http.response.start", "status": 200, "headers": []}) is None
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway_lab import specs

__all__ = ["field_problem"]


def _start_problem(message: Mapping[str, Any]) -> str | None:
    status = message.get("status")
    if not isinstance(status, int) or isinstance(status, bool):
        return (
            f"'status' must be an int such as 200, not {status!r}. "
            f"See {specs.ASGI_HTTP_RESPONSE_START}"
        )
    headers = message.get("headers", [])
    if isinstance(headers, (str, bytes, Mapping)) or not hasattr(headers, "__iter__"):
        return (
            "'headers' must be a list of [name, value] pairs of bytes, such as "
            f"[(b'content-type', b'text/plain')], not {headers!r:.60}. "
            f"See {specs.ASGI_HTTP_RESPONSE_START}"
        )
    if iter(headers) is headers:
        return None  # a one-shot iterator (a generator): reading it here would use it up
    for pair in headers:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            return (
                f"Each header is a [name, value] pair of bytes, not {pair!r:.60}. "
                f"See {specs.ASGI_HTTP_RESPONSE_START}"
            )
        name, value = pair
        if not isinstance(name, bytes) or not isinstance(value, bytes):
            return (
                f"ASGI header names and values must be bytes, but the app sent "
                f"({name!r}, {value!r}). Write them as b'...'. "
                f"See {specs.ASGI_HTTP_RESPONSE_START}"
            )
    return None


def field_problem(message: Mapping[str, Any]) -> str | None:
    """The sentence for the first wrong field of an HTTP response message, else None."""
    kind = message.get("type")
    if kind == "http.response.start":
        return _start_problem(message)
    if kind == "http.response.body":
        data = message.get("body", b"")
        if not isinstance(data, bytes):
            return (
                f"'body' must be bytes, but the app sent a {type(data).__name__}"
                f" ({data!r:.40}). Use b'...' or .encode(). See {specs.ASGI_HTTP_RESPONSE_BODY}"
            )
        more = message.get("more_body", False)
        if not isinstance(more, bool):
            return (
                f"'more_body' must be True or False, not {more!r:.40}. "
                f"See {specs.ASGI_HTTP_RESPONSE_BODY}"
            )
    return None
