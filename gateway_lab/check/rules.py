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

Severity: ``error`` for what the spec forbids or what breaks under a real
server; ``warning`` for what is only discouraged or what servers quietly
repair; ``info`` for what is worth knowing but fine.
"""

from __future__ import annotations

from typing import Any

from gateway_lab.check.asgi.rules import ASGI_RULES
from gateway_lab.check.report import Finding
from gateway_lab.check.rule import PEP, Rule
from gateway_lab.check.wsgi.rules import WSGI_RULES
from gateway_lab.events.flow import Event

__all__ = ["RULES", "Rule", "finding"]


APP_RULES = [
    # -- any app -------------------------------------------------------------------
    Rule(
        "app.not-callable",
        "error",
        "The object checked is {what}, which cannot be called, so it cannot be an app.",
        "Pass the app function itself: check_{kind}(app), not check_{kind}(app()).",
        PEP + "#the-application-framework-side",
    ),
    Rule("app.wrong-kind", "error", "{detail}", "{hint}", PEP + "#the-application-framework-side"),
    Rule(
        "app.raised",
        "error",
        "The app raised {exc}.",
        "Fix the exception at the line named above; a server would "
        "answer '500 Internal Server Error' to this request.",
        PEP + "#error-handling",
    ),
    Rule(
        "app.timeout",
        "error",
        "The app did not finish within {timeout:g} s, so a client would wait forever. {detail}",
        "Look for a loop that never ends, or a wait for something that never comes.",
        PEP + "#the-application-framework-side",
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

RULES: dict[str, Rule] = {rule.id: rule for rule in (*APP_RULES, *WSGI_RULES, *ASGI_RULES)}


class _Blank(dict):  # type: ignore[type-arg]
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
