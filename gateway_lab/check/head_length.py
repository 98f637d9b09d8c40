"""A HEAD response judged against the GET of the same target: its Content-Length.

Theory of operation: a HEAD response has no body, so the checker cannot
compare its Content-Length with bytes sent, as it does for every other
response. RFC 9110 asks for the number GET would have sent, and the battery
has that number: the body of the GET of the same target just before. So
after a battery :func:`head_length_problems` pairs each HEAD with the latest
GET of its target (a request of any other method in between could change
the page, so it breaks the pair) and compares. A HEAD that declares 0 for a
page GET sent is the learner's classic slip (the length computed after the
body was dropped) and an error; any other difference is a warning, since a
page may change between two requests (a clock, a counter). A GET whose own
Content-Length is wrong is left to ``content-length-mismatch``.

>>> from gateway_lab.check.battery import Probe
>>> from gateway_lab.interface.response import Response
>>> get, head = Probe("GET", "/"), Probe("HEAD", "/")
>>> page = Response(200, [("Content-Length", "5")], b"Hello")
>>> head_length_problems([get, head], [page, Response(200, [("Content-Length", "0")])])
[('head-length-zero', {'target': '/', 'declared': 0, 'sent': 5, 'label': 'HEAD /'})]
>>> head_length_problems([get, head], [page, Response(200, [("Content-Length", "5")])])
[]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway_lab import specs
from gateway_lab.check.battery import Probe
from gateway_lab.check.ruletypes import Rule

__all__ = ["HEAD_LENGTH_RULES", "head_length_problems"]

_SENTENCE = (
    "A server MAY send a Content-Length header field in a response to a HEAD request "
    "(Section 9.3.2); a server MUST NOT send Content-Length in such a response unless its "
    "field value equals the decimal number of octets that would have been sent in the "
    "content of a response if the same request had used the GET method."
)


def _rules(side: str, name: str, pick: str) -> list[Rule]:
    return [
        Rule(
            f"{side}.head-length-zero",
            "error",
            f"The HEAD response says {name}: 0, but GET {{target}} sent {{sent}} bytes: the "
            "length was counted after the body was left out.",
            f"Count the body GET would send, then leave it out for HEAD: {pick}",
            specs.RFC9110_CONTENT_LENGTH,
            _SENTENCE,
        ),
        Rule(
            f"{side}.head-length-differs",
            "warning",
            f"The HEAD response says {name}: {{declared}}, but GET {{target}} sent {{sent}} "
            "bytes. A HEAD response's length is the one GET would send.",
            f"Build the same page for HEAD and GET and count it: {pick}",
            specs.RFC9110_CONTENT_LENGTH,
            _SENTENCE,
            "A MUST, but a page may change between two requests (a clock, a counter), so "
            "from outside the app a difference is only a warning.",
        ),
    ]


HEAD_LENGTH_RULES = _rules(
    "wsgi",
    "Content-Length",
    "headers.append(('Content-Length', str(len(body)))), then return [] for HEAD and "
    "[body] for GET.",
) + _rules(
    "asgi",
    "content-length",
    "(b'content-length', str(len(body)).encode()) in the start message, then send "
    "b'' as the body for HEAD.",
)

Problem = tuple[str, dict[str, Any]]


def _declared(response: Any) -> int | None:
    lengths = {v.strip() for k, v in response.headers if k.lower() == "content-length"}
    if len(lengths) != 1:
        return None  # none, or several (another rule's business)
    value = lengths.pop()
    return int(value) if value.isdigit() else None


def head_length_problems(probes: Sequence[Probe], responses: Sequence[Any]) -> list[Problem]:
    """``head-length-zero`` / ``head-length-differs`` for HEADs unlike their GET."""
    problems: list[Problem] = []
    pages: dict[str, Any] = {}  # target: the latest GET response since the last other method
    for probe, response in zip(probes, responses, strict=False):
        if probe.method not in ("GET", "HEAD"):
            pages.clear()
        elif response is None:
            pages.pop(probe.target, None)
        elif probe.method == "GET":
            pages[probe.target] = response
        else:
            page = pages.get(probe.target)
            declared = _declared(response)
            if page is None or declared is None or page.status != response.status:
                continue
            sent = len(page.body)
            if _declared(page) not in (None, sent):
                continue  # GET's own length is wrong: content-length-mismatch says so
            if declared != sent:
                key = "head-length-zero" if declared == 0 else "head-length-differs"
                details = {"target": probe.target, "declared": declared, "sent": sent}
                problems.append((key, {**details, "label": probe.label}))
    return problems
