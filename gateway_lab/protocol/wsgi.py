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

The sentences are data: :data:`SENTENCES` (in :mod:`gateway_lab.protocol.sentences`,
re-exported here) holds each mistake's message, hint and spec link once, and
the checker's rules ``wsgi.<key>`` are made from it.
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

from gateway_lab.errors import ProtocolError, WSGIBodyTypeError
from gateway_lab.protocol.bodies import BODY_SENTENCES, body_problem, chunk_problem, shown
from gateway_lab.protocol.head import header_problems, parse_status, status_problems
from gateway_lab.protocol.sentences import SENTENCES
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


# The problems no server could put on the wire. The others a server mends
# (it drops a hop-by-hop header, supplies a missing reason phrase) and only
# the checker reports.
FATAL = frozenset(SENTENCES) - {
    "status-no-reason",
    "header-status",
    "hop-by-hop-header",
    "exc-info-outside-handler",
    "exc-info-trapped",
    "write-in-iterable",
    "len-inaccurate",
}
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
        f"The full traceback is kept on the server: in the notebook, look at .errors on the "
        f"handle gl.serve_wsgi returned (gl.servers() lists them by name).\n"
    ).encode("utf-8", "replace")


def _is_empty(value: Any) -> bool:
    """What sys.exc_info() returns outside an ``except`` block: (None, None, None)."""
    return isinstance(value, tuple) and value == (None, None, None)


def _is_exc_info(value: Any) -> bool:
    return isinstance(value, tuple) and len(value) == 3 and isinstance(value[1], BaseException)


is_empty_exc_info = _is_empty  # (check_flow judges a recorded exc_info with the same test)


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
        self.iterating = False  # the server is iterating the returned body
        self.reraised: BaseException | None = None  # start_response re-raised this
        self.declared_len: int | None = None  # len() of a body that has __len__
        self.yielded = 0  # the chunks the iteration produced

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
        self._trapped()
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
            if _is_empty(exc_info):  # sys.exc_info() outside an except block
                self.problem("exc-info-outside-handler")
                if self.status is not None and self.headers_sent:
                    self.problem("start-response-twice", status=shown(status))
            elif not _is_exc_info(exc_info):
                self.problem("exc-info-form", value=shown(exc_info))
            elif self.headers_sent:  # too late to change anything: re-raise
                try:
                    self.reraised = exc_info[1]
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
        if self.iterating:
            self.problem("write-in-iterable")
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
            self._trapped()
            found = body_problem(result)
            if found is not None:
                key, details = found
                self.problem(key, **details)
                return
            self.declared_len = _length(result)
            self.iterating = True
            for chunk in result:
                if self.stopped():
                    break
                self.yielded += 1
                self.chunk(chunk)
            else:
                if self.declared_len is not None and self.declared_len != self.yielded:
                    self.problem("len-inaccurate", declared=self.declared_len, got=self.yielded)
            self.iterating = False
            self.finish()
        finally:
            self.iterating = False
            self.close(result)

    def _trapped(self) -> None:
        """The app goes on after start_response re-raised its exception: it trapped it."""
        if self.reraised is not None:
            exc, self.reraised = self.reraised, None
            self.problem("exc-info-trapped", exc=f"{type(exc).__name__}: {exc}")

    def stopped(self) -> bool:
        """Checked before each chunk: True to stop iterating the body."""
        return False

    def finish(self) -> None:
        """The body is exhausted: send the head if no byte has yet, then end the body."""
        self._trapped()
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


def _length(result: Any) -> int | None:
    """len() of a body whose own class defines it (not a list or tuple), else None."""
    if isinstance(result, (list, tuple)) or not hasattr(type(result), "__len__"):
        return None
    try:
        return len(result)
    except Exception:  # a __len__ that fails is not one the server could rely on
        return None


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""
