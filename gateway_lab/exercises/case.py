"""A case of an exercise: one request, and what its response must show.

Theory of operation: a :class:`Case` is data. ``probe()`` turns it into the
checker's :class:`~gateway_lab.check.battery.Probe` (the request to send),
and ``expectations(response)`` turns the response that came back into
``(passed, sentence)`` pairs: the status, text the body contains (or must
not contain), the exact body, and headers whose value must contain some
text. Sentences quote at most 60 bytes of a body, so a long one stays
readable. Two helpers let a case read a body as a client would:
:func:`in_its_charset` (the text in the charset its Content-Type names) and
:func:`multibyte_characters` (which characters take more than one byte, to
explain a byte count).

>>> case = Case("GET /?name=Ada", contains="Hello, Ada")
>>> case.probe().label
'GET /?name=Ada'
>>> from gateway_lab.interface.response import Response
>>> case.expectations(Response(200, body=b"Hello, Bob"))
[(True, 'status 200'), (False, "body should contain 'Hello, Ada', got b'Hello, Bob'")]
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from gateway_lab.check.battery import Probe
from gateway_lab.interface.response import Response

__all__ = ["Case", "header_row", "in_its_charset", "multibyte_characters"]


def header_row(name: str, value: str | None) -> str:
    """The ✓ sentence of a header a case expects: ``"Content-Type: text/plain"``."""
    return f"{name}: {value}"


def in_its_charset(response: Response) -> Response:
    """``response``, its body re-encoded in UTF-8 if its Content-Type declares another charset.

    >>> latin = Response(200, [("Content-Type", "text/plain; charset=latin-1")], b"Zo\\xeb")
    >>> in_its_charset(latin).text
    'Zoë'
    """
    declared = re.search(r"charset=\"?([\w.:-]+)", response.header("Content-Type") or "", re.I)
    if declared is None:
        return response
    try:
        if codecs.lookup(declared.group(1)).name == "utf-8":
            return response
        text = response.body.decode(declared.group(1))
    except (LookupError, UnicodeDecodeError):  # an unknown charset, or not in it: as it is
        return response
    return Response(response.status, response.headers, text.encode("utf-8"), response.reason)


def multibyte_characters(text: str) -> str:
    """How many UTF-8 bytes each non-ASCII character of ``text`` takes: ``"'ë' is 2 bytes"``."""
    return ", ".join(
        f"{char!r} is {len(char.encode('utf-8'))} bytes"
        for char in dict.fromkeys(text)
        if len(char.encode("utf-8")) > 1
    )


@dataclass(frozen=True)
class Case:
    """One request of an exercise and what its response must show.

    ``request`` is ``"METHOD target"``; ``body`` may be bytes or a tuple of
    pieces (an ASGI app then receives one ``http.request`` per piece).
    ``headers_expected`` maps a header name to text its value must contain;
    ``lacks``: text the body must not contain (a ✗ row when it does, no row
    when it does not).
    """

    request: str = "GET /"
    body: bytes | tuple[bytes, ...] = b""
    headers: tuple[tuple[str, str], ...] = ()
    status: int | None = 200
    contains: str | tuple[str, ...] = ()
    equals: bytes | str | None = None
    headers_expected: dict[str, str] = field(default_factory=dict)
    says: str = ""
    lacks: tuple[str, ...] = ()

    def probe(self) -> Probe:
        method, _, target = self.request.strip().partition(" ")
        chunks = (self.body,) if isinstance(self.body, bytes) else tuple(self.body)
        return Probe(
            method.upper() or "GET",
            target.strip() or "/",
            tuple(self.headers),
            tuple(c for c in chunks if c),
        )

    def expectations(self, response: Response | None) -> list[tuple[bool, str]]:
        """(passed, sentence) for each thing this case expects of ``response``."""
        if response is None:
            return [
                (False, "no complete response came back (see the rows that name the problems).")
            ]
        results: list[tuple[bool, str]] = []
        if self.status is not None:
            results.append(
                (
                    response.status == self.status,
                    f"status {self.status}"
                    if response.status == self.status
                    else f"status should be {self.status}, got {response.status}",
                )
            )
        texts = (self.contains,) if isinstance(self.contains, str) else self.contains
        for text in texts:
            found = text in response.text
            results.append(
                (
                    found,
                    f"body contains {text!r}"
                    if found
                    else f"body should contain {text!r}, got {_shown(response.body)}",
                )
            )
        results += [
            (False, f"body should not contain {text!r}, got {_shown(response.body)}")
            for text in self.lacks
            if text in response.text
        ]
        if self.equals is not None:
            wanted = self.equals.encode() if isinstance(self.equals, str) else self.equals
            same = response.body == wanted
            results.append(
                (
                    same,
                    f"body is {_shown(wanted)}"
                    if same
                    else f"body should be {_shown(wanted)}, got {_shown(response.body)}",
                )
            )
        for name, part in self.headers_expected.items():
            value = response.header(name)
            good = value is not None and part.lower() in value.lower()
            results.append(
                (
                    good,
                    header_row(name, value)
                    if good
                    else f"header {name} should contain {part!r}, got {value!r}",
                )
            )
        return results


def _shown(body: bytes, limit: int = 60) -> str:
    return repr(body) if len(body) <= limit else repr(body[:limit]) + f"... ({len(body)} bytes)"
