"""A header that holds one value, sent twice: the rule for WSGI and ASGI alike.

Theory of operation: RFC 9110 lets a field appear on several lines only when
its grammar is a comma-separated list (``Vary``, ``Cache-Control``) or it is
the well-known exception, ``Set-Cookie``. :data:`specs.SINGLETON_FIELDS
<gateway_lab.specs.SINGLETON_FIELDS>` names the response fields that are not
lists. :func:`repeated_problems` finds each one sent twice or more (two
Content-Types from a middleware that appends its own, say) and gives the
``wsgi.`` or ``asgi.header-repeated`` problem with the values it saw; the two
rules are one template (:data:`HEADER_REPEATED_RULES`), differing only in
how a header name is written on each side. Two Content-Lengths that differ
are left to ``content-length-invalid``: a length that cannot be read.

>>> repeated_fields([("Content-Type", "text/html"), ("content-type", "text/plain")])
[('Content-Type', ['text/html', 'text/plain'])]
>>> repeated_fields([("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("Vary", "Cookie")])
[]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway_lab import specs
from gateway_lab.check.explain import short
from gateway_lab.check.ruletypes import Rule

__all__ = ["HEADER_REPEATED_RULES", "repeated_fields", "repeated_problems"]

Problem = tuple[str, dict[str, Any]]

_SENTENCE = (
    "a sender MUST NOT generate multiple field lines with the same name in a message "
    "(whether in the headers or trailers) or append a field line when a field line of "
    "the same name already exists in the message, unless that field's definition allows "
    "multiple field line values to be recombined as a comma-separated list"
)


def _rule(side: str, quote: str) -> Rule:
    return Rule(
        f"{side}.header-repeated",
        "error",
        "The response sends {name} {count}: {values}. It holds one value: {why}",
        "Send it once: middleware that changes it replaces the app's pair, "
        f"[(k, v) for k, v in headers if k.lower() != {quote}{{lower}}'] + [...], "
        "instead of appending a second one.",
        specs.RFC9110_FIELD_ORDER,
        _SENTENCE,
    )


HEADER_REPEATED_RULES = [_rule("wsgi", "'"), _rule("asgi", "b'")]


def repeated_fields(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    """The singleton fields among ``pairs`` sent more than once, with their values."""
    seen: dict[str, tuple[str, list[str]]] = {}
    for name, value in pairs:
        if name.lower() in specs.SINGLETON_FIELDS:
            seen.setdefault(name.lower(), (name, []))[1].append(value)
    return [
        (name, values)
        for lower, (name, values) in seen.items()
        if len(values) > 1 and not (lower == "content-length" and len(set(values)) > 1)
    ]


def repeated_problems(side: str, headers: Sequence[tuple[str, str]]) -> list[Problem]:
    """``<side>.header-repeated`` for each singleton field in ``headers`` sent twice or more."""
    problems: list[Problem] = []
    for name, values in repeated_fields(headers):
        count = "twice" if len(values) == 2 else f"{len(values)} times"
        shown = " and ".join(short(v, 40) for v in values[:3]) + (", ..." if values[3:] else "")
        why = (
            "a client may reject the response, or read the lines as one broken value."
            if len(set(values)) == 1
            else "clients that read the first and clients that read the last see "
            "different responses."
        )
        details = {"name": name, "count": count, "values": shown, "lower": name.lower()}
        problems.append((f"{side}.header-repeated", {**details, "why": why}))
    return problems
