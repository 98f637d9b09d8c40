"""The rule catalogue: every mistake the checkers know, with its stable id.

Theory of operation: rules are data, kept in three lists: the mistakes any
app can make (here), :mod:`.wsgi_rules` and :mod:`.asgi_rules`. Each
:class:`Rule` has an id that never
changes (tests, notebooks and exercise feedback refer to it), a severity, a
``message`` template (what the app did and why that is wrong, filled in with
the details of the case) and a ``hint`` template (what to change), and the
spec section that says so. Drivers only call :func:`finding` with a rule id
and the details; the wording lives here, in one place, so it can be read and
improved as a whole.

Severity: ``error`` for what the spec forbids (a MUST or MUST NOT) or what
breaks under a real server; ``warning`` for what it only discourages (a
SHOULD or SHOULD NOT); ``info`` for what is worth knowing but fine. Each
rule quotes the spec sentence it enforces (``Rule.sentence``) and, when its
severity is not the one that sentence's keyword gives, says why
(``Rule.severity_why``). :data:`UNCHECKED` lists the requirements on apps
that no check from outside the app can see. ``tools/rules_doc.py`` turns
all of it into ``docs/rules.md``.
"""

from __future__ import annotations

from typing import Any

from gateway_lab.check.asgi import rules as asgi_rules
from gateway_lab.check.asgi.rules import ASGI_RULES
from gateway_lab.check.head_length import HEAD_LENGTH_RULES
from gateway_lab.check.header_repeat import HEADER_REPEATED_RULES
from gateway_lab.check.report import Finding
from gateway_lab.check.ruletypes import PEP, Rule, Unchecked
from gateway_lab.check.wsgi.rules import WSGI_RULES, WSGI_UNCHECKED
from gateway_lab.events.flow import Event

__all__ = ["RULES", "UNCHECKED", "Rule", "Unchecked", "finding"]


APP_RULES = [
    # -- any app -------------------------------------------------------------------
    Rule(
        "app.not-callable",
        "error",
        "The object checked is {what}, which cannot be called, so it cannot be an app.",
        "Pass the app function itself: check_{kind}(app), not check_{kind}(app()).",
        PEP + "#the-application-framework-side",
        "The application object is simply a callable object that accepts two arguments.",
    ),
    Rule(
        "app.wrong-kind",
        "error",
        "{detail}",
        "{hint}",
        PEP + "#specification-details",
        "The application object must accept two positional arguments.",
    ),
    Rule(
        "app.raised",
        "error",
        "The app raised {exc}.",
        "Fix the exception at the line named above; a server would "
        "answer '500 Internal Server Error' to this request.",
        PEP + "#error-handling",
        "In general, applications should try to trap their own, internal errors, and "
        "display a helpful message in the browser.",
        "An exception that leaves the app means no response of the app's own: the client "
        "gets the server's 500 or a cut connection.",
    ),
    Rule(
        "app.timeout",
        "error",
        "The app did not finish within {timeout:g} s, so a client would wait forever. {detail}",
        "Look for a loop that never ends, or a wait for something that never comes.",
        PEP + "#the-application-framework-side",
        "",
        "No spec sentence sets a deadline, but a response that never ends is no response.",
    ),
    Rule(
        "check.failed",
        "warning",
        "The checker itself failed ({exc}), so this report may be incomplete. That is a "
        "bug in gateway_lab, not in your app.",
        "",
        "",
    ),
]

RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (*APP_RULES, *WSGI_RULES, *ASGI_RULES, *HEAD_LENGTH_RULES, *HEADER_REPEATED_RULES)
}

# The requirements on apps no check from outside can see, WSGI's and ASGI's.
UNCHECKED: dict[str, list[Unchecked]] = {
    "wsgi": list(WSGI_UNCHECKED),
    "asgi": list(getattr(asgi_rules, "ASGI_UNCHECKED", [])),
}


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def finding(
    rule_id: str,
    request: str = "",
    events: list[Event] | None = None,
    severity: str | None = None,
    **details: Any,
) -> Finding:
    """The :class:`Finding` for ``rule_id``, its templates filled with ``details``."""
    rule = RULES[rule_id]
    values = _Blank(details)
    return Finding(
        rule=rule.id,
        message=rule.message.format_map(values),
        hint=rule.hint.format_map(values),
        spec=rule.spec,
        severity=severity or rule.severity,
        request=request,
        events=list(events or []),
    )
