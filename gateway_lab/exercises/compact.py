"""A passing exercise report, brief: one line per request, every check still named.

Theory of operation: an exercise's feedback is one ``(mark, sentence)`` row
per expectation, each sentence starting with the request it is about
(``"GET /?name=Ada (the name from the query string): status 200"``). That is
right for a failing answer, where the ✗ row must stand out, but a passing
one then runs to twenty lines of ✓. :func:`compact_lines` folds consecutive
✓ rows about the same request into one row that names each check, so a
passing report fits in a dozen lines and still shows everything the
exercise is about. Rows marked ✗, ! or i are never folded.

:func:`finding_lines` is the other half: the checker's findings as feedback
rows, one row per *rule* (with every request that showed it), not one per
request, so a read past the body on four requests is one row, not four.

>>> compact_lines([("✓", "GET / (home): status 200"), ("✓", "GET / (home): body contains 'Hi'")])
[('✓', "GET / (home): status 200 · body contains 'Hi'")]
"""

from __future__ import annotations

import re
from collections.abc import Callable

from gateway_lab.check.report import Finding, Report

__all__ = ["compact_lines", "finding_lines", "regroup_findings"]

_SEPARATOR = " · "


def _split(text: str) -> tuple[str, str]:
    """The request a row is about, and what it says (no request: all of it)."""
    about, colon, rest = text.partition("): ")
    if colon and "(" in about:
        return about + ")", rest
    head, colon, rest = text.partition(": ")
    return (head, rest) if colon else ("", text)


def compact_lines(lines: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``lines`` with consecutive ✓ rows about one request folded into one row."""
    folded: list[tuple[str, str]] = []
    last_about = None
    for mark, text in lines:
        about, said = _split(text)
        if mark == "✓" and about and folded and folded[-1][0] == "✓" and about == last_about:
            folded[-1] = ("✓", folded[-1][1] + _SEPARATOR + said)
            continue
        folded.append((mark, text))
        last_about = about if mark == "✓" else None
    return folded


# A value shown in brackets: a str or bytes repr, whole or cut short ("('{"name": ...)").
_SHOWN = re.compile(r"""\(b?(?:'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|['"][^()]*\.\.\.)\)""")


# A quoted str or bytes literal inside a hint: 'hello'.encode(...), b'x'.
_QUOTED = re.compile(r"""b?'(?:\\.|[^'\\])*'""")


def _case(finding: Finding) -> str:
    """Findings of one rule that differ only in numbers or a value shown in brackets: one case."""
    return re.sub(r"\d+", "#", _SHOWN.sub("(…)", finding.message))


def _cases(group: list[Finding], key: Callable[[Finding], str]) -> list[tuple[str, list[str]]]:
    """The group's findings by ``key``: the first message of each, and every request it named."""
    cases: dict[str, tuple[str, list[str]]] = {}
    for item in group:
        _, requests = cases.setdefault(key(item), (item.message, []))
        requests += [r for r in (item.request, *item.also) if r and r not in requests]
    return list(cases.values())


def finding_lines(report: Report) -> list[tuple[str, str]]:
    """One feedback row per rule the report found, errors first.

    A note (severity ``info``) gets a row, marked ``i``, only when it has
    something to change (a scope refused with ``return`` rather than by
    raising); it never fails the exercise.

    The groups are :meth:`Report.grouped`'s, so the row names every request
    that showed the rule. Findings whose messages differ in more than numbers
    or a bracketed value (two different exceptions) are different causes: the
    row then says each message once, after the requests that showed it, so
    "sent 11" and "sent 20" are never read as one request's contradiction.
    """
    rows: list[tuple[str, str]] = []
    for group in report.grouped():
        first = group[0]
        if first.severity == "info" and not first.hint:
            continue  # a note with nothing to change (a scope the app rightly refused)
        requests = list(dict.fromkeys(r for f in group for r in (f.request, *f.also) if r))
        where = f" on {', '.join(requests)}" if requests else ""
        said = _cases(group, _case)
        messages = said[0][0]
        if len(said) > 1:  # several causes: each with its own numbers and its own requests
            said = _cases(group, lambda item: _SHOWN.sub("(…)", item.message))
            messages = " ".join(f"On {', '.join(at)}: {text}" if at else text for text, at in said)
        # One cause, one hint: that of the finding whose message the row quotes (two
        # requests' hints would quote two values: 'just one'.encode(), your text.encode()).
        # Several causes: each hint once, counting hints that differ only in a quoted
        # value or a number as one.
        first_hint = next((f.hint for f in group if f.hint), "")
        hints = (
            first_hint
            if len(said) == 1
            else " ".join(
                {
                    re.sub(r"\d+", "#", _SHOWN.sub("(…)", _QUOTED.sub("'…'", f.hint))): f.hint
                    for f in reversed(group)
                    if f.hint
                }.values()
            )
        )
        mark = {"warning": "!", "info": "i"}.get(first.severity, "✗")
        rows.append((mark, f"{first.rule}{where}: {messages} What to change: {hints}"))
    return rows


def regroup_findings(lines: list[tuple[str, str]], report: Report) -> list[tuple[str, str]]:
    """``lines`` with the per-request finding rows replaced by :func:`finding_lines`.

    A finding row starts with its rule id; the grouped rows take the place of
    the first one, so the rows around them keep their order.
    """
    rules = report.rules()
    kept: list[tuple[str, str]] = []
    placed = False
    for mark, text in lines:
        if text.split(" ", 1)[0].rstrip(":") in rules:
            if not placed:
                kept += finding_lines(report)
                placed = True
            continue
        kept.append((mark, text))
    return kept
