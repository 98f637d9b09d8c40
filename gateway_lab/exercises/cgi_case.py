"""One request of a CGI exercise, and what its answer must show.

Theory of operation: a :class:`CGICase` wraps a
:class:`~gateway_lab.exercises.case.Case` (the request, a status, text in
the body, headers) and adds what a CGI page must *not* show (an unescaped
``<script>``), patterns it must show (a form, read with HTML comments left
out), and advice for when it fails. A case that names a form ``field``
reads its greeting as a browser shows the page (:func:`~.page.page_text`),
and its advice follows what the page showed instead (:meth:`CGICase.page_hint`).
It runs the script once per request with :func:`gateway_lab.run_cgi` and turns
the result into ✓ / ✗ lines, one per thing to change; the
:class:`~.cgi.CGIExercise` puts the cases together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import unquote_plus

from gateway_lab import specs
from gateway_lab.cgi.parse import length_mismatch_note
from gateway_lab.cgi.run import CGIResult, run_cgi
from gateway_lab.exercises.case import Case
from gateway_lab.exercises.page import (
    DECODE_HINT,
    ENCODED_HTML_HINT,
    FIELD_HINT,
    LIST_HINT,
    WORDING_HINT,
    page_text,
    without_comments,
)
from gateway_lab.interface.response import reason_for

Line = tuple[str, str]  # (mark, sentence)

__all__ = [
    "STATUS_HINT",
    "CGICase",
    "gateway_answered",
    "launch_failed",
    "own_header_lines",
    "raw_header_names",
    "raw_headers",
]


@dataclass(frozen=True)
class CGICase:
    """One request of a CGI exercise: a :class:`Case` and a little more.

    ``absent``: text the body must not contain. ``shows``: (regular
    expression, what it means in words) pairs the body must match, HTML
    comments aside. ``hint``: what to change when this case's *page* is
    wrong (its text, what it must show or must not contain); a wrong status
    or header gets advice of its own. ``field``: the form field (``"name"``)
    whose value the page must show: the case's ``contains`` texts are then
    read in the page's text as a browser shows it (markup around the value
    is fine), and a failed one gets advice that follows what the page showed
    (:meth:`page_hint`), ``hint`` only when the value is not there at all.
    ``echoes``: a form field the page shows back, checked as it is (no
    reading as a browser does); when the page shows it still URL-encoded, the
    page's checks give the decoding advice instead of ``hint``
    (:meth:`own_hint`).
    """

    case: Case
    absent: tuple[str, ...] = ()
    shows: tuple[tuple[str, str], ...] = ()
    hint: str = ""
    field: str = ""
    echoes: str = ""

    @property
    def method(self) -> str:
        return self.case.request.strip().partition(" ")[0].upper() or "GET"

    @property
    def target(self) -> str:
        return self.case.request.strip().partition(" ")[2].strip() or "/"

    @property
    def body(self) -> bytes:
        body = self.case.body
        return body if isinstance(body, bytes) else b"".join(body)

    @property
    def label(self) -> str:
        """The request in a few words: ``POST / with body 'name=Ada'``."""
        text = f"{self.method} {self.target}"
        return text + (f" with body {self.body.decode('latin-1')!r}" if self.body else "")

    @property
    def sent(self) -> tuple[str, str]:
        """The ``field``'s value as the request sends it (encoded) and decoded; empty if none."""
        return self._sent(self.field)

    def _sent(self, field: str) -> tuple[str, str]:
        if not field:
            return "", ""
        form = self.body.decode("latin-1") if self.method == "POST" else self.target
        found = re.search(rf"(?:^|[?&;]){re.escape(field)}=([^&;]*)", form)
        raw = found.group(1) if found else ""
        return raw, unquote_plus(raw)

    def own_hint(self, page: str) -> str:
        """``hint``, or the decoding advice when ``page`` shows ``echoes`` still URL-encoded."""
        raw, value = self._sent(self.echoes)
        if raw != value and (raw in page or raw in page_text(page)):
            return ENCODED_HTML_HINT
        return self.hint

    @property
    def wanted(self) -> tuple[str, ...]:
        """The texts the page must contain."""
        contains = self.case.contains
        return (contains,) if isinstance(contains, str) else tuple(contains)

    def found(self, text: str, page: str) -> bool:
        """Does ``page`` contain ``text`` (for a ``field`` case: also in the text it shows)?"""
        return text in page or (bool(self.field) and text in page_text(page))

    def answered(self, page: str) -> bool:
        """Does ``page`` hold every text this case wants? (How the stdin checks tell.)"""
        return all(self.found(text, page) for text in self.wanted)

    def page_hint(self, page: str) -> str:
        """What to change when ``page`` lacks a wanted text, following what it showed."""
        raw, value = self.sent
        if not value:
            return self.hint
        shown = page_text(page)
        quoted = "['\"]?" + re.escape(value) + "['\"]?"
        if re.search(r"\[\s*" + quoted + r"\s*(?:,[^\]]*)?\]", shown):
            return LIST_HINT
        if f"{self.field}={raw}" in shown or f"{self.field}={value}" in shown:
            return FIELD_HINT.format(field=f"{self.field}=", name=self.field)
        if raw != value and raw in shown:
            return DECODE_HINT
        if value.lower() in shown.lower():
            wanted = next((t for t in self.wanted if value in t), "")
            if wanted:
                return WORDING_HINT.format(wanted=wanted.replace(value, "NAME"))
        return self.hint

    def run(self, script: str, timeout: float) -> CGIResult:
        """Send this case's request to ``script`` through the course's gateway."""
        # "/?name=Ada" asks for the script itself: no extra path, only a query.
        path = (
            self.target[1:] if self.target == "/" or self.target.startswith("/?") else self.target
        )
        return run_cgi(
            script, self.method, path, list(self.case.headers), self.body, timeout=timeout
        )

    def expectations(self, result: CGIResult) -> list[tuple[bool, str]]:
        """(passed, sentence) for each thing this case expects of ``result``."""
        return [(ok, text) for ok, text, _ in self.checks(result)]

    def checks(self, result: CGIResult) -> list[tuple[bool, str, str]]:
        """(passed, sentence, what to change if it failed) for each expectation.

        Each check carries the hint for *its* part of the answer: a wrong
        status, a wrong header and a wrong page get different advice, so a
        learner is never told to fix a part that passed.
        """
        case = self.case
        hint = self.own_hint(result.text)
        status = replace(case, contains=(), equals=None, headers_expected={})
        checks = [(ok, text, STATUS_HINT) for ok, text in status.expectations(result)]
        if self.field:
            checks += [self._text_check(text, result) for text in self.wanted]
            page = replace(case, status=None, contains=(), headers_expected={})
        else:
            page = replace(case, status=None, headers_expected={})
        checks += [(ok, text, hint) for ok, text in page.expectations(result)]
        for text in self.absent:
            found = text in result.text
            checks.append(
                (
                    not found,
                    f"body has no unescaped {text!r}"
                    if not found
                    else f"body should not contain {text!r} as it is, but it does",
                    hint,
                )
            )
        shown = without_comments(result.text)
        for pattern, meaning in self.shows:
            seen = re.search(pattern, shown, re.IGNORECASE) is not None
            checks.append((seen, meaning if seen else f"should show {meaning}, but does not", hint))
        for name, part in case.headers_expected.items():
            one_header = replace(
                case, status=None, contains=(), equals=None, headers_expected={name: part}
            )
            hint = _header_hint(name, part)
            checks += [(ok, text, hint) for ok, text in one_header.expectations(result)]
        return checks

    def _text_check(self, text: str, result: CGIResult) -> tuple[bool, str, str]:
        """A wanted text of a ``field`` case: in the body, or in the text the page shows."""
        one = replace(self.case, status=None, contains=text, equals=None, headers_expected={})
        ((ok, sentence),) = one.expectations(result)
        if ok:
            return True, sentence, self.hint
        if text in page_text(result.text):
            return True, f"page shows {text!r}", self.hint
        return False, sentence, self.page_hint(result.text)


STATUS_HINT = (
    "A normal answer needs no Status: header (the gateway then sends 200 OK); print "
    "Status: only for an error or a redirect."
)


def _header_hint(name: str, part: str) -> str:
    if name.lower() == "content-type" and part.lower() == "text/html":
        return (
            "print('Content-Type: text/html; charset=utf-8') before the empty line: with "
            "any other type (text/plain, say) the browser shows your tags as text "
            "instead of drawing the page."
        )
    return f"print a {name}: header whose value contains {part!r}, before the empty line."


def raw_headers(result: CGIResult) -> list[tuple[str, str]] | None:
    """The headers the script itself printed (names lower case), or None if unknown."""
    events = result.flow.of_kind("stdout") if result.flow is not None else []
    if not events:
        return None
    raw: bytes = events[-1].payload.get("body", b"")
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
    pairs = []
    for line in head.splitlines():
        name, colon, value = line.partition(b":")
        if colon:
            pairs.append((name.strip().decode("latin-1").lower(), value.decode("latin-1").strip()))
    return pairs


def raw_header_names(result: CGIResult) -> set[str] | None:
    """The header names the script itself printed (lower case), or None if unknown."""
    pairs = raw_headers(result)
    return None if pairs is None else {name for name, _ in pairs}


def own_header_lines(heads: list[tuple[str, CGIResult, list[tuple[str, str]]]]) -> list[Line]:
    """Lines on what the script's own headers say that the gateway's answer hides.

    ``heads``: (request, result, the headers the script printed) of each
    answered request. A ``Content-Length`` that is not the body's size is a
    ✗: this gateway (and ``serve_cgi``) send the right one, so the page looks
    fine here, but a server that passes the header on breaks the page. A
    ``Status:`` with no reason phrase is a warning: the gateway supplies one.
    Nothing is said when the script sends neither.
    """
    lines: list[Line] = []
    lengths = [
        (label, value, len(result.body))
        for label, result, pairs in heads
        for name, value in pairs
        if name == "content-length"
    ]
    wrong = [(label, value, size) for label, value, size in lengths if value != str(size)]
    if wrong:
        label, value, size = wrong[0]
        more = len(wrong) - 1
        also = f" (and {more} more request{'s' if more > 1 else ''})" if more else ""
        lines.append(("✗", f"{label}{also}: {length_mismatch_note(value, size)}"))
    elif lengths:
        lines.append(("✓", "the script's Content-Length header matches its body"))
    bare = [
        (label, value)
        for label, _, pairs in heads
        for name, value in pairs
        if name == "status" and re.fullmatch(r"\d{3}", value)
    ]
    if bare:
        label, value = bare[0]
        code = int(value)
        lines.append(
            (
                "!",
                f"{label}: the script printed 'Status: {value}' with no reason phrase. "
                f'RFC 3875 section 6.3.3 writes the header as "Status:" status-code SP '
                f"reason-phrase; this gateway supplied the phrase, another server may not. "
                f"What to change: print('Status: {code} {reason_for(code) or 'Reason'}')"
                f"{', or leave the Status line out: 200 is the default' if code == 200 else ''}"
                f". See {specs.rfc3875_section('6.3.3')}",
            )
        )
    return lines


def gateway_answered(result: CGIResult) -> bool:
    """True when the page is the gateway's explanation, not the script's answer."""
    return result.problem is not None and result.status >= 500


def launch_failed(result: CGIResult) -> bool:
    """The script never ran (not executable, bad #! line) or was stopped (timeout)."""
    return gateway_answered(result) and (result.exit_code is None or result.status == 504)
