"""Type aliases for the two Python gateway interfaces.

Theory of operation: nothing runs here. These names exist so that every
module can say in its signatures which side of which interface it is on:
a WSGI application takes ``(environ, start_response)`` and returns an
iterable of bytes (PEP 3333); an ASGI application is a coroutine function
taking ``(scope, receive, send)`` whose messages are plain dicts (the ASGI
spec, version 3).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from types import TracebackType
from typing import Any

__all__ = [
    "ASGIApp",
    "Environ",
    "ExcInfo",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "StartResponse",
    "WSGIApp",
    "WSGIHeaders",
]

Environ = dict[str, Any]
WSGIHeaders = list[tuple[str, str]]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | None
Write = Callable[[bytes], Any]
StartResponse = Callable[..., Write]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

AnyApp = WSGIApp | ASGIApp
