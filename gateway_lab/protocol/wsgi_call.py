"""Call a WSGI app directly: no socket, no thread, no server.

Theory of operation: a gateway interface is just a calling convention, so the
quickest way to see it is to play the server's part with no network at all.
``call_wsgi`` builds an environ (``environ.make_environ``) and runs the app
through the package's one WSGI server side,
:class:`~gateway_lab.protocol.wsgi.WSGIExchange`, whose hooks here collect
the head and the body into a :class:`~gateway_lab.interface.response.Response`.
So ``start_response``, ``write``, ``exc_info``, the moment the head "goes out"
and ``close()`` behave exactly as under the mini server.

The learner's own exception propagates unchanged (its traceback points at
their line). Breaches of the protocol raise :class:`ProtocolError` (or
``WSGIBodyTypeError``) with the same sentence every server side uses.

The call is bounded, because a kernel has no memory to spare: an app that
takes longer than ``timeout`` seconds, or produces more than ``max_body``
bytes, gets :class:`~gateway_lab.errors.CallLimitExceeded`, which says which
bound was hit, how much had arrived, and which argument raises it.
"""

from __future__ import annotations

import time
from typing import Any

from gateway_lab.errors import CallLimitExceeded, ProtocolError
from gateway_lab.interface.appkind import ensure_wsgi_app
from gateway_lab.interface.environ import HeadersLike, make_environ
from gateway_lab.interface.response import Response
from gateway_lab.protocol.wsgi import WSGIExchange
from gateway_lab.types import WSGIApp

__all__ = ["DEFAULT_MAX_BODY", "DEFAULT_TIMEOUT", "ProtocolError", "call_wsgi"]

DEFAULT_TIMEOUT = 5.0  # seconds
DEFAULT_MAX_BODY = 8 * 1024 * 1024  # bytes: far more than any lesson's response


class _Collect(WSGIExchange):
    """The exchange with no wire: the body collects in memory, within two bounds."""

    def __init__(self, timeout: float, max_body: int) -> None:
        super().__init__()
        self.timeout = timeout
        self.max_body = max_body
        self.started = time.monotonic()
        self.chunks: list[bytes] = []
        self.size = 0

    def send_body(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_body:
            raise CallLimitExceeded(
                f"call_wsgi stopped the app: its body grew past max_body={self.max_body} "
                f"bytes ({self.size} bytes had arrived). Does it yield forever? If the big "
                f"body is intended, raise the cap: call_wsgi(app, max_body={2 * self.max_body}).",
                "max_body",
                self.max_body,
                self.size,
            )
        self.chunks.append(data)
        self.check_time()

    def chunk(self, chunk: Any) -> None:
        super().chunk(chunk)
        self.check_time()

    def check_time(self) -> None:
        taken = time.monotonic() - self.started
        if taken > self.timeout:
            raise CallLimitExceeded(
                f"call_wsgi stopped the app: it did not finish within timeout={self.timeout:g} "
                f"s ({taken:.1f} s had passed and {self.size} body bytes had arrived). Does "
                f"it loop forever, or wait for something that never comes? If it is just "
                f"slow, give it longer: call_wsgi(app, timeout={max(2 * self.timeout, 1):g}).",
                "timeout",
                self.timeout,
                taken,
            )


def call_wsgi(
    app: WSGIApp,
    method: str = "GET",
    path: str = "/",
    headers: HeadersLike = None,
    body: bytes = b"",
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_body: int = DEFAULT_MAX_BODY,
    **environ_overrides: Any,
) -> Response:
    """Call a WSGI app in-process and return its :class:`Response`.

    ``timeout`` (seconds) and ``max_body`` (bytes) bound the call. Both are
    checked each time the app hands over a piece of its body (a chunk of its
    iterable, or a ``write()``), and when it returns. What no in-process
    call can do is interrupt Python code in the middle: an app that loops
    forever *before* it returns or yields its next chunk (``while True:
    pass``, ``time.sleep(60)``) keeps the cell busy until you interrupt the
    kernel (the stop button).

    >>> def app(environ, start_response):
    ...     start_response("200 OK", [("Content-Type", "text/plain")])
    ...     return [b"Hello from ", environ["PATH_INFO"].encode()]
    >>> call_wsgi(app, path="/there").text
    'Hello from /there'
    """
    ensure_wsgi_app(app, "call_wsgi")
    environ = make_environ(method, path, headers, body)
    environ.update(environ_overrides)
    exchange = _Collect(timeout, max_body)
    exchange.respond(app, environ)
    exchange.check_time()
    if exchange.code is None:  # pragma: no cover - start_response's checks prevent it
        raise ProtocolError(f"the status {exchange.status!r} could not be read")
    own_reason = exchange.status[4:] if isinstance(exchange.status, str) else None
    return Response(exchange.code, exchange.headers, b"".join(exchange.chunks), own_reason)
