"""Type aliases for the two Python gateway interfaces, and the ASGI messages as TypedDicts.

Theory of operation: nothing runs here. These names let every module say in
its signatures which side of which interface it is on:

- a WSGI application takes ``(environ, start_response)`` and returns an
  iterable of bytes (PEP 3333): :data:`WSGIApp`;
- an ASGI application is a coroutine function taking ``(scope, receive,
  send)`` (the ASGI spec, version 3): :data:`ASGIApp`.

Two levels of precision, on purpose. :data:`Scope` and :data:`Message` are
``MutableMapping[str, Any]``, the types Starlette uses, because the package
must carry whatever an app actually sends (the checker exists to see wrong
messages) and must accept any framework's app. The TypedDicts below say what
a *correct* message holds, key by key, as the spec lists them; their unions
(:data:`ReceiveMessage`, :data:`SendMessage`, :data:`ASGIMessage`,
:data:`ASGIScope`) narrow on ``"type"``, so code that reads messages can be
checked field by field. Keys the spec marks optional are optional here too
(the ``total=False`` half of each class).

>>> start: HTTPResponseStartEvent = {"type": "http.response.start", "status": 200}
>>> sorted(HTTPResponseStartEvent.__required_keys__)
['status', 'type']
>>> sorted(HTTPResponseStartEvent.__optional_keys__)
['headers', 'trailers']
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from types import TracebackType
from typing import Any, Literal, TypedDict

__all__ = [
    "ASGIApp",
    "ASGIHeaders",
    "ASGIMessage",
    "ASGIScope",
    "ASGIVersions",
    "AnyApp",
    "Environ",
    "ExcInfo",
    "HTTPDisconnectEvent",
    "HTTPRequestEvent",
    "HTTPResponseBodyEvent",
    "HTTPResponseStartEvent",
    "HTTPScope",
    "LifespanScope",
    "LifespanShutdownCompleteEvent",
    "LifespanShutdownEvent",
    "LifespanShutdownFailedEvent",
    "LifespanStartupCompleteEvent",
    "LifespanStartupEvent",
    "LifespanStartupFailedEvent",
    "Message",
    "Receive",
    "ReceiveMessage",
    "Scope",
    "Send",
    "SendMessage",
    "StartResponse",
    "WSGIApp",
    "WSGIHeaders",
    "WebSocketAcceptEvent",
    "WebSocketCloseEvent",
    "WebSocketConnectEvent",
    "WebSocketDisconnectEvent",
    "WebSocketReceiveEvent",
    "WebSocketScope",
    "WebSocketSendEvent",
    "Write",
]

# -- WSGI (PEP 3333) ------------------------------------------------------------

Environ = dict[str, Any]
WSGIHeaders = list[tuple[str, str]]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | None
Write = Callable[[bytes], Any]
StartResponse = Callable[..., Write]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

# -- ASGI, as loose as the wire ------------------------------------------------

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

AnyApp = WSGIApp | ASGIApp

ASGIHeaders = Iterable[tuple[bytes, bytes]]

# -- ASGI scopes (main.html#connection-scope, www.html, lifespan.html) ------------


class ASGIVersions(TypedDict):
    """``scope["asgi"]``: the ASGI version and the version of this protocol's spec."""

    version: str
    spec_version: str


class _LifespanScopeRequired(TypedDict):
    type: Literal["lifespan"]
    asgi: ASGIVersions


class LifespanScope(_LifespanScopeRequired, total=False):
    """The scope of the one lifespan call a server makes at startup."""

    state: dict[str, Any]


class _HTTPScopeRequired(TypedDict):
    type: Literal["http"]
    asgi: ASGIVersions
    http_version: str
    method: str
    scheme: str
    path: str
    query_string: bytes
    headers: ASGIHeaders


class HTTPScope(_HTTPScopeRequired, total=False):
    """The scope of one HTTP request (www.html#http-connection-scope)."""

    raw_path: bytes | None
    root_path: str
    client: tuple[str, int] | None
    server: tuple[str, int | None] | None
    state: dict[str, Any]
    extensions: dict[str, dict[object, object]] | None


class _WebSocketScopeRequired(TypedDict):
    type: Literal["websocket"]
    asgi: ASGIVersions
    path: str
    query_string: bytes
    headers: ASGIHeaders


class WebSocketScope(_WebSocketScopeRequired, total=False):
    """The scope of one WebSocket connection (www.html#websocket-connection-scope)."""

    http_version: str
    scheme: str
    raw_path: bytes | None
    root_path: str
    client: tuple[str, int] | None
    server: tuple[str, int | None] | None
    subprotocols: Iterable[str]
    state: dict[str, Any]
    extensions: dict[str, dict[object, object]] | None


ASGIScope = HTTPScope | WebSocketScope | LifespanScope

# -- HTTP messages (www.html#http) ----------------------------------------------


class _HTTPRequestRequired(TypedDict):
    type: Literal["http.request"]


class HTTPRequestEvent(_HTTPRequestRequired, total=False):
    """receive(): a piece of the request body; ``more_body`` False on the last."""

    body: bytes
    more_body: bool


class HTTPDisconnectEvent(TypedDict):
    """receive(): the client is gone, or the response is complete."""

    type: Literal["http.disconnect"]


class _HTTPResponseStartRequired(TypedDict):
    type: Literal["http.response.start"]
    status: int


class HTTPResponseStartEvent(_HTTPResponseStartRequired, total=False):
    """send(): the status and headers, before any body."""

    headers: ASGIHeaders
    trailers: bool


class _HTTPResponseBodyRequired(TypedDict):
    type: Literal["http.response.body"]


class HTTPResponseBodyEvent(_HTTPResponseBodyRequired, total=False):
    """send(): a piece of the response body; ``more_body`` False (the default) ends it."""

    body: bytes
    more_body: bool


# -- WebSocket messages (www.html#websocket) --------------------------------------


class WebSocketConnectEvent(TypedDict):
    """receive(): a client asks to open the WebSocket; answer accept or close."""

    type: Literal["websocket.connect"]


class _WebSocketAcceptRequired(TypedDict):
    type: Literal["websocket.accept"]


class WebSocketAcceptEvent(_WebSocketAcceptRequired, total=False):
    """send(): open the WebSocket (the server answers 101 Switching Protocols)."""

    subprotocol: str | None
    headers: ASGIHeaders


class _WebSocketReceiveRequired(TypedDict):
    type: Literal["websocket.receive"]


class WebSocketReceiveEvent(_WebSocketReceiveRequired, total=False):
    """receive(): one message from the client, in ``bytes`` or in ``text``."""

    bytes: bytes | None
    text: str | None


class _WebSocketSendRequired(TypedDict):
    type: Literal["websocket.send"]


class WebSocketSendEvent(_WebSocketSendRequired, total=False):
    """send(): one message to the client, in ``bytes`` or in ``text`` (exactly one)."""

    bytes: bytes | None
    text: str | None


class _WebSocketDisconnectRequired(TypedDict):
    type: Literal["websocket.disconnect"]


class WebSocketDisconnectEvent(_WebSocketDisconnectRequired, total=False):
    """receive(): the WebSocket closed, with the close ``code`` (1005 if none was sent)."""

    code: int
    reason: str | None


class _WebSocketCloseRequired(TypedDict):
    type: Literal["websocket.close"]


class WebSocketCloseEvent(_WebSocketCloseRequired, total=False):
    """send(): close the WebSocket (before accept: refuse it, servers answer 403)."""

    code: int
    reason: str | None


# -- Lifespan messages (lifespan.html) ------------------------------------------------


class LifespanStartupEvent(TypedDict):
    """receive(): the server is starting; set up, then send startup.complete."""

    type: Literal["lifespan.startup"]


class LifespanShutdownEvent(TypedDict):
    """receive(): the server is stopping; clean up, then send shutdown.complete."""

    type: Literal["lifespan.shutdown"]


class LifespanStartupCompleteEvent(TypedDict):
    """send(): startup went well; the server may serve."""

    type: Literal["lifespan.startup.complete"]


class _LifespanStartupFailedRequired(TypedDict):
    type: Literal["lifespan.startup.failed"]


class LifespanStartupFailedEvent(_LifespanStartupFailedRequired, total=False):
    """send(): startup failed; ``message`` says why, and the server exits."""

    message: str


class LifespanShutdownCompleteEvent(TypedDict):
    """send(): cleanup is done."""

    type: Literal["lifespan.shutdown.complete"]


class _LifespanShutdownFailedRequired(TypedDict):
    type: Literal["lifespan.shutdown.failed"]


class LifespanShutdownFailedEvent(_LifespanShutdownFailedRequired, total=False):
    """send(): cleanup failed; ``message`` says why."""

    message: str


# -- The unions: narrow them on message["type"] -----------------------------------------

ReceiveMessage = (
    HTTPRequestEvent
    | HTTPDisconnectEvent
    | WebSocketConnectEvent
    | WebSocketReceiveEvent
    | WebSocketDisconnectEvent
    | LifespanStartupEvent
    | LifespanShutdownEvent
)
SendMessage = (
    HTTPResponseStartEvent
    | HTTPResponseBodyEvent
    | WebSocketAcceptEvent
    | WebSocketSendEvent
    | WebSocketCloseEvent
    | LifespanStartupCompleteEvent
    | LifespanStartupFailedEvent
    | LifespanShutdownCompleteEvent
    | LifespanShutdownFailedEvent
)
ASGIMessage = ReceiveMessage | SendMessage
