"""ASGI extensions: which message needs which offer in ``scope["extensions"]``.

Theory of operation: the extensions document says of each extension, "ASGI
servers that implement this extension will provide <its key> in the
extensions part of the scope". :data:`EXTENSIONS` maps each extension's
message type to the key a scope must offer, and to the :class:`Violation`
sending it without that offer is, worded by the extension's name.
:func:`unoffered` looks one up. The WebSocket denial response also has its
place in the WebSocket table of :mod:`.asgi` (where it may come); the HTTP
extensions do not: where a server offers one, the order after its message is
the server's business.

>>> unoffered("http.response.trailers", {}).rule
'asgi.extension-not-offered'
>>> unoffered("http.response.trailers", {"http.response.trailers": {}}) is None
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway_lab import specs
from gateway_lab.protocol.asgi import DENY_BODY, DENY_START, MORE_BODY, Violation

__all__ = ["EXTENSIONS", "HTTP_EXTENSIONS", "VIOLATIONS", "unoffered"]

_NOT_OFFERED = Violation(
    "asgi.extension-not-offered",
    "The app sent {value}, a message of the WebSocket denial response extension, but "
    "this server does not offer it (scope['extensions'] has no 'websocket.http.response').",
    "Look in scope.get('extensions', {}) before using an extension, or refuse with "
    "{'type': 'websocket.close'} (the client gets 403).",
    specs.ASGI_WEBSOCKET_DENIAL,
)
# The extensions document, for each: "ASGI servers that implement this extension will
# provide <its message type> in the extensions part of the scope". A message type -> the
# extension's name, and its section in that document.
HTTP_EXTENSIONS: dict[str, tuple[str, str]] = {
    "http.response.trailers": ("HTTP Trailers", specs.ASGI_HTTP_TRAILERS),
    "http.response.push": ("HTTP/2 Server Push", specs.ASGI_HTTP_PUSH),
    "http.response.zerocopysend": ("Zero Copy Send", specs.ASGI_ZERO_COPY_SEND),
    "http.response.pathsend": ("Path Send", specs.ASGI_PATH_SEND),
    "http.response.early_hint": ("Early Hints", specs.ASGI_EARLY_HINTS),
    "http.response.debug": ("Debug", specs.ASGI_DEBUG),
}
_HTTP_NOT_OFFERED = {
    kind: Violation(
        "asgi.extension-not-offered",
        f"The app sent {{value}}, a message of the {name} extension, but this server does not "
        f"offer it (scope['extensions'] has no '{kind}'), and a server raises from send on "
        "a message it does not know.",
        f"Send it only when '{kind}' in scope.get('extensions', {{}}); otherwise answer "
        "with 'http.response.start' and 'http.response.body' alone.",
        spec,
    )
    for kind, (name, spec) in HTTP_EXTENSIONS.items()
}
# A message type -> the extension key a scope must offer for it, and the violation if not.
EXTENSIONS: dict[str, tuple[str, Violation]] = {
    DENY_START: ("websocket.http.response", _NOT_OFFERED),
    DENY_BODY: ("websocket.http.response", _NOT_OFFERED),
    **{kind: (kind, broken) for kind, broken in _HTTP_NOT_OFFERED.items()},
}
VIOLATIONS: tuple[Violation, ...] = (_NOT_OFFERED, *_HTTP_NOT_OFFERED.values())


def unoffered(message_type: str, extensions: Mapping[str, Any] | None) -> Violation | None:
    """The violation for an extension message the scope's ``extensions`` does not offer."""
    needed = EXTENSIONS.get(message_type.removesuffix(MORE_BODY))
    if needed is None or needed[0] in (extensions or {}):
        return None
    return needed[1]
