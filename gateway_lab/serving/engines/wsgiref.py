"""The standard library's reference WSGI server, ``wsgiref.simple_server``.

Theory of operation: wsgiref is the plainest WSGI server there is, and it is
single-threaded on purpose: one request at a time, each on its own
connection. We keep it that way, because seeing a slow request hold up the
next one is part of the course. What we change is only the plumbing: it
serves on our loopback socket (instead of binding its own and looking up the
host's full name), its access log and error tracebacks go to the server's log
instead of stderr, and its loop stops promptly. A request stuck in the app
keeps the loop busy; ``stop`` then gives up waiting after its timeout and
releases the port anyway.
"""

from __future__ import annotations

from typing import Any, cast
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from gateway_lab.serving.engines.base import EngineRunner
from gateway_lab.serving.engines.socketserver import PromptStopMixin
from gateway_lab.serving.log import LogStream, ServerLog
from gateway_lab.serving.loopback import LOOPBACK

__all__ = ["WSGIRefRunner"]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        cast("_Server", self.server).gl_log.message(f"{self.address_string()} {format % args}")

    def get_stderr(self) -> Any:
        return LogStream(cast("_Server", self.server).gl_log)


class _Server(PromptStopMixin, WSGIServer):
    gl_log: ServerLog


class WSGIRefRunner(EngineRunner):
    engine = "wsgiref"
    interface = "wsgi"

    def prepare(self) -> None:
        server = _Server((LOOPBACK, 0), _QuietHandler, bind_and_activate=False)
        server.socket.close()  # the one socketserver made; we use ours
        server.socket = self.sock
        server.server_address = self.sock.getsockname()
        server.server_name = LOOPBACK
        server.server_port = server.server_address[1]
        server.setup_environ()
        server.set_app(self.app)
        server.gl_log = self.log
        server.prompt_stop_setup()
        self.server = server

    def serve(self) -> None:
        self.mark_ready()
        self.server.serve_forever(poll_interval=0.5)

    def request_stop(self) -> None:
        server = getattr(self, "server", None)
        if server is not None:
            server.request_stop()

    def release(self) -> None:
        server = getattr(self, "server", None)
        if server is not None:
            server.close_stop_pair()
