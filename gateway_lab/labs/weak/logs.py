"""Log injection: a percent-decoded path written into an access log as it is.

Theory of operation: ``PATH_INFO`` is percent-decoded, so ``%0a`` in a URL
is a real newline by the time a logger sees it. :func:`log_line_naive`
writes the path verbatim, and the rest of the path reads as a second,
forged log line; :func:`log_line_safe` escapes every control character, so
one request is always one line. :class:`NaiveAccessLog` and
:class:`SafeAccessLog` are the same WSGI middleware around either one.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from gateway_lab.types import Environ, ExcInfo, StartResponse, Write, WSGIApp, WSGIHeaders

__all__ = ["NaiveAccessLog", "SafeAccessLog", "log_line_naive", "log_line_safe"]


def log_line_naive(environ: Environ, status: str) -> str:
    """UNSAFE ON PURPOSE: the decoded path goes into the log line as it is.

    ``PATH_INFO`` is percent-decoded, so ``%0a`` in the URL becomes a real
    newline, and the rest of the path reads as a second, forged log line.
    Fix: :func:`log_line_safe`, which escapes every control character.
    """
    method = environ.get("REQUEST_METHOD", "")
    return f"{environ.get('REMOTE_ADDR', '-')} {method} {environ.get('PATH_INFO', '')} {status[:3]}"


def _escaped(text: str) -> str:
    """Control characters (and backslashes) as escapes: one request, one line, always."""
    return "".join(
        c if c.isprintable() and c != "\\" else c.encode("unicode_escape").decode("ascii")
        for c in text
    )


def log_line_safe(environ: Environ, status: str) -> str:
    """The fix: the same line, with the path's control characters escaped (``\\n``).

    >>> forged = {"REQUEST_METHOD": "GET", "PATH_INFO": "/x\\n10.0.0.9 GET /admin"}
    >>> print(log_line_naive(forged, "404 Not Found"))
    - GET /x
    10.0.0.9 GET /admin 404
    >>> print(log_line_safe(forged, "404 Not Found"))
    - GET /x\\n10.0.0.9 GET /admin 404
    """
    method = _escaped(environ.get("REQUEST_METHOD", ""))
    path = _escaped(environ.get("PATH_INFO", ""))
    return f"{environ.get('REMOTE_ADDR', '-')} {method} {path} {status[:3]}"


class NaiveAccessLog:
    """UNSAFE ON PURPOSE: WSGI middleware that logs with :func:`log_line_naive`.

    ``log`` is a text stream (a file, ``sys.stderr``, an ``io.StringIO``).
    Fix: :class:`SafeAccessLog`.
    """

    line = staticmethod(log_line_naive)

    def __init__(self, app: WSGIApp, log: io.TextIOBase) -> None:
        self.app = app
        self.log = log

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        def logging_start_response(
            status: str, headers: WSGIHeaders, exc_info: ExcInfo = None
        ) -> Write:
            self.log.write(self.line(environ, status) + "\n")
            return start_response(status, headers, exc_info)

        return self.app(environ, logging_start_response)


class SafeAccessLog(NaiveAccessLog):
    """The fix: the same middleware, logging with :func:`log_line_safe`."""

    line = staticmethod(log_line_safe)
