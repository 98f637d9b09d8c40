"""Call an ASGI app directly: no socket, no thread, no server.

Theory of operation: ``call_asgi`` builds an ``http`` scope, gives the app a ``receive`` that
delivers the body in one ``http.request`` message (then waits, and reports
``http.disconnect`` once the response is complete), and a ``send`` that
collects ``http.response.start`` and ``http.response.body`` messages in
order. Under a running event loop (a notebook cell) it returns an awaitable:
``resp = await gl.call_asgi(app)``. With no loop running (a plain script) it
runs the app to completion itself and returns the response. Both paths run
on the calling thread, so they also work where threads are not allowed
(JupyterLite).

The learner's own exception propagates unchanged (its traceback points at
their line). Breaches of the protocol raise :class:`ProtocolError` with a
sentence saying what to change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any

from gateway_lab.errors import ProtocolError
from gateway_lab.interface.appkind import ensure_asgi_app
from gateway_lab.interface.environ import HeadersLike, make_http_scope
from gateway_lab.interface.response import Response
from gateway_lab.types import Message

__all__ = ["PendingCall", "ProtocolError", "acall_asgi", "call_asgi"]

PEP3333_START = "https://peps.python.org/pep-3333/#the-start-response-callable"
ASGI_HTTP = "https://asgi.readthedocs.io/en/latest/specs/www.html#http"


async def acall_asgi(
    app: Any,
    method: str = "GET",
    path: str = "/",
    headers: HeadersLike = None,
    body: bytes = b"",
    *,
    timeout: float = 5.0,
) -> Response:
    """Call an ASGI app in-process on the running loop (``await`` it)."""
    ensure_asgi_app(app, "call_asgi")
    scope = make_http_scope(method, path, headers)
    done = asyncio.Event()
    delivered = False
    status: int | None = None
    response_headers: list[tuple[str, str]] = []
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if not isinstance(message, dict) or "type" not in message:
            raise ProtocolError(
                f"send() takes a dict with a 'type' key, not {message!r:.60}. See {ASGI_HTTP}"
            )
        kind = message["type"]
        if done.is_set():
            raise ProtocolError(
                f"The app sent {kind!r} after the response was complete (the last "
                f"body message had more_body=False). See {ASGI_HTTP}"
            )
        if kind == "http.response.start":
            if status is not None:
                raise ProtocolError("The app sent 'http.response.start' twice.")
            status = int(message["status"])
            for name, value in message.get("headers", []):
                if not isinstance(name, bytes) or not isinstance(value, bytes):
                    raise ProtocolError(
                        f"ASGI header names and values are bytes, but the app sent "
                        f"({name!r}, {value!r}). Write them as b'...'. See {ASGI_HTTP}"
                    )
                response_headers.append((name.decode("latin-1"), value.decode("latin-1")))
        elif kind == "http.response.body":
            if status is None:
                raise ProtocolError(
                    "The app sent 'http.response.body' before 'http.response.start'. "
                    "Send the start message (status and headers) first. "
                    f"See {ASGI_HTTP}"
                )
            data = message.get("body", b"")
            if not isinstance(data, bytes):
                raise ProtocolError(
                    f"'body' must be bytes, but the app sent a {type(data).__name__}"
                    f" ({data!r:.40}). Use b'...' or .encode(). See {ASGI_HTTP}"
                )
            chunks.append(data)
            if not message.get("more_body", False):
                done.set()
        else:
            raise ProtocolError(
                f"An http scope cannot send {kind!r}; it sends 'http.response.start' "
                f"then 'http.response.body'. See {ASGI_HTTP}"
            )

    try:
        await asyncio.wait_for(app(scope, receive, send), timeout)
    except asyncio.TimeoutError:
        raise ProtocolError(
            f"The app did not finish within {timeout} s. Is it awaiting receive() "
            "again after the body arrived, or sleeping? (A plain call ends when the "
            "app returns.)"
        ) from None
    if status is None:
        raise ProtocolError(
            "The app returned without sending 'http.response.start', so there is "
            f"no response. Await send({{'type': 'http.response.start', ...}}). See {ASGI_HTTP}"
        )
    if not done.is_set():
        raise ProtocolError(
            "The app returned before the response was complete: its last "
            "'http.response.body' had more_body=True (or it sent none). "
            f"End with more_body=False. See {ASGI_HTTP}"
        )
    return Response(status, response_headers, b"".join(chunks))


class PendingCall:
    """An ASGI call waiting to be awaited (returned inside a running loop)."""

    def __init__(self, make: Any, description: str) -> None:
        self._make = make
        self._description = description

    def __await__(self) -> Generator[Any, None, Response]:
        return self._make().__await__()

    def __repr__(self) -> str:
        return (
            f"<not run yet: {self._description}. In a notebook, write "
            f"`await gl.call_asgi(...)` to run it and get the response.>"
        )


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def call_asgi(
    app: Any,
    method: str = "GET",
    path: str = "/",
    headers: HeadersLike = None,
    body: bytes = b"",
    *,
    timeout: float = 5.0,
) -> Any:
    """Call an ASGI app in-process.

    In a notebook (an event loop is running): ``resp = await gl.call_asgi(app)``.
    In a plain script: ``resp = gl.call_asgi(app)`` runs it and returns the
    :class:`Response`.
    """
    ensure_asgi_app(app, "call_asgi")

    def make() -> Any:
        return acall_asgi(app, method, path, headers, body, timeout=timeout)

    if _loop_running():
        return PendingCall(make, f"{method} {path} on {getattr(app, '__name__', app)!r}")
    return asyncio.run(make())
