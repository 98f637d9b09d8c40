"""werkzeug's development server, threaded, quiet, and prompt to stop.

Theory of operation: werkzeug's ``ThreadedWSGIServer`` takes an already
listening socket through its ``fd`` argument, which is how our loopback socket
gets in. Its request log and error reports normally go to the ``werkzeug``
logger and from there to stderr (that is, into whatever cell is running);
here both the server's and the handler's ``log`` methods write to the
server's own log instead. The serve loop comes from
:class:`~gateway_lab.serving.engines.socketserver.PromptStopMixin`.
"""

from __future__ import annotations

from typing import Any, cast

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from gateway_lab.serving.engines.base import EngineRunner
from gateway_lab.serving.engines.socketserver import PromptStopMixin
from gateway_lab.serving.log import ServerLog
from gateway_lab.serving.loopback import LOOPBACK

__all__ = ["WerkzeugRunner"]


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        # werkzeug colours status codes for a terminal; ServerLog.message drops the codes.
        server = cast("_Server", self.server)
        server.gl_log.message(f"{type}: {message % args if args else message}")


class _Server(PromptStopMixin, ThreadedWSGIServer):
    gl_log: ServerLog

    def log(self, type: str, message: str, *args: Any) -> None:
        self.gl_log.message(f"{type}: {message % args if args else message}")


class WerkzeugRunner(EngineRunner):
    engine = "werkzeug"
    interface = "wsgi"

    def prepare(self) -> None:
        server = _Server(LOOPBACK, 0, self.app, handler=_QuietHandler, fd=self.sock.fileno())
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
            server.server_close()  # closes werkzeug's duplicate of our socket
            server.close_stop_pair()
