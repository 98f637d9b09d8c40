"""Read a CGI script's output: header lines, an empty line, then the body.

Theory of operation: RFC 3875 section 6 says what a script must print::

    CGI-Response   = *(header-field NL) NL [ response-body ]
    header-field   = Content-Type | Location | Status | other-field
    Status         = "Status:" SP 3digit SP reason-phrase NL
    NL             = CR LF | LF

We read lines up to the first empty one (``\\n`` and ``\\r\\n`` both end a
line), and check every line as we go, so that the message names the first
line that went wrong: a learner who forgot the empty line after the headers
is told so at the line where the body began. Then three headers are special:

* ``Status:`` is not sent to the client; it *sets* the status (default 200).
* ``Location:`` with no ``Status:`` is a redirect: 302. The RFC asks a server
  to follow a *local* redirect (a path such as ``/other``) itself; this
  gateway answers 302 for those too, so the browser follows it and the
  learner sees the redirect happen.
* ``Content-Type:`` is required when there is a body. We are lenient: a
  missing one is added (``text/html`` if the body starts with ``<``, else
  ``text/plain``) and the fix is explained in a note.

Two more slips get a note, not an error: ``Status: 200`` with no reason
phrase (the grammar above has ``SP reason-phrase``; the gateway supplies the
usual phrase), and a ``Content-Length`` that does not match the body (a
server that passed it on would send the page cut short, or keep the client
waiting for bytes that never come; the course's server sets its own).

Anything else that cannot be a header (a line with no colon, a name with
spaces or binary junk in it, a folded continuation line, an HTTP status line
``HTTP/1.1 200 OK`` copied from a non-parsed-header script, no empty line at
all) raises :class:`CGIOutputError`, whose message says what was wrong and
what to print instead. Nothing here runs a process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gateway_lab import specs
from gateway_lab.errors import CGIOutputError
from gateway_lab.interface.response import reason_for

__all__ = [
    "MAX_HEADER_BYTES",
    "RFC3875_RESPONSE",
    "CGIOutputError",
    "ParsedOutput",
    "length_mismatch_note",
    "parse_cgi_output",
]

RFC3875_RESPONSE = specs.RFC3875_RESPONSE
RFC3875_STATUS = specs.rfc3875_section("6.3.3")
MAX_HEADER_BYTES = 64 * 1024

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE_BYTES = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_STATUS = re.compile(r"([2-5][0-9][0-9])(?:[ \t]+(.*))?")
_ABSOLUTE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
# A header block further down (at the end of a body's last line, too): Content-Type (or
# Status, Location), more headers, then the empty line.
_LATER_HEADER = re.compile(
    rb"((?:content-type|status|location)[ \t]*:[^\r\n]*)\r?\n"
    rb"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+[ \t]*:[^\r\n]*\r?\n)*\r?(?:\n|\Z)",
    re.IGNORECASE,
)

_EXAMPLE = (
    "A CGI script prints its headers first, one per line, then an empty line, "
    "then the body, for example:\n"
    "    print('Content-Type: text/plain')\n"
    "    print()\n"
    "    print('Hello')\n"
    f"See {RFC3875_RESPONSE}"
)


@dataclass
class ParsedOutput:
    """A CGI response, ready to send on as HTTP."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    notes: list[str] = field(default_factory=list)


def _show(line: bytes, limit: int = 60) -> str:
    """A line as a learner can read it (repr, shortened)."""
    text = repr(line[:limit])
    return text + ("..." if len(line) > limit else "")


def _check_header_line(number: int, line: bytes) -> tuple[str, str]:
    if line[:1] in (b" ", b"\t"):
        raise CGIOutputError(
            f"Line {number} of the script's output, {_show(line)}, starts with a space: "
            f"CGI does not allow a header to continue on a second line. Put each "
            f"header on one line.\n{_EXAMPLE}"
        )
    if number == 1 and line.startswith(b"HTTP/"):
        raise CGIOutputError(
            f"The script's output starts with an HTTP status line, {_show(line)}. "
            f"A CGI script does not write the status line itself (that is a "
            f"non-parsed-header script, which this gateway does not run): print "
            f"'Status: 200 OK' as a header instead, or leave it out for 200.\n{_EXAMPLE}"
        )
    name, colon, value = line.partition(b":")
    if not colon:
        hint = (
            "It looks like the body started before the headers ended: did you forget "
            "to print an empty line after the last header?"
            if number > 1
            else "The output must start with headers such as Content-Type."
        )
        raise CGIOutputError(
            f"Line {number} of the script's output, {_show(line)}, is not a header "
            f"(a header is 'Name: value', with a colon). {hint}\n{_EXAMPLE}"
        )
    if not _TOKEN.fullmatch(name):
        raise CGIOutputError(
            f"Line {number} of the script's output, {_show(line)}, has a header name "
            f"{_show(name)} with characters a header name cannot have (only letters, "
            f"digits and -_.!#$%&'*+^`|~; no spaces, no binary bytes).\n{_EXAMPLE}"
        )
    if _BAD_VALUE_BYTES.search(value):
        raise CGIOutputError(
            f"Line {number} of the script's output, {_show(line)}, has control "
            f"characters in its value; a header value is printable text.\n{_EXAMPLE}"
        )
    return name.decode("latin-1"), value.decode("latin-1").strip(" \t")


def _check_not_body_first(data: bytes, first: bytes, buffered: bool) -> None:
    """Raise when line 1 is not a header but a header line comes later: body first.

    Most often a stray ``print()`` (a debugging line) ran before the headers.
    A Python script that prints its headers with ``print()`` and writes its
    body with ``sys.stdout.buffer.write()`` sends the same: ``print()`` keeps
    its text in ``sys.stdout`` until a flush, so the body's bytes, written
    straight to the buffer beneath, leave first. ``buffered`` (the script
    writes to ``sys.stdout.buffer``) says which story to tell.
    """
    name, colon, _ = first.partition(b":")
    if (colon and _TOKEN.fullmatch(name)) or first[:1] in (b" ", b"\t"):
        return
    if first.startswith(b"HTTP/"):
        return
    later = _LATER_HEADER.search(data, 1)  # on line 1 too, after a body's bytes
    if later is None:
        return
    number = data.count(b"\n", 0, later.start()) + 1
    if buffered:
        why = (
            "the body went out before the headers. A Python script does this when it "
            "prints its headers with print() and writes its body with "
            "sys.stdout.buffer.write(): print() keeps its text in sys.stdout until a "
            "flush, so the bytes written to sys.stdout.buffer leave first. Call "
            "sys.stdout.flush() before writing to sys.stdout.buffer, or write everything "
            "one way."
        )
    else:
        why = (
            f"the script printed {_show(first)} before its headers. Print nothing before "
            f"the headers: move that print() below the empty line that ends them, or "
            f"send a debugging line to stderr instead, print(..., file=sys.stderr), "
            f"which the gateway keeps apart from the page."
        )
    raise CGIOutputError(
        f"Line 1 of the script's output, {_show(first)}, is not a header, but a header "
        f"comes later, {_show(later.group(1))} on line {number}: {why}\n{_EXAMPLE}"
    )


def _split_head(data: bytes, buffered: bool = False) -> tuple[list[tuple[str, str]], bytes]:
    """The header fields and the body; raises CGIOutputError on garbage."""
    if not data:
        raise CGIOutputError(f"The script printed nothing at all.\n{_EXAMPLE}")
    fields: list[tuple[str, str]] = []
    position = 0
    while True:
        end = data.find(b"\n", position, position + MAX_HEADER_BYTES + 1)
        if end == -1:
            break
        line = data[position:end]
        line = line[:-1] if line.endswith(b"\r") else line
        position = end + 1
        if not line:
            if not fields:
                raise CGIOutputError(
                    "The script's output starts with an empty line, so it has no "
                    "headers at all. Print the headers (at least Content-Type) before "
                    f"anything else; a stray print() at the top is a common cause.\n"
                    f"{_EXAMPLE}"
                )
            return fields, data[position:]
        if not fields:
            _check_not_body_first(data, line, buffered)
        fields.append(_check_header_line(len(fields) + 1, line))
        if position > MAX_HEADER_BYTES:
            break
    tail = data[position : position + MAX_HEADER_BYTES + 1]
    tail = tail.split(b"\n", 1)[0].rstrip(b"\r")
    if tail:
        _check_header_line(len(fields) + 1, tail)  # names the bad line, if any
    if position > MAX_HEADER_BYTES or len(tail) > MAX_HEADER_BYTES:
        raise CGIOutputError(
            f"The script's headers go on for more than {MAX_HEADER_BYTES} bytes "
            f"without the empty line that ends them.\n{_EXAMPLE}"
        )
    raise CGIOutputError(
        "The script's headers never end: there is no empty line after them, so "
        f"the gateway cannot tell where the body begins. Print an empty line after "
        f"the last header.\n{_EXAMPLE}"
    )


def _status_from(value: str) -> tuple[int, str]:
    match = _STATUS.fullmatch(value)
    if not match:
        raise CGIOutputError(
            f"The script sent 'Status: {value}'. The Status header is a three-digit "
            f"code from 200 to 599 and a reason, for example 'Status: 404 Not Found'. "
            f"See {RFC3875_RESPONSE}"
        )
    return int(match.group(1)), (match.group(2) or "").strip()


def parse_cgi_output(data: bytes, *, buffered: bool = False) -> ParsedOutput:
    """Turn a script's raw output into status, headers and body (RFC 3875 section 6).

    ``buffered``: the script writes to ``sys.stdout.buffer``, so a body that
    went out before the headers is told to flush (see
    :func:`_check_not_body_first`).

    >>> parse_cgi_output(b"Status: 404 Not Found\\nContent-Type: text/plain\\n\\nNo.").status
    404
    """
    fields, body = _split_head(data, buffered)
    notes: list[str] = []
    status: tuple[int, str] | None = None
    headers: list[tuple[str, str]] = []
    for name, value in fields:
        if name.lower() == "status":
            if status is not None:
                raise CGIOutputError(
                    "The script sent two Status headers; send one (or none for 200)."
                )
            status = _status_from(value)
            if not status[1]:
                notes.append(_no_reason_note(value, status[0]))
        else:
            headers.append((name, value))
    names = {name.lower() for name, _ in headers}
    location = next((v for k, v in headers if k.lower() == "location"), None)
    if status is None:
        if location is not None:
            status = (302, "Found")
            if not _ABSOLUTE_URL.match(location):
                notes.append(
                    f"The script sent 'Location: {location}', a local redirect. RFC 3875 "
                    f"lets a server follow it internally; this gateway sends it to the "
                    f"client as a 302 redirect instead."
                )
        else:
            status = (200, "OK")
    length = next((v for k, v in headers if k.lower() == "content-length"), None)
    if body and length is not None and length != str(len(body)):
        notes.append(length_mismatch_note(length, len(body)))
    if body and "content-type" not in names and location is None:
        guess = "text/html" if body.lstrip().startswith(b"<") else "text/plain"
        headers.append(("Content-Type", f"{guess}; charset=utf-8"))
        notes.append(
            f"The script sent a body but no Content-Type header; the gateway added "
            f"'Content-Type: {guess}; charset=utf-8'. Print the Content-Type header "
            f"yourself, for example print('Content-Type: text/html'). "
            f"See {RFC3875_RESPONSE}"
        )
    if not status[1]:
        status = (status[0], reason_for(status[0]))
    return ParsedOutput(status[0], status[1], headers, body, notes)


def _no_reason_note(value: str, code: int) -> str:
    return (
        f"The script sent 'Status: {value.strip()}' with no reason phrase; RFC 3875 "
        f'section 6.3.3 writes the header as "Status:" status-code SP reason-phrase, so '
        f"print 'Status: {code} {reason_for(code) or 'Reason'}' (or leave the Status line out for "
        f"200). This gateway supplied the phrase itself. See {RFC3875_STATUS}"
    )


def length_mismatch_note(declared: str, actual: int) -> str:
    """The note for a Content-Length header that does not match the body."""
    return (
        f"The script sent 'Content-Length: {declared}' but its body is {actual} bytes. "
        f"This gateway sends the right length, but a server that passes the header on "
        f"would send a page cut short (a length too small) or leave the browser waiting "
        f'for bytes that never come (too large): RFC 9112 section 6.3, "its decimal '
        f'value defines the expected message body length in octets". What to change: '
        f"leave Content-Length out (the server sets it), or count the body's bytes, every "
        f"byte after the empty line, newlines included. See {specs.RFC9112_BODY_LENGTH}"
    )
