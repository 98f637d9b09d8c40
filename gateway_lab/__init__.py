"""gateway_lab: serve, call, trace and check WSGI, ASGI and CGI apps from a notebook.

Theory of operation: this file is only the package's public face. Every name
is imported from its own module the first time it is used (PEP 562 module
``__getattr__``), so ``import gateway_lab`` stays fast even though serving
pulls in werkzeug, uvicorn and friends.

>>> import gateway_lab as gl
>>> def app(environ, start_response):
...     start_response("200 OK", [("Content-Type", "text/plain")])
...     return [b"Hello"]
>>> gl.call_wsgi(app).text
'Hello'
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    # serving in the kernel
    "serve_wsgi": "serving.registry",
    "serve_asgi": "serving.registry",
    "serve_cgi": "serving.registry",
    "servers": "serving.registry",
    "stop_all": "serving.registry",
    "Server": "serving.registry",
    # calls with no socket
    "call_wsgi": "protocol.calls",
    "call_asgi": "protocol.calls",
    "acall_asgi": "protocol.calls",
    "ProtocolError": "protocol.calls",
    "Response": "interface.response",
    # the request, in three dialects
    "make_environ": "interface.environ",
    "make_http_scope": "interface.environ",
    "cgi_variables": "interface.environ",
    # CGI
    "run_cgi": "cgi",
    "CGIResult": "cgi",
    "CGIApp": "cgi",
    # recording and drawing exchanges
    "record_wsgi": "events.record",
    "record_asgi": "events.record",
    "Flow": "events.flow",
    "Event": "events.flow",
    "show_environ": "views",
    "show_flow": "views",
    "diff_environ": "views",
    "path_story": "views",
    "request_lab": "views",
    "environ_html": "views",
    "flow_html": "views",
    # checking apps and exercises
    "check_wsgi": "check",
    "check_asgi": "check",
    "Report": "check",
    "Finding": "check",
    "Probe": "check",
    "Exercise": "exercises",
    "Case": "exercises",
    "exercise": "exercises",
    # a WebSocket client for cells
    "ws_connect": "serving.wsclient",
    "WebSocketClosed": "serving.wsclient",
    "WebSocketRefused": "serving.wsclient",
    # measuring load
    "drive_load": "labs.load",
    "LoadRun": "labs.load",
    # errors
    "GatewayLabError": "errors",
    "PortInUseError": "errors",
    "NotAnAppError": "errors",
    "WrongInterfaceError": "errors",
    "UnknownEngineError": "errors",
    "ServerStartError": "errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gateway_lab' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
