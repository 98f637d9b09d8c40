"""Call a WSGI app directly: no socket, no thread, no server.

Theory of operation: a gateway interface is just a calling convention, so the
quickest way to see it is to play the server's part in a few lines.

``call_wsgi`` builds an environ (``environ.make_environ``), passes a
``start_response`` that remembers the status and headers and returns a
``write`` callable, iterates the body, and always calls ``close()``, as PEP
3333 requires of a server. ``exc_info`` is honoured: a second
``start_response`` replaces the first unless body bytes were already
produced, in which case the original exception is re-raised.

The learner's own exception propagates unchanged (its traceback points at
their line). Breaches of the protocol raise :class:`ProtocolError` with a
sentence saying what to change.
"""

from __future__ import annotations

from typing import Any

from gateway_lab.errors import ProtocolError, WSGIBodyTypeError
from gateway_lab.interface.appkind import ensure_wsgi_app
from gateway_lab.interface.environ import HeadersLike, make_environ
from gateway_lab.interface.response import Response
from gateway_lab.protocol.bodies import body_type_problem, chunk_type_problem

__all__ = ["ProtocolError", "call_wsgi"]

PEP3333_START = "https://peps.python.org/pep-3333/#the-start-response-callable"
ASGI_HTTP = "https://asgi.readthedocs.io/en/latest/specs/www.html#http"


def _parse_status(status: Any) -> tuple[int, str]:
    if not isinstance(status, str):
        raise ProtocolError(
            f"start_response got status {status!r}; it must be a str such as "
            f"'200 OK' (a number, a space, a reason). See {PEP3333_START}"
        )
    code, _, reason = status.partition(" ")
    if not (len(code) == 3 and code.isdigit()):
        raise ProtocolError(
            f"start_response got status {status!r}; it must start with a "
            f"three-digit code and a space, such as '200 OK'. See {PEP3333_START}"
        )
    return int(code), reason


def call_wsgi(
    app: Any,
    method: str = "GET",
    path: str = "/",
    headers: HeadersLike = None,
    body: bytes = b"",
    **environ_overrides: Any,
) -> Response:
    """Call a WSGI app in-process and return its :class:`Response`.

    >>> def app(environ, start_response):
    ...     start_response("200 OK", [("Content-Type", "text/plain")])
    ...     return [b"Hello from ", environ["PATH_INFO"].encode()]
    >>> call_wsgi(app, path="/there").text
    'Hello from /there'
    """
    ensure_wsgi_app(app, "call_wsgi")
    environ = make_environ(method, path, headers, body)
    environ.update(environ_overrides)
    state: dict[str, Any] = {"status": None, "headers": None, "produced": False}
    chunks: list[bytes] = []

    def write(data: bytes) -> None:
        problem = chunk_type_problem(data)
        if problem:
            raise WSGIBodyTypeError(problem.replace("the body contained", "write() got"))
        if data:
            if state["status"] is None:
                raise ProtocolError("write() was called before start_response().")
            state["produced"] = True
            chunks.append(data)

    def start_response(status: str, response_headers: Any, exc_info: Any = None) -> Any:
        if exc_info is not None:
            try:
                if state["produced"]:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif state["status"] is not None:
            raise ProtocolError(
                "start_response() was called a second time without exc_info. Call "
                "it once per request; only an error handler may call it again, "
                f"passing sys.exc_info(). See {PEP3333_START}"
            )
        if not isinstance(response_headers, list):
            raise ProtocolError(
                f"start_response's headers must be a list of (name, value) tuples, "
                f"not a {type(response_headers).__name__}. See {PEP3333_START}"
            )
        state["status"] = _parse_status(status)
        state["headers"] = [(str(k), str(v)) for k, v in response_headers]
        return write

    result = app(environ, start_response)
    problem = body_type_problem(result)
    if problem:
        raise WSGIBodyTypeError(problem)
    try:
        for chunk in result:
            problem = chunk_type_problem(chunk)
            if problem:
                raise WSGIBodyTypeError(problem)
            if chunk and state["status"] is None:
                raise ProtocolError(
                    "The app produced body bytes before calling start_response(). "
                    "Call start_response(status, headers) first (a generator can "
                    f"call it just before its first yield). See {PEP3333_START}"
                )
            write(chunk)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    if state["status"] is None:
        raise ProtocolError(
            "The app returned without calling start_response(status, headers), so "
            "there is no status line to send. Call start_response before (or while) "
            f"producing the body. See {PEP3333_START}"
        )
    code, reason = state["status"]
    return Response(code, state["headers"], b"".join(chunks), reason)
