"""A small threaded WSGI server on h11: the server side of PEP 3333 in plain view.

Theory of operation
-------------------
A WSGI server does four things, and this module does them in this order:

1. **Accept.** One thread waits on a selector for two sockets: the listening
   socket (a client is connecting) and one end of a socket pair (we are asked
   to stop; ``request_stop`` writes a byte to the other end, so stopping is
   immediate). Each new connection gets its own daemon thread.
2. **Parse.** Every connection owns a :class:`~gateway_lab.mini.channel.Channel`,
   an ``h11.Connection`` over the socket: we feed it bytes and it hands back
   events (``Request``, ``Data``, ``EndOfMessage``), and it turns our events
   back into bytes. h11 does all of HTTP/1.1's framing (Content-Length,
   chunked, keep-alive, HEAD, ``100 Continue``), so what is left here is the
   gateway interface itself.
3. **Call the app.** The request becomes an *environ*: the CGI variables
   (``gateway_lab.interface.environ.cgi_variables``, all ``str``, bytes decoded as
   latin-1) plus the ``wsgi.*`` keys, set one by one below. ``wsgi.input``
   is a stream that pulls the body from h11 only when the app reads it (and
   sends ``100 Continue`` first if the client asked for it); it ends exactly
   where the body ends, whether the client sent a Content-Length or chunks
   (the two streams are in :mod:`gateway_lab.mini.wsgi_streams`).
4. **Send the response.** The exchange is the package's one WSGI server
   side, :class:`~gateway_lab.protocol.wsgi.WSGIExchange`: ``start_response``
   only *remembers* the status and headers; they go on the wire with the
   first non-empty chunk of the body (or at the end, if there is none), so an
   app may still change its mind with ``exc_info``. This module only says
   what "on the wire" means (h11 events). The framing is h11's choice: the
   app's Content-Length if it gave one (or the length of a one-item list
   body), otherwise chunked for HTTP/1.1 and "until the connection closes"
   for HTTP/1.0. The body iterable's ``close()`` is called on every path.

Then, if both sides agree to keep the connection alive, h11 starts a new
cycle and the thread waits (at most ``idle_timeout``) for the next request.

Hostile or broken input never reaches the app: h11 rejects malformed heads
(400), a head over ``max_header_bytes`` gets 431, a body over
``max_body_bytes`` 413, an unknown Transfer-Encoding 501, a request with both
Content-Length and Transfer-Encoding 400 (a classic request-smuggling trick),
an HTTP version other than 1.0 and 1.1 505; each refusal closes the
connection. A silent client is dropped after ``idle_timeout``. Before the
head of any answer goes out, the rest of the request body is read (and kept
for the app), so a body that is malformed or never finishes gets 400 and a
closed connection, whether or not the app read it. An app that fails
(``SystemExit`` and ``KeyboardInterrupt`` included) gets a 500 while no byte
was sent, and a cut connection after. ``stop()`` lets requests already being
answered finish (within about a second), then closes every connection.

PEP 3333: https://peps.python.org/pep-3333/
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import h11

from gateway_lab import specs
from gateway_lab.errors import ConnectionAborted
from gateway_lab.interface.environ import cgi_variables
from gateway_lab.mini.channel import Channel
from gateway_lab.mini.limits import Limits, http_date, version_refusal
from gateway_lab.mini.workers import Workers
from gateway_lab.mini.wsgi_streams import ErrorStream, InputStream, RequestBodyTooLarge
from gateway_lab.protocol.wsgi import APP_FAILURES, WSGIExchange, failure_page
from gateway_lab.serving.engines.base import EngineRunner
from gateway_lab.serving.log import ServerLog
from gateway_lab.types import Environ, WSGIApp

__all__ = ["MiniWSGIRunner"]

SOFTWARE = "gateway-lab-mini-wsgi"
STOP_GRACE = 0.8  # seconds stop() gives requests in flight (EngineRunner.stop waits 1 s)


def _origin_form(target: str) -> str:
    """'http://host/a?b' (absolute-form, RFC 9112 3.2.2) -> '/a?b'; others as they are."""
    if target.startswith(("http://", "https://")):
        parts = urlsplit(target)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return target


class _Exchange(WSGIExchange):
    """One request and its response on one connection: PEP 3333's server side, over h11."""

    def __init__(self, conn: _Connection, body: InputStream) -> None:
        super().__init__()
        self.conn = conn
        self.channel = conn.channel
        self.body = body
        self.one_chunk_length: int | None = None  # a one-item list body: its length
        self.body_allowed = True  # False for HEAD, 204 and 304 (set with the head)

    def returned(self, result: Any) -> None:
        if isinstance(result, list) and len(result) == 1 and isinstance(result[0], bytes):
            self.one_chunk_length = len(result[0])

    def send_headers(self) -> None:
        """Send the status line and headers, once, just before the first body bytes."""
        channel = self.channel
        if not channel.holding_back_body():
            try:
                self.body.preload()  # the whole request first: never answer a broken one
            except RequestBodyTooLarge:
                pass
        channel.refuse_if_body_broken()
        assert self.code is not None  # start_response refused anything else
        wire_headers = []
        for name, value in self.headers:
            lower = name.lower()
            if lower in specs.HOP_BY_HOP_HEADERS:  # the connection is the server's
                if lower == "connection" and "close" in value.lower():
                    wire_headers.append((b"connection", b"close"))
                continue
            wire_headers.append((name.encode("latin-1"), value.encode("latin-1")))
        names = {name.lower() for name, _ in self.headers}
        if "content-length" not in names and self.one_chunk_length is not None:
            wire_headers.append((b"content-length", str(self.one_chunk_length).encode()))
        if "date" not in names:  # RFC 9110 section 6.6.1: the origin server's clock
            wire_headers.append((b"date", http_date()))
        if channel.holding_back_body() or self.conn.stopping.is_set():
            wire_headers.append((b"connection", b"close"))
        self.body_allowed = channel.method != "HEAD" and self.code not in (204, 304)
        reason = self.reason.encode("latin-1")
        channel.queue(h11.Response(status_code=self.code, headers=wire_headers, reason=reason))

    def send_body(self, data: bytes) -> None:
        if self.body_allowed:
            self.channel.send(h11.Data(data=data))

    def end_body(self) -> None:
        self.channel.send(h11.EndOfMessage())

    def close_failed(self, exc: Exception) -> None:
        self.conn.log.error(
            f"the body's close() raised {type(exc).__name__}: {exc}",
            exc=exc,
            where="app",
            request=self.channel.label,
        )

    def answer(self, app: WSGIApp, environ: Environ) -> None:
        """Respond; an app that fails gets a 500 while it can, a cut connection after."""
        channel, log = self.channel, self.conn.log
        try:
            self.respond(app, environ)
        except ConnectionAborted:
            raise
        except h11.LocalProtocolError as exc:  # e.g. more bytes than Content-Length
            log.error(
                f"the connection was closed: the response broke HTTP framing ({exc}); "
                f"check that the app's Content-Length matches its body",
                where="server",
                request=channel.label,
            )
            raise ConnectionAborted("the response broke HTTP framing") from None
        except APP_FAILURES as exc:
            summary = f"{type(exc).__name__}: {exc}"
            if self.headers_sent:
                log.error(
                    f"the response was cut short and the connection closed: the app "
                    f"failed after the headers were sent ({summary})",
                    where="server",
                    request=channel.label,
                )
                raise ConnectionAborted("the app failed mid-response") from None
            channel.refuse_if_body_broken()
            log.error(f"the app failed: {summary}", exc=exc, where="app", request=channel.label)
            channel.refuse(500, summary, failure_page(summary))
            raise ConnectionAborted("the app failed before sending headers (500)") from None


class _Connection:
    """One client connection: a channel of h11 events, and a loop of exchanges on it."""

    def __init__(
        self,
        app: WSGIApp,
        channel: Channel,
        peer: Any,
        server_address: tuple[str, int],
        stopping: threading.Event,
    ) -> None:
        self.app = app
        self.channel = channel
        self.log = channel.log
        self.limits = channel.limits
        self.peer = peer
        self.server_address = server_address
        self.stopping = stopping
        self.busy = False  # a request is being answered (stop() waits for it)
        self.cut = False  # stop() shut the socket: serve nothing more
        self.lock = threading.Lock()
        channel.label = f"a request from {peer[0]}:{peer[1]}"

    def check_request(self, request: h11.Request) -> tuple[int, str] | None:
        """A refusal (status, explanation) for a request we must not serve, else None."""
        refusal = version_refusal(request.http_version)
        if refusal:
            return refusal
        names = {name for name, _ in request.headers}
        head_size = len(request.target) + sum(len(n) + len(v) + 4 for n, v in request.headers)
        if head_size > self.limits.max_header_bytes:
            return 431, f"The request head is over {self.limits.max_header_bytes} bytes."
        if b"content-length" in names and b"transfer-encoding" in names:
            return 400, "The request has both Content-Length and Transfer-Encoding."
        length = dict(request.headers).get(b"content-length", b"0")
        if int(length) > self.limits.max_body_bytes:
            return 413, f"The request body is over {self.limits.max_body_bytes} bytes."
        return None

    def make_environ(self, request: h11.Request, body: InputStream) -> Environ:
        server_name, server_port = self.server_address
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in request.headers
            # "X_Forwarded_For" would become HTTP_X_FORWARDED_FOR, just like the
            # real "X-Forwarded-For": drop names with "_" so neither can pose as the other.
            if b"_" not in name
        ]
        environ: Environ = dict(
            cgi_variables(
                self.channel.method,
                _origin_form(request.target.decode("latin-1")),
                headers,
                server_name=server_name,
                server_port=server_port,
                remote_addr=self.peer[0],
                protocol="HTTP/" + request.http_version.decode("ascii"),
            )
        )
        environ["REMOTE_PORT"] = str(self.peer[1])
        environ["SERVER_SOFTWARE"] = SOFTWARE
        environ["wsgi.version"] = (1, 0)
        environ["wsgi.url_scheme"] = "http"
        environ["wsgi.input"] = body
        environ["wsgi.errors"] = ErrorStream(self.log)
        environ["wsgi.multithread"] = True  # one thread per connection
        environ["wsgi.multiprocess"] = False
        environ["wsgi.run_once"] = False
        environ["wsgi.input_terminated"] = True  # read() to the end is safe
        return environ

    def serve_one(self) -> bool:
        """Read a request and answer it; True if the connection may serve another."""
        channel = self.channel
        channel.method = ""
        try:
            event = channel.next_event(time.monotonic() + self.limits.idle_timeout)
        except h11.RemoteProtocolError as exc:
            if exc.error_status_hint == 431:
                why = f"The request head is over {self.limits.max_header_bytes} bytes."
            else:
                why = f"The request is not valid HTTP/1.1: {exc}"
            channel.refuse(exc.error_status_hint, why)
            return False
        if type(event) is not h11.Request:
            return False  # the client closed the connection between requests
        with self.lock:
            if self.cut:
                return False
            self.busy = True
        channel.method = event.method.decode("ascii", "replace")
        target = event.target.decode("latin-1")[:200]
        channel.label = f"{channel.method} {target} from {self.peer[0]}"
        channel.new_body()
        refusal = self.check_request(event)
        if refusal:
            channel.refuse(*refusal)
            return False
        body = InputStream(channel.pull_body)
        _Exchange(self, body).answer(self.app, self.make_environ(event, body))
        if channel.h11.their_state is h11.SEND_BODY:  # only when holding back for 100
            return False
        return channel.h11.our_state is h11.DONE and channel.h11.their_state is h11.DONE

    def run(self) -> None:
        """Serve requests until either side ends the connection, then close it politely."""
        try:
            while not self.stopping.is_set() and self.serve_one():
                with self.lock:
                    self.busy = False
                self.channel.h11.start_next_cycle()
        except (ConnectionAborted, TimeoutError) as exc:
            self.log.message(f"closed the connection of {self.channel.label}: {exc}")
        except OSError:
            pass  # the client reset the connection, or we are stopping
        except BaseException as exc:  # never let a connection thread die silently
            self.log.error(f"the connection failed: {exc!r}", exc=exc, where="server")
        finally:
            self.channel.close()

    def shut(self, even_if_busy: bool) -> None:
        """Wake this connection's thread (its next read sees the end), unless it is busy."""
        with self.lock:
            if self.busy and not even_if_busy:
                return
            self.cut = True
        try:
            self.channel.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class MiniWSGIRunner(EngineRunner):
    """``engine="mini"`` for ``serve_wsgi``: one thread per connection, h11 for HTTP."""

    engine = "mini"
    interface = "wsgi"

    def __init__(
        self, app: Any, sock: socket.socket, log: ServerLog, limits: Limits | None = None
    ) -> None:
        super().__init__(app, sock, log)
        self.limits = limits or Limits()
        self.stopping = threading.Event()
        self._connections: dict[socket.socket, _Connection] = {}
        self._lock = threading.Lock()
        self._workers = Workers("gateway-lab mini")

    def prepare(self) -> None:
        self._wake_r, self._wake_w = socket.socketpair()

    def serve(self) -> None:
        self.sock.setblocking(False)
        with selectors.DefaultSelector() as selector:
            selector.register(self.sock, selectors.EVENT_READ, "accept")
            selector.register(self._wake_r, selectors.EVENT_READ, "stop")
            self.mark_ready()
            while not self.stopping.is_set():
                for key, _ in selector.select():
                    if key.data == "accept" and not self.stopping.is_set():
                        self._accept()
        self._close_connections(STOP_GRACE)

    def _accept(self) -> None:
        # One connection per wake-up: the selector wakes us again at once if more wait.
        try:
            sock, peer = self.sock.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # e.g. out of file descriptors: say so, keep going
            self.log.error(f"accept() failed: {exc}", where="server")
            time.sleep(0.05)  # let some connections end before trying again
            return
        try:
            self._workers.submit(lambda: self._serve(sock, peer))
        except RuntimeError as exc:  # "can't start new thread": drop this client
            self.log.error(f"could not start a connection thread: {exc}", where="server")
            sock.close()

    def _serve(self, sock: socket.socket, peer: Any) -> None:
        """In the connection's own thread: set the connection up, then serve it."""
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        channel = Channel(sock, self.limits, self.log, on_close=self.forget_and_close)
        connection = _Connection(self.app, channel, peer, sock.getsockname()[:2], self.stopping)
        with self._lock:
            if self.stopping.is_set():  # stop() has begun: this client gets nothing
                sock.close()
                return
            self._connections[sock] = connection
        connection.run()

    def forget_and_close(self, sock: socket.socket) -> None:
        with self._lock:  # never while _close_connections shuts it down
            self._connections.pop(sock, None)
            sock.close()

    def _close_connections(self, grace: float) -> None:
        """Close idle connections now; give busy ones ``grace`` seconds to finish, then cut."""
        deadline = time.monotonic() + grace
        with self._lock:
            connections = list(self._connections.values())
        for connection in connections:
            connection.shut(even_if_busy=False)
        if not self._workers.wait_idle(deadline):
            with self._lock:  # past the grace: cut them (a thread stuck in the app stays)
                connections = list(self._connections.values())
            for connection in connections:
                connection.shut(even_if_busy=True)
        self._workers.stop(deadline + 0.1)

    def request_stop(self) -> None:
        self.stopping.set()
        try:
            self._wake_w.send(b"x")
        except (AttributeError, OSError):
            pass  # never prepared, or already released

    def release(self) -> None:
        for end in (getattr(self, "_wake_r", None), getattr(self, "_wake_w", None)):
            if end is not None:
                end.close()
