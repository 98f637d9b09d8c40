"""The types of the rule table: one rule of the catalogue, one unchecked requirement.

Theory of operation: a :class:`Rule` is plain data: a stable id, a severity,
``message`` and ``hint`` templates filled in with the details of each case,
the anchored link to the spec section, and ``sentence``, the spec's own
words that the rule enforces (quoted exactly, so a reader can find them at
the link). A rule whose severity departs from the spec's keyword (a MUST is
an error, a SHOULD a warning) says why in ``severity_why``.

:class:`Unchecked` is the other half of "the rule table is the spec": a
requirement of the spec on applications that no check from outside the app
can see, with the reason. The catalogue itself is in :mod:`.rules` (mistakes
any app can make), :mod:`.wsgi.rules` and :mod:`.asgi.rules`;
``tools/rules_doc.py`` turns it into ``docs/rules.md``. (The types live
apart from the catalogue so that the per-protocol rule modules can use them
without importing the catalogue that imports them.)
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway_lab import specs

__all__ = ["ASGI", "PEP", "RFC9110", "Rule", "Unchecked"]

# Short names for the spec roots the rule modules link under (kept for them).
PEP = specs.PEP3333
ASGI = specs.ASGI_SPECS
RFC9110 = specs.RFC9110


@dataclass(frozen=True)
class Rule:
    """One mistake: id, severity, message and hint templates, spec link and sentence."""

    id: str
    severity: str
    message: str
    hint: str
    spec: str
    sentence: str = ""  # the spec's own words this rule enforces, quoted exactly
    severity_why: str = ""  # why the severity differs from the sentence's MUST / SHOULD


@dataclass(frozen=True)
class Unchecked:
    """A requirement on applications that no check from outside the app can see."""

    sentence: str  # the spec's own words
    spec: str  # the anchored link
    why: str  # why no check is possible (or which rule covers it)
