"""Serve a learner's WSGI app, ASGI app or CGI folder from the running kernel.

Theory of operation: ``serve_wsgi`` / ``serve_asgi`` / ``serve_cgi`` do the
same five steps, in an order chosen so that every mistake is reported
before anything is running:

1. check the engine name and the app (``appkind``): a wrong kind of app
   gets a sentence naming the interface it looks like;
2. if a server of the same *name* is running, stop it: re-running a cell
   replaces its server instead of failing with "address already in use";
   with ``port=0`` the new server takes the old one's port when it can, so
   a link or IFrame shown earlier keeps working;
3. bind a loopback socket (``loopback``), which names the holder of a port
   that is taken;
4. wrap the app in a guard (``guard``) that logs requests and turns the
   app's exceptions into 500s, and start the engine's daemon thread;
5. register the handle, which shows itself in a notebook as a link.

Servers are kept in a module-level registry by name, so ``servers()`` and
``stop_all()`` see every one, whichever cell started it.
"""

from __future__ import annotations

import atexit
import html
import os
import threading
from collections.abc import Callable
from typing import Any

from gateway_lab.errors import GatewayLabError, PortInUseError
from gateway_lab.interface.appkind import ensure_asgi_app, ensure_wsgi_app
from gateway_lab.platform import require_os
from gateway_lab.serving.asgi_guard import ASGIGuard
from gateway_lab.serving.engines import runner_class
from gateway_lab.serving.engines.base import EngineRunner
from gateway_lab.serving.log import ErrorRecord, RequestRecord, ServerLog
from gateway_lab.serving.loopback import LOOPBACK, bind_loopback, browser_url_for
from gateway_lab.serving.wsgi_guard import WSGIGuard
from gateway_lab.types import AnyApp, ASGIApp, WSGIApp

__all__ = ["Server", "serve_asgi", "serve_cgi", "serve_wsgi", "servers", "stop_all"]

STOP_TIMEOUT = 1.0

_registry: dict[str, Server] = {}
_lock = threading.RLock()


class Server:
    """A running (or stopped) server: its address, its log, and a stop button."""

    def __init__(
        self,
        name: str,
        interface: str,
        engine: str,
        app: AnyApp,
        runner: EngineRunner,
        port: int,
        log: ServerLog,
    ) -> None:
        self.name = name
        self.interface = interface
        self.engine = engine
        self.app = app
        self.port = port
        self.log = log
        self._runner = runner
        self._stopped = False

    @property
    def url(self) -> str:
        """The loopback URL: for clients in the kernel (httpx, sockets)."""
        return f"http://{LOOPBACK}:{self.port}/"

    @property
    def browser_url(self) -> str:
        """What the learner's browser can open (the proxy path under a hub)."""
        return browser_url_for(self.port)

    @property
    def running(self) -> bool:
        return not self._stopped and self._runner.alive

    @property
    def requests(self) -> list[RequestRecord]:
        return list(self.log.requests)

    @property
    def errors(self) -> list[ErrorRecord]:
        return list(self.log.errors)

    def stop(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Stop serving and free the port. Returns True if the thread ended in time."""
        with _lock:
            if _registry.get(self.name) is self:
                del _registry[self.name]
            if self._stopped:
                return True
            self._stopped = True
        return self._runner.stop(timeout)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _status(self) -> str:
        if self.running:
            return "running"
        return "stopped" if self._stopped else "stopped (its thread ended)"

    def __repr__(self) -> str:
        return (
            f"<{self.interface.upper()} server {self.name!r} ({self.engine}) "
            f"{self._status()} at {self.url}: {self.log.counts()}>"
        )

    def _repr_html_(self) -> str:
        colour = "#2a7" if self.running else "#999"
        link = (
            f'<a href="{html.escape(self.browser_url)}" target="_blank">'
            f"{html.escape(self.browser_url)}</a>"
            if self.running
            else f"<s>{html.escape(self.browser_url)}</s>"
        )
        errors = len(self.log.errors)
        error_text = (
            f', <span style="color:#c33">{errors} error{"s" if errors != 1 else ""}'
            f"</span> (see <code>.errors</code>)"
            if errors
            else ""
        )
        return (
            f'<div class="gl-server"><span style="color:{colour}">&#9679;</span> '
            f"<b>{html.escape(self.name)}</b> &middot; {self.interface.upper()} on "
            f"{html.escape(self.engine)} &middot; {self._status()} &middot; {link} "
            f"&middot; {len(self.log.requests)} requests{error_text}</div>"
        )


class ServerTable(dict[str, Server]):
    """``servers()``: a dict of name -> Server that draws itself as a table."""

    def _repr_html_(self) -> str:
        if not self:
            return "<i>No gateway-lab servers are running.</i>"
        return "".join(server._repr_html_() for server in self.values())


def servers() -> ServerTable:
    """Every running server, by name."""
    with _lock:
        return ServerTable(_registry)


def stop_all(timeout: float = STOP_TIMEOUT) -> int:
    """Stop every server; returns how many were stopped."""
    with _lock:
        running = list(_registry.values())
    for server in running:
        server.stop(timeout)
    return len(running)


def _holder_of(port: int) -> str | None:
    with _lock:
        return next((s.name for s in _registry.values() if s.port == port), None)


def _default_name(app: object) -> str:
    return str(getattr(app, "__name__", None) or type(app).__name__)


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise GatewayLabError(
            f"name must be a non-empty string (it labels the server), not {name!r}."
        )
    return name


def _start(
    interface: str,
    engine: str,
    name: str,
    port: int,
    app: AnyApp,
    make_served_app: Callable[[ServerLog], AnyApp],
) -> Server:
    runner_cls = runner_class("asgi" if interface == "asgi" else "wsgi", engine)
    with _lock:
        old = _registry.get(name)
        if old is not None:
            old.stop()
            if port == 0:
                try:
                    sock = bind_loopback(old.port, _holder_of)
                except PortInUseError:
                    sock = bind_loopback(0, _holder_of)
            else:
                sock = bind_loopback(port, _holder_of)
        else:
            sock = bind_loopback(port, _holder_of)
        bound_port = sock.getsockname()[1]
        log = ServerLog(name)
        try:
            runner = runner_cls(make_served_app(log), sock, log)
            runner.start()
        except BaseException:
            sock.close()
            raise
        server = Server(name, interface, engine, app, runner, bound_port, log)
        _registry[name] = server
        return server


def serve_wsgi(
    app: WSGIApp, name: str | None = None, port: int = 0, engine: str = "werkzeug"
) -> Server:
    """Serve a WSGI app from a daemon thread on 127.0.0.1.

    >>> def app(environ, start_response):
    ...     start_response("200 OK", [("Content-Type", "text/plain")])
    ...     return [b"Hello"]
    >>> srv = serve_wsgi(app)          # engines: "werkzeug", "wsgiref", "mini"
    >>> srv.stop()
    True
    """
    require_os("gl.serve_wsgi", "a listening socket and a thread")
    runner_class("wsgi", engine)
    ensure_wsgi_app(app)
    name = _check_name(name if name is not None else _default_name(app))
    return _start("wsgi", engine, name, port, app, lambda log: WSGIGuard(app, log))


def serve_asgi(
    app: ASGIApp, name: str | None = None, port: int = 0, engine: str = "uvicorn"
) -> Server:
    """Serve an ASGI app from a daemon thread on 127.0.0.1 (engines "uvicorn", "mini")."""
    require_os("gl.serve_asgi", "a listening socket and a thread")
    runner_class("asgi", engine)
    ensure_asgi_app(app)
    name = _check_name(name if name is not None else _default_name(app))
    return _start("asgi", engine, name, port, app, lambda log: ASGIGuard(app, log))


def serve_cgi(
    directory: str | os.PathLike[str],
    name: str | None = None,
    port: int = 0,
    **options: Any,
) -> Server:
    """Serve a folder of CGI scripts, one process per request (RFC 3875).

    ``options`` go to :class:`gateway_lab.cgi.CGIApp` (timeout, output cap).
    """
    require_os("gl.serve_cgi", "a listening socket and a process per request")
    from gateway_lab.cgi import CGIApp  # imported on use: keeps `import gateway_lab` fast

    gateway_probe = CGIApp(directory, **options)  # validates the folder now
    name = _check_name(name if name is not None else os.path.basename(os.path.abspath(directory)))

    def make(log: ServerLog) -> WSGIApp:
        gateway_probe.log = log
        return WSGIGuard(gateway_probe, log)

    return _start("cgi", "werkzeug", name, port, gateway_probe, make)


atexit.register(stop_all)
