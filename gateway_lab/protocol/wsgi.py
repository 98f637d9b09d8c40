"""The server side of WSGI (PEP 3333), written once and specialised by hooks.

Theory of operation
-------------------
Everything in the package that plays the server for a WSGI app (the
in-process ``gl.call_wsgi``, the mini server, the checker, the guard's 500)
follows the one statement of PEP 3333's server side in :class:`WSGIExchange`,
the way wsgiref's ``BaseHandler`` is written once and specialised by
overriding ``_write`` and ``send_preamble``:

* ``start_response(status, headers, exc_info=None)`` only *remembers* the
  status and headers. It may be called once; again only with ``exc_info``,
  which replaces the first call while nothing was sent and re-raises the
  app's exception once the head is on the wire. It returns ``write``.
* ``write(data)`` and each chunk of the returned body go through ``_send``:
  the head goes out just before the first *non-empty* piece of the body (or
  at the end of an empty body), so the app may change its mind until then.
* :meth:`WSGIExchange.respond` calls the app, checks the body's type, iterates
  it, ends the response, and calls the body's ``close()`` on every path.

A subclass fills in the hooks: :meth:`~WSGIExchange.send_headers` and
:meth:`~WSGIExchange.send_body` (what "on the wire" means), :meth:`~WSGIExchange.end_body`,
and :meth:`~WSGIExchange.problem`, called with a key of :data:`SENTENCES` and
its details whenever the app breaks the protocol. By default a *fatal*
problem (one no server could send) raises :class:`~gateway_lab.errors.ProtocolError`
(or ``WSGIBodyTypeError``) with the sentence; the checker records a finding
and carries on; a server turns the exception into a 500 or a cut connection.

The sentences are data: :data:`SENTENCES` holds each mistake's message, hint
and spec link once, and the checker's rules ``wsgi.<key>`` are made from it.
The judgement of a status and header list is in :mod:`gateway_lab.protocol.head`,
that of a body's type in :mod:`gateway_lab.protocol.bodies`.

>>> class Collect(WSGIExchange):
...     def send_headers(self): print("head:", self.status)
...     def send_body(self, data): print("body:", data)
>>> def app(environ, start_response):
...     start_response("200 OK", [("Content-Type", "text/plain")])
...     return [b"", b"Hi"]
>>> Collect().respond(app, {})
head: 200 OK
body: b'Hi'
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from gateway_lab import specs
from gateway_lab.errors import ProtocolError, WSGIBodyTypeError
from gateway_lab.protocol.bodies import BODY_SENTENCES, Sentence, body_problem, chunk_problem, shown
from gateway_lab.protocol.head import header_problems, parse_status, status_problems
from gateway_lab.types import Environ, ExcInfo, WSGIApp

__all__ = [
    "APP_FAILURES",
    "FATAL",
    "HEADER_KEYS",
    "SENTENCES",
    "WSGIExchange",
    "failure_page",
    "header_problems",
    "parse_status",
    "protocol_error",
    "status_problems",
]

# What an app may raise that a server answers with 500 (or a cut connection):
# every ordinary exception, and the two that would otherwise end a server's
# thread. A sys.exit() in a request handler must not end the server.
APP_FAILURES = (Exception, SystemExit, KeyboardInterrupt)

_START = specs.PEP3333_START_RESPONSE
SENTENCES: dict[str, Sentence] = {
    **BODY_SENTENCES,
    "no-start-response": Sentence(
        "The app returned without calling start_response(status, headers), so there is "
        "no status line to send.",
        "Call start_response('200 OK', [('Content-Type', 'text/plain')]) before (or while) "
        "producing the body.",
        _START,
    ),
    "body-before-start-response": Sentence(
        "The app produced body bytes ({value}) before calling start_response(), so the "
        "server has no status line to put in front of them.",
        "Call start_response first; a generator may call it just before its first yield.",
        _START,
    ),
    "start-response-twice": Sentence(
        "start_response() was called a second time without exc_info (this time with "
        "{status}). It is called once per request; only an error handler may call it again.",
        "Call it once; in an `except` block, pass sys.exc_info() as the third argument.",
        _START,
    ),
    "start-response-args": Sentence(
        "start_response() was called with {detail}; it takes (status, headers) and an "
        "optional exc_info.",
        "Call start_response('200 OK', [('Content-Type', 'text/plain')]).",
        _START,
    ),
    "exc-info-form": Sentence(
        "start_response() got exc_info={value}; it must be the tuple sys.exc_info() "
        "returns (or None).",
        "Pass sys.exc_info() from inside the `except` block.",
        specs.PEP3333_ERROR_HANDLING,
    ),
    "status-not-str": Sentence(
        "The status {value} is of type {type}; WSGI wants a str such as '200 OK'.",
        "Write the status as a string: a three-digit code, a space, a reason: '200 OK'.",
        _START,
    ),
    "status-form": Sentence(
        "The status {value} is not of the form '200 OK' (three digits from 100 to 599, "
        "a space, a reason phrase).",
        "Write it as a three-digit code, a space and a reason, such as '200 OK' or "
        "'404 Not Found'.",
        _START,
    ),
    "status-informational": Sentence(
        "The status {value} is informational (1xx): it announces a response, it is not "
        "one, and a WSGI app cannot send it (the server sends '100 Continue' by itself).",
        "Send a final status, such as '200 OK'.",
        _START,
    ),
    "status-not-latin1": Sentence(
        "The status {value} has characters outside latin-1 ({chars}); a status line is "
        "bytes on the wire.",
        "Use the standard reason phrase, such as '200 OK'.",
        specs.PEP3333_UNICODE,
    ),
    "status-no-reason": Sentence(
        "The status {value} has no reason phrase.",
        "Add a space and a reason: '{code} {reason}'.",
        _START,
    ),
    "headers-not-list": Sentence(
        "The headers are of type {type}; WSGI wants a list of (name, value) tuples.",
        "Pass a list: [('Content-Type', 'text/plain')].",
        _START,
    ),
    "header-not-tuple": Sentence(
        "The header {value} is not a (name, value) tuple of two items.",
        "Write each header as a tuple of two str: ('Content-Type', 'text/plain').",
        _START,
    ),
    "header-not-str": Sentence(
        "The header {value} has a {part} of type {type}; header names and values are str.",
        "Write both as str, for example str(len(body)) for a Content-Length.",
        specs.PEP3333_UNICODE,
    ),
    "header-not-latin1": Sentence(
        "The header {value} contains characters outside latin-1 ({chars}). WSGI header "
        "strings may only hold code points U+0000 to U+00FF.",
        "Encode the text for the header (for example urllib.parse.quote(...)) or move it "
        "to the body.",
        specs.PEP3333_UNICODE,
    ),
    "header-crlf": Sentence(
        "The header {value} contains a line break or control character. That would "
        "split the header and let the text after it forge new headers or a new response.",
        "Remove '\\r', '\\n' and other control characters from header names and values.",
        _START,
    ),
    "header-name-invalid": Sentence(
        "The header name {value} is not a valid HTTP header name (letters, digits and "
        "'-', no spaces or ':').",
        "Use a name such as 'Content-Type' or 'X-My-Header'.",
        specs.RFC9110_FIELD_NAMES,
    ),
    "header-status": Sentence(
        "The app sent a header called 'Status'. In WSGI the status goes in the first "
        "argument of start_response, never in a header (that is a CGI habit).",
        "Drop the header and pass the status as start_response's first argument.",
        _START,
    ),
    "hop-by-hop-header": Sentence(
        "The app set the hop-by-hop header {value}. Hop-by-hop headers describe one "
        "connection, which belongs to the server; applications must not set them.",
        "Remove it; the server manages connections and transfer encoding itself.",
        specs.PEP3333 + "#other-http-features",
    ),
    "write-not-bytes": Sentence(
        "write() was called with a value of type {type} ({value}); it takes bytes.",
        "Pass bytes: write(text.encode('utf-8')) or a b'...' literal.",
        specs.PEP3333_WRITE,
    ),
    "write-before-start-response": Sentence(
        "write() was called before start_response().",
        "Call start_response first; it returns the write callable.",
        specs.PEP3333_WRITE,
    ),
    "write-after-close": Sentence(
        "write() was called after the response was finished and closed.",
        "Produce all of the body before the app's iterable is exhausted.",
        specs.PEP3333_WRITE,
    ),
}

# The problems no server could put on the wire. The others a server mends
# (it drops a hop-by-hop header, supplies a missing reason phrase) and only
# the checker reports.
FATAL = frozenset(SENTENCES) - {"status-no-reason", "header-status", "hop-by-hop-header"}
# Problems about single headers: the checker reports each one, not only the first.
HEADER_KEYS = frozenset(key for key in SENTENCES if key.startswith("header"))
_TYPE_KEYS = frozenset(BODY_SENTENCES) | {"write-not-bytes"}


def protocol_error(key: str, **details: Any) -> ProtocolError | WSGIBodyTypeError:
    """The exception for one problem: its sentence, in the error type a learner expects."""
    text = SENTENCES[key].say(**details)
    return WSGIBodyTypeError(text) if key in _TYPE_KEYS else ProtocolError(text)


def failure_page(summary: str) -> bytes:
    """The body of the 500 every server side answers when the app failed."""
    return (
        f"500 Internal Server Error\n\nThe app failed: {summary}\n\n"
        f"The full traceback is kept on the server: look at srv.errors in the notebook.\n"
    ).encode("utf-8", "replace")


def _is_exc_info(value: Any) -> bool:
    return isinstance(value, tuple) and len(value) == 3 and isinstance(value[1], BaseException)


# -- the exchange ----------------------------------------------------------------
class WSGIExchange:
    """The server's side of one call of a WSGI app; subclasses fill in the hooks.

    After :meth:`respond`, ``status`` is what the app passed (``code`` and
    ``reason`` parsed from it), ``headers`` the (name, value) pairs, and
    ``headers_sent`` whether the head went out.
    """

    def __init__(self) -> None:
        self.status: Any = None
        self.code: int | None = None
        self.reason = ""
        self.headers: list[tuple[str, str]] = []
        self.headers_sent = False
        self.finished = False  # the body was closed: nothing more may be sent

    # -- hooks -------------------------------------------------------------------
    def send_headers(self) -> None:
        """Put the status line and headers on the wire (called once, before any body)."""

    def send_body(self, data: bytes) -> None:
        """Put one non-empty piece of the body on the wire."""

    def end_body(self) -> None:
        """The body ended normally (after the head went out)."""

    def problem(self, key: str, **details: Any) -> None:
        """The app broke the protocol (``key`` names the sentence): raise if fatal."""
        if key in FATAL:
            raise protocol_error(key, **details)

    def returned(self, result: Any) -> None:
        """The app returned ``result`` (before its type is judged)."""

    def chunk(self, chunk: Any) -> None:
        """One chunk of the body, as the iteration produced it; sends it if it is bytes."""
        found = chunk_problem(chunk)
        if found is not None:
            key, details = found
            self.problem(key, **details)
            return
        self._send(chunk, "body-before-start-response")

    def close_failed(self, exc: Exception) -> None:
        """The body's close() raised ``exc``: by default the exception goes on."""
        raise exc

    def closing(self) -> None:
        """The body has a close() method, about to be called."""

    # -- the two callables PEP 3333 gives the app --------------------------------
    def start_response(self, status: Any, headers: Any, exc_info: ExcInfo = None) -> Any:
        if exc_info is not None:
            if not _is_exc_info(exc_info):
                self.problem("exc-info-form", value=shown(exc_info))
            elif self.headers_sent:  # too late to change anything: re-raise
                try:
                    raise exc_info[1].with_traceback(exc_info[2])
                finally:
                    exc_info = None  # no reference cycle through the traceback
        elif self.status is not None:
            self.problem("start-response-twice", status=shown(status))
        for key, details in status_problems(status):
            self.problem(key, **details)
        problems, pairs = header_problems(headers)
        for key, details in problems:
            self.problem(key, **details)
        self.status, self.headers = status, pairs
        self.code = parse_status(status)
        self.reason = status[4:] if isinstance(status, str) else ""
        if self.code is not None and not self.reason.strip():
            self.reason = _phrase(self.code)
        return self.write

    def write(self, data: Any) -> None:
        """PEP 3333's write(): send ``data`` now (the head first, if it has not gone)."""
        if not isinstance(data, bytes):
            self.problem("write-not-bytes", type=type(data).__name__, value=shown(data, 30))
            return
        if self.finished:
            self.problem("write-after-close")
            return
        self._send(data, "write-before-start-response")

    def _send(self, data: bytes, early: str) -> None:
        if not data:
            return
        if not self.headers_sent:
            if self.status is None:
                self.problem(early, value=shown(data, 30))
            self.send_headers()
            self.headers_sent = True
        self.send_body(data)

    # -- calling the app ---------------------------------------------------------
    def respond(self, app: WSGIApp, environ: Environ) -> None:
        """Call the app, send all it produces, end the response; close() on every path."""
        result: Any = None
        try:
            result = app(environ, self.start_response)
            self.returned(result)
            found = body_problem(result)
            if found is not None:
                key, details = found
                self.problem(key, **details)
                return
            for chunk in result:
                if self.stopped():
                    break
                self.chunk(chunk)
            self.finish()
        finally:
            self.close(result)

    def stopped(self) -> bool:
        """Checked before each chunk: True to stop iterating the body."""
        return False

    def finish(self) -> None:
        """The body is exhausted: send the head if no byte has yet, then end the body."""
        if not self.headers_sent:
            if self.status is None:
                self.problem("no-start-response")
            self.send_headers()
            self.headers_sent = True
        self.end_body()

    def close(self, result: Iterable[bytes] | None) -> None:
        """Call the body's close() if it has one (PEP 3333: on every path)."""
        self.finished = True
        close = getattr(result, "close", None)
        if close is None:
            return
        self.closing()
        try:
            close()
        except Exception as exc:
            self.close_failed(exc)


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""
