"""One rule of the catalogue, and the spec addresses the rules point to.

Theory of operation: a :class:`Rule` is plain data: a stable id, a severity,
``message`` and ``hint`` templates filled in with the details of each case,
and a link to the spec section. The catalogue itself is in
:mod:`.rules` (mistakes any app can make), :mod:`.wsgi_rules` and
:mod:`.asgi_rules`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ASGI", "PEP", "RFC9110", "Rule"]

PEP = "https://peps.python.org/pep-3333/"
ASGI = "https://asgi.readthedocs.io/en/latest/specs/"
RFC9110 = "https://www.rfc-editor.org/rfc/rfc9110"


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    message: str
    hint: str
    spec: str
