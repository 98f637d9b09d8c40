"""gateway_lab: serve, call, trace and check WSGI, ASGI and CGI apps from a notebook.

Theory of operation: this file is only the package's public face. Every name
is imported from its own module the first time it is used (PEP 562 module
``__getattr__``), so ``import gateway_lab`` stays fast even though serving
pulls in werkzeug, uvicorn and friends. Type checkers and editors see each
name with its real type through the ``TYPE_CHECKING`` block, which never
runs (not even ``typing`` is imported on the way in).

>>> import gateway_lab as gl
>>> def app(environ, start_response):
...     start_response("200 OK", [("Content-Type", "text/plain")])
...     return [b"Hello"]
>>> gl.call_wsgi(app).text
'Hello'
"""

from __future__ import annotations

import importlib

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
    "check_flow": "check.flow",
    "Report": "check",
    "Finding": "check",
    "Probe": "check",
    "Exercise": "exercises",
    "Case": "exercises",
    "exercise": "course",
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
    "CallLimitExceeded": "errors",
}

# For type checkers only: the real names and types behind the lazy exports above
# (a test keeps this block and _EXPORTS in step). Nothing here runs: importing
# gateway_lab stays as light as a module of constants.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gateway_lab.cgi import CGIApp as CGIApp
    from gateway_lab.cgi import CGIResult as CGIResult
    from gateway_lab.cgi import run_cgi as run_cgi
    from gateway_lab.check import Finding as Finding
    from gateway_lab.check import Probe as Probe
    from gateway_lab.check import Report as Report
    from gateway_lab.check import check_asgi as check_asgi
    from gateway_lab.check import check_wsgi as check_wsgi
    from gateway_lab.check.flow import check_flow as check_flow
    from gateway_lab.course import exercise as exercise
    from gateway_lab.errors import CallLimitExceeded as CallLimitExceeded
    from gateway_lab.errors import GatewayLabError as GatewayLabError
    from gateway_lab.errors import NotAnAppError as NotAnAppError
    from gateway_lab.errors import PortInUseError as PortInUseError
    from gateway_lab.errors import ServerStartError as ServerStartError
    from gateway_lab.errors import UnknownEngineError as UnknownEngineError
    from gateway_lab.errors import WrongInterfaceError as WrongInterfaceError
    from gateway_lab.events.flow import Event as Event
    from gateway_lab.events.flow import Flow as Flow
    from gateway_lab.events.record import record_asgi as record_asgi
    from gateway_lab.events.record import record_wsgi as record_wsgi
    from gateway_lab.exercises import Case as Case
    from gateway_lab.exercises import Exercise as Exercise
    from gateway_lab.interface.environ import cgi_variables as cgi_variables
    from gateway_lab.interface.environ import make_environ as make_environ
    from gateway_lab.interface.environ import make_http_scope as make_http_scope
    from gateway_lab.interface.response import Response as Response
    from gateway_lab.labs.load import LoadRun as LoadRun
    from gateway_lab.labs.load import drive_load as drive_load
    from gateway_lab.protocol.calls import ProtocolError as ProtocolError
    from gateway_lab.protocol.calls import acall_asgi as acall_asgi
    from gateway_lab.protocol.calls import call_asgi as call_asgi
    from gateway_lab.protocol.calls import call_wsgi as call_wsgi
    from gateway_lab.serving.registry import Server as Server
    from gateway_lab.serving.registry import serve_asgi as serve_asgi
    from gateway_lab.serving.registry import serve_cgi as serve_cgi
    from gateway_lab.serving.registry import serve_wsgi as serve_wsgi
    from gateway_lab.serving.registry import servers as servers
    from gateway_lab.serving.registry import stop_all as stop_all
    from gateway_lab.serving.wsclient import WebSocketClosed as WebSocketClosed
    from gateway_lab.serving.wsclient import WebSocketRefused as WebSocketRefused
    from gateway_lab.serving.wsclient import ws_connect as ws_connect
    from gateway_lab.views import diff_environ as diff_environ
    from gateway_lab.views import environ_html as environ_html
    from gateway_lab.views import flow_html as flow_html
    from gateway_lab.views import path_story as path_story
    from gateway_lab.views import request_lab as request_lab
    from gateway_lab.views import show_environ as show_environ
    from gateway_lab.views import show_flow as show_flow

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
