"""The limits both mini servers put on a client, and the refusal they answer with.

Theory of operation: a server meets clients that send too much (a header of
a megabyte, a body of a gigabyte) and clients that send too little, too
slowly (one byte every few seconds, to hold a thread or a socket for ever).
Each limit turns one such client into a quick, explained refusal, and the
server goes on serving everyone else:

=====================  =========  ==============================================
limit                  default    what happens when a client goes past it
=====================  =========  ==============================================
``max_header_bytes``   16 KiB     431 Request Header Fields Too Large, close
``max_body_bytes``     10 MiB     413 Content Too Large, close
``idle_timeout``       5 s        the connection is closed: between requests,
                                  while a request head arrives, and whenever
                                  the client is silent for that long mid-body
=====================  =========  ==============================================

A refusal is a small ``text/plain`` response that says what happened, sent
with ``Connection: close``: after a broken request we cannot know where the
next one would begin, so we never try to read it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus

from gateway_lab import specs

__all__ = [
    "SUPPORTED_HTTP_VERSIONS",
    "Limits",
    "http_date",
    "reason_phrase",
    "refusal_body",
    "version_refusal",
]

# The HTTP versions both mini servers speak (h11 speaks exactly these two).
SUPPORTED_HTTP_VERSIONS = (b"1.0", b"1.1")


@dataclass(frozen=True)
class Limits:
    """How much, and how slowly, a client may send (see the module docstring)."""

    max_header_bytes: int = 16 * 1024
    max_body_bytes: int = 10 * 1024 * 1024
    idle_timeout: float = 5.0


def reason_phrase(status: int) -> str:
    """The standard reason phrase: 413 -> 'Content Too Large' (or 'Error')."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def refusal_body(status: int, explanation: str) -> bytes:
    """The body of an error response: the status line, then one plain sentence."""
    return f"{status} {reason_phrase(status)}\n\n{explanation}\n".encode("utf-8", "replace")


def version_refusal(http_version: bytes) -> tuple[int, str] | None:
    """(505, explanation) for a request in an HTTP version we do not speak, else None.

    h11 parses any ``HTTP/<digit>.<digit>`` request line, so ``GET / HTTP/3.7``
    arrives as a request like any other; RFC 9110 section 15.6.6 gives the
    answer: 505 HTTP Version Not Supported (and we close the connection).
    """
    if http_version in SUPPORTED_HTTP_VERSIONS:
        return None
    shown = http_version.decode("ascii", "replace")[:10]
    return 505, (
        f"This server speaks HTTP/1.0 and HTTP/1.1, not HTTP/{shown}. "
        f"See {specs.RFC9110_VERSION_NOT_SUPPORTED}"
    )


_date_cache: tuple[int, bytes] = (0, b"")


def http_date() -> bytes:
    """The Date header value (RFC 9110), recomputed at most once a second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True).encode("ascii"))
    return _date_cache[1]
