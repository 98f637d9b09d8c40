"""One request of a CGI exercise, and what its answer must show.

Theory of operation: a :class:`CGICase` wraps a
:class:`~gateway_lab.exercises.case.Case` (the request, a status, text in
the body, headers) and adds what a CGI page must *not* show (an unescaped
``<script>``), patterns it must show (a form, read with HTML comments left
out), and advice for when it fails. A case that names a form ``field``
reads its greeting as a browser shows the page (:func:`~.page.page_text`),
and its advice follows what the page showed instead (:meth:`CGICase.page_hint`).
An ``in_tags`` field's value, quotes and all, must not break out of a tag's
attribute (:func:`tag_breakout`); shown only as text, its quotes are harmless.
It runs the script once per request with :func:`gateway_lab.run_cgi` and turns
the result into ✓ / ✗ lines, one per thing to change; the
:class:`~.cgi.CGIExercise` puts the cases together.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from urllib.parse import unquote_plus

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

__all__ = [
    "STATUS_HINT",
    "CGICase",
    "gateway_answered",
    "launch_failed",
    "raw_headers",
    "tag_breakout",
]

DOUBLE_HINT = (
    "The name was escaped twice (&amp;lt; on the page, not &lt;): escape once, just before "
    "output, with html.escape(name) where the name goes into the page, nowhere else."
)
EARLY_HINT = (
    "The script calls html.escape, yet the name reached the page unescaped: escape after "
    "parse_qs has decoded %3C, not before (the raw query string or body holds %3C, not <, so "
    "html.escape finds nothing there), with html.escape(name) just before output, on a GET "
    "and on a POST alike."
)
ONE_WAY_HINT = (
    "The script calls html.escape, yet this name reached the page unescaped: escape it on "
    "every way it comes in (the query string for a GET, the body for a POST), or once, just "
    "before output, with html.escape(name) where the name goes into the page."
)
BYTES_HINT = (
    "The page shows b'...': the body is bytes (so is what parse_qs makes of bytes), and str() "
    "of bytes writes b'...' around them. Decode the body before parse_qs: "
    "parse_qs(sys.stdin.buffer.read(length).decode('utf-8'))."
)
QUOTE_HINT = (
    "A quote in the name ended the attribute it was put in, and the rest became attributes "
    "of the tag (' autofocus onfocus='alert(1) would run). Escape with html.escape(name): its "
    "default quote=True turns \" and ' into &quot; and &#x27; (quote=False, or replacing only "
    "< and >, leaves them)."
)
UNQUOTED_HINT = (
    "An attribute value with no quotes ends at the first space, and the rest of the name "
    'became attributes of the tag: quote it, value="{html.escape(name)}".'
)


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
    (:meth:`own_hint`). ``in_tags``: a form field whose value (with quotes in
    it) must not break out of a tag's attribute (:func:`tag_breakout`).
    """

    case: Case
    absent: tuple[str, ...] = ()
    shows: tuple[tuple[str, str], ...] = ()
    hint: str = ""
    field: str = ""
    echoes: str = ""
    in_tags: str = ""

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

    def own_hint(self, page: str, source: str = "") -> str:
        """``hint``, or what went wrong with ``echoes``: URL-encoded, escaped twice, too early."""
        raw, value = self._sent(self.echoes)
        if not value:
            return self.hint
        if raw != value and (raw in page or raw in page_text(page)):
            return ENCODED_HTML_HINT
        if _escaped_twice(value, page):
            return DOUBLE_HINT
        if value in page and any(c in value for c in "<>&") and "html.escape" in source:
            return EARLY_HINT if _escapes_before_parsing(source) else ONE_WAY_HINT
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

    def page_hint(self, page: str, source: str = "") -> str:
        """What to change when ``page`` lacks a wanted text, following what it showed."""
        raw, value = self.sent
        if not value:
            return self.hint
        shown = page_text(page)
        quoted = "['\"]?" + re.escape(value) + "['\"]?"
        if re.search(r"\[\s*" + quoted + r"\s*(?:,[^\]]*)?\]", shown) or f"[{value!r}" in shown:
            return LIST_HINT
        if f"{self.field}={raw}" in shown or f"{self.field}={value}" in shown:
            return FIELD_HINT.format(field=f"{self.field}=", name=self.field)
        if raw != value and raw in shown:
            return DECODE_HINT
        if f"b'{value}'" in shown or f'b"{value}"' in shown:
            return BYTES_HINT
        if _escaped_twice(value, page):
            return DOUBLE_HINT
        if value.lower() in shown.lower():
            wanted = next((t for t in self.wanted if value in t), "")
            if wanted:
                return WORDING_HINT.format(wanted=wanted.replace(value, "NAME"))
        return self.own_hint(page, source)

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

    def checks(self, result: CGIResult, source: str = "") -> list[tuple[bool, str, str]]:
        """(passed, sentence, what to change if it failed) for each expectation.

        Each check carries the hint for *its* part of the answer: a wrong
        status, a wrong header and a wrong page get different advice, so a
        learner is never told to fix a part that passed. ``source``, the
        script's text, tells a name escaped too early from one never escaped.
        """
        case = self.case
        hint = self.own_hint(result.text, source)
        status = replace(case, contains=(), equals=None, headers_expected={})
        checks = [(ok, text, STATUS_HINT) for ok, text in status.expectations(result)]
        if self.field:
            checks += [self._text_check(text, result, source) for text in self.wanted]
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
        if self.in_tags:
            checks.append(self._tags_check(result.text))
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

    def _tags_check(self, page: str) -> tuple[bool, str, str]:
        """Did a quote (or a space) of the ``in_tags`` field break out of a tag's attribute?"""
        found = tag_breakout(page, self._sent(self.in_tags)[1])
        if found is None:
            return True, "no quote from the name is raw inside a tag", QUOTE_HINT
        kind, tag = found
        tag = tag if len(tag) <= 90 else tag[:87] + "..."
        if kind == "quote":
            return False, f"a quote from the name is raw inside the tag {tag}", QUOTE_HINT
        return False, f"the name broke out of an unquoted attribute in the tag {tag}", UNQUOTED_HINT

    def _text_check(self, text: str, result: CGIResult, source: str) -> tuple[bool, str, str]:
        """A wanted text of a ``field`` case: in the body, or in the text the page shows."""
        one = replace(self.case, status=None, contains=text, equals=None, headers_expected={})
        ((ok, sentence),) = one.expectations(result)
        if ok:
            return True, sentence, self.hint
        if text in page_text(result.text):
            return True, f"page shows {text!r}", self.hint
        return False, sentence, self.page_hint(result.text, source)


def _escapes_before_parsing(source: str) -> bool:
    """Does ``source`` escape the raw query string or body, before parse_qs decodes it?"""
    if re.search(r"parse_qs\(\s*html\.escape\(|html\.escape\([^)]*(QUERY_STRING|stdin)", source):
        return True
    early = re.findall(r"(\w+)\s*=\s*html\.escape\(", source)
    return any(re.search(rf"parse_qs\(\s*{name}\b", source) for name in early)


def _escaped_twice(value: str, page: str) -> bool:
    """Does ``page`` show ``value`` run through html.escape twice (``&amp;lt;``)?"""
    twice = {html.escape(html.escape(value, a), b) for a in (True, False) for b in (True, False)}
    return html.escape(value) != value and any(text in page for text in twice)


class _Tags(HTMLParser):
    """Every start tag of a page: its text as written, and its attributes' names."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((self.get_starttag_text() or "", [name for name, _ in attrs]))


def tag_breakout(page: str, value: str) -> tuple[str, str] | None:
    """``("quote" | "unquoted", tag)`` when part of ``value`` broke out of an attribute.

    A word of ``value`` with a quote, raw in a tag: the quote ended the attribute. A word
    of ``value`` as an attribute's *name*: an unquoted value ended at a space. Text is fine.

    >>> tag_breakout("<input value='O'Neil'>", "O'Neil")
    ('quote', "<input value='O'Neil'>")
    >>> tag_breakout("<p>O'Neil</p><input value='O&#x27;Neil'>", "O'Neil") is None
    True
    """
    pieces = [word for word in value.split() if "'" in word or '"' in word]
    words = [word.lower() for word in re.findall(r"[A-Za-z]{4,}", value)]
    parser = _Tags()
    try:
        parser.feed(without_comments(page))
        parser.close()
    except Exception:  # html.parser is lenient; a page it cannot read has no tags to judge
        return None
    for text, names in parser.tags:
        if any(piece in text for piece in pieces):
            return "quote", text
        if any(word in name for name in names for word in words):
            return "unquoted", text
    return None


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


def gateway_answered(result: CGIResult) -> bool:
    """True when the page is the gateway's explanation, not the script's answer."""
    return result.problem is not None and result.status >= 500


def launch_failed(result: CGIResult) -> bool:
    """The script never ran (not executable, bad #! line) or was stopped (timeout)."""
    return gateway_answered(result) and (result.exit_code is None or result.status == 504)
