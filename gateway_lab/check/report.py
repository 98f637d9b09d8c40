"""Findings and the report that holds them: what a check says, in plain words.

Theory of operation: a checker plays the server, watches the app, and for
each broken rule adds a :class:`Finding` to a :class:`Report`. A finding is
data, not an exception: the rule's stable id (``"wsgi.body-not-bytes"``),
what the app did (``message``), what to change (``hint``), where the spec
says so (``spec``), how bad it is (``severity``), the request that showed it
and the :class:`~gateway_lab.events.flow.Event` records that prove it.

The same mistake usually shows on every request of the battery; the report
keeps it once and lists the other requests under ``also``. The report reads
as text in a script (``str(report)``) and as HTML in a notebook
(``_repr_html_``): a one-line summary first (the verdict and how many
rules of each severity were broken), then one block per *rule*, errors first, headed by one
line naming the rule and every request that showed it (:meth:`Report.grouped`),
so two findings of one rule (the same header mistake in two headers, a read
past the body on GET and on POST) read as one item, not two.

>>> from gateway_lab.check.report import Finding, Report
>>> report = Report("check_wsgi(app)")
>>> report.ok
True
"""

from __future__ import annotations

import html
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

from gateway_lab.events.flow import CHECK_PER_CONNECTION, Event, Flow

__all__ = ["SEVERITIES", "Finding", "Report"]

SEVERITIES = ("error", "warning", "info")
_MARK = {"error": "✗", "warning": "!", "info": "i"}
_COLOUR = {"error": "#b00020", "warning": "#a15c00", "info": "#0b5394"}
_COUNTED = {"error": "error", "warning": "warning", "info": "note"}  # "2 notes", not "2 infos"


@dataclass
class Finding:
    """One thing the check noticed about the app."""

    rule: str
    message: str
    hint: str
    spec: str
    severity: str = "error"
    request: str = ""
    events: list[Event] = field(default_factory=list)
    also: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        where = f" on {self.request}" if self.request else ""
        if self.also:
            where += f" (also {', '.join(self.also)})"
        lines = [
            f"{_MARK[self.severity]} {self.severity}: {self.rule}{where}",
            f"    {self.message}",
        ]
        if self.hint:
            lines.append(f"    What to change: {self.hint}")
        if self.spec:
            lines.append(f"    See: {self.spec}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = _COLOUR[self.severity]
        where = f" on <code>{html.escape(self.request)}</code>" if self.request else ""
        if self.also:
            where += " (also " + ", ".join(f"<code>{html.escape(a)}</code>" for a in self.also)
            where += ")"
        spec = (
            f'<div>See: <a href="{html.escape(self.spec)}" target="_blank">'
            f"{html.escape(self.spec)}</a></div>"
            if self.spec
            else ""
        )
        hint = f"<div><b>What to change:</b> {html.escape(self.hint)}</div>" if self.hint else ""
        return (
            f'<div style="border-left:4px solid {colour};padding:4px 10px;margin:6px 0">'
            f'<div><b style="color:{colour}">{self.severity}</b> '
            f"<code>{html.escape(self.rule)}</code>{where}</div>"
            f"<div>{html.escape(self.message)}</div>{hint}{spec}</div>"
        )


class Report:
    """Everything a check found, with ``ok`` meaning "no error"."""

    def __init__(self, title: str, requests: list[str] | None = None) -> None:
        self.title = title
        self.requests: list[str] = list(requests or [])
        self.findings: list[Finding] = []
        self.flow = Flow(title, per_connection=CHECK_PER_CONNECTION)
        self.seconds = 0.0
        # the response to each HTTP request of ``requests`` (None: no complete response)
        self.responses: list[Any] = []

    def __await__(self) -> Generator[Any, None, Report]:
        """A finished report is awaitable: ``await gl.check_asgi(app)`` works everywhere."""
        return self
        yield  # a generator that returns at once, never suspending

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def rules(self, severity: str | None = None) -> set[str]:
        """The rule ids found (of one severity, if given)."""
        return {f.rule for f in self.findings if severity in (None, f.severity)}

    def add(self, finding: Finding) -> Finding:
        """Keep ``finding``, or note its request on an identical earlier one."""
        for kept in self.findings:
            if kept.rule == finding.rule and kept.message == finding.message:
                if finding.request and finding.request != kept.request:
                    if finding.request not in kept.also:
                        kept.also.append(finding.request)
                return kept
        self.findings.append(finding)
        return finding

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.ordered())

    def __len__(self) -> int:
        return len(self.findings)

    def __bool__(self) -> bool:  # a report is always truthy; use .ok for the verdict
        return True

    def ordered(self) -> list[Finding]:
        return sorted(self.findings, key=lambda f: SEVERITIES.index(f.severity))

    @property
    def mark(self) -> str:
        """✗ with an error, ! with a warning but no error, ✓ otherwise (notes are fine)."""
        if not self.ok:
            return _MARK["error"]
        return _MARK["warning"] if self.warnings else "✓"

    def grouped(self) -> list[list[Finding]]:
        """The findings, one list per rule, in severity order (errors first)."""
        groups: dict[str, list[Finding]] = {}
        for finding in self.ordered():
            groups.setdefault(finding.rule, []).append(finding)
        return list(groups.values())

    def headline(self) -> str:
        """The one-line summary: the verdict and how many rules of each severity were found."""
        groups = self.grouped()
        counts = [
            f"{n} {_COUNTED[name]}{'s' if n != 1 else ''}"
            for name in SEVERITIES
            if (n := sum(g[0].severity == name for g in groups))
        ]
        verdict = "looks right" if not self.findings else ", ".join(counts)
        if self.ok and self.findings:
            verdict = "no errors, " + verdict
        return f"{self.mark} {self.title}: {verdict}"

    def __str__(self) -> str:
        lines = [self.headline()]
        if self.requests:
            lines.append(f"  requests tried: {'; '.join(self.requests)}")
        for group in self.grouped():
            lines.append("")
            lines.append(_group_text(group))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        colour = {"✓": "#1b7f3b", "!": _COLOUR["warning"]}.get(self.mark, _COLOUR["error"])
        tried = (
            "<div style='color:#555'>Requests tried: "
            + "; ".join(f"<code>{html.escape(r)}</code>" for r in self.requests)
            + "</div>"
            if self.requests
            else ""
        )
        body = "".join(_group_html(group) for group in self.grouped())
        return (
            f"<div><div style='font-weight:bold;color:{colour}'>"
            f"{html.escape(self.headline())}</div>{tried}{body}</div>"
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain data (for tests and JSON): verdict and findings without events."""
        return {
            "title": self.title,
            "ok": self.ok,
            "requests": list(self.requests),
            "findings": [
                {
                    "rule": f.rule,
                    "severity": f.severity,
                    "message": f.message,
                    "hint": f.hint,
                    "spec": f.spec,
                    "request": f.request,
                    "also": list(f.also),
                }
                for f in self.ordered()
            ],
        }


def _requests(group: list[Finding]) -> list[str]:
    """Every request that showed one of ``group``'s findings, in order, once each."""
    return list(dict.fromkeys(r for f in group for r in (f.request, *f.also) if r))


def _group_text(group: list[Finding]) -> str:
    """One rule's block: a head line naming every request, then each distinct case."""
    if len(group) == 1:
        return str(group[0])
    first = group[0]
    requests = _requests(group)
    where = f" on {', '.join(requests)}" if requests else ""
    lines = [f"{_MARK[first.severity]} {first.severity}: {first.rule}{where}"]
    for finding in group:
        at = [r for r in (finding.request, *finding.also) if r]
        say = "" if not at or at == requests else f"on {', '.join(at)}: "
        lines.append(f"    {say}{finding.message}")
    for hint in dict.fromkeys(f.hint for f in group if f.hint):
        lines.append(f"    What to change: {hint}")
    for spec in dict.fromkeys(f.spec for f in group if f.spec):
        lines.append(f"    See: {spec}")
    return "\n".join(lines)


def _group_html(group: list[Finding]) -> str:
    if len(group) == 1:
        return group[0]._repr_html_()
    first = group[0]
    colour = _COLOUR[first.severity]
    requests = ", ".join(f"<code>{html.escape(r)}</code>" for r in _requests(group))
    cases = "".join(
        f"<div>on {html.escape(', '.join(r for r in (f.request, *f.also) if r))}: "
        f"{html.escape(f.message)}</div>"
        for f in group
    )
    hints = "".join(
        f"<div><b>What to change:</b> {html.escape(h)}</div>"
        for h in dict.fromkeys(f.hint for f in group if f.hint)
    )
    specs = "".join(
        f'<div>See: <a href="{html.escape(s)}" target="_blank">{html.escape(s)}</a></div>'
        for s in dict.fromkeys(f.spec for f in group if f.spec)
    )
    return (
        f'<div style="border-left:4px solid {colour};padding:4px 10px;margin:6px 0">'
        f'<div><b style="color:{colour}">{first.severity}</b> '
        f"<code>{html.escape(first.rule)}</code> on {requests}</div>"
        f"{cases}{hints}{specs}</div>"
    )
