"""A small threaded WSGI server on h11: the server side of PEP 3333 in plain view.

Theory of operation
-------------------
A WSGI server does four things, and this module does them in this order:

1. **Accept.** One thread waits on a selector for two sockets: the listening
   socket (a client is connecting) and one end of a socket pair (we are asked
   to stop; ``request_stop`` writes a byte to the other end, so stopping is
   immediate). Each new connection gets its own daemon thread.
2. **Parse.** Every connection owns an ``h11.Connection``: we feed it bytes
   from the socket and it hands back events (``Request``, ``Data``,
   ``EndOfMessage``), and it turns our events back into bytes. h11 does all of
   HTTP/1.1's framing (Content-Length, chunked, keep-alive, HEAD,
   ``100 Continue``), so what is left here is the gateway interface itself.
3. **Call the app.** The request becomes an *environ*: the CGI variables
   (``gateway_lab.interface.environ.cgi_variables``, all ``str``, bytes decoded as
   latin-1) plus the ``wsgi.*`` keys, set one by one below. ``wsgi.input``
   is a stream that pulls the body from h11 only when the app reads it (and
   sends ``100 Continue`` first if the client asked for it); it ends exactly
   where the body ends, whether the client sent a Content-Length or chunks
   (the two streams are in :mod:`gateway_lab.mini.wsgi_streams`).
4. **Send the response.** ``start_response`` only *remembers* the status and
   headers; they go on the wire with the first non-empty chunk of the body (or
   at the end, if there is none), so an app may still change its mind with
   ``exc_info``. The framing is h11's choice: the app's Content-Length if it
   gave one (or the length of a one-item list body), otherwise chunked for
   HTTP/1.1 and "until the connection closes" for HTTP/1.0. The body
   iterable's ``close()`` is called on every path: normal end, app error,
   client gone.

Then, if both sides agree to keep the connection alive, h11 starts a new
cycle and the thread waits (at most ``idle_timeout``) for the next request.

Hostile or broken input never reaches the app: h11 rejects malformed heads
(400), a head over ``max_header_bytes`` gets 431, a body over
``max_body_bytes`` 413, an unknown Transfer-Encoding 501, a request with both
Content-Length and Transfer-Encoding 400 (a classic request-smuggling trick);
each refusal closes the connection. A silent client is dropped after
``idle_timeout``. A body cut short by the client, or with broken chunked
framing, reads as a short body, but the app's answer is never sent as if
the request were whole: a malformed body gets 400, a truncated one a closed
connection.

PEP 3333: https://peps.python.org/pep-3333/
"""

from __future__ import annotations

import re
import selectors
import socket
import threading
import time
from collections.abc import Iterable
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

import h11

from gateway_lab.interface.environ import cgi_variables
from gateway_lab.mini.limits import Limits, reason_phrase, refusal_body
from gateway_lab.mini.wsgi_streams import ErrorStream, InputStream, RequestBodyTooLarge
from gateway_lab.protocol.calls import ProtocolError
from gateway_lab.serving.engines.base import EngineRunner
from gateway_lab.serving.log import ServerLog
from gateway_lab.types import Environ, ExcInfo, WSGIApp

__all__ = ["MiniWSGIRunner"]

PEP3333_START = "https://peps.python.org/pep-3333/#the-start-response-callable"
READ_SIZE = 64 * 1024
SOFTWARE = "gateway-lab-mini-wsgi"

# RFC 9110 section 5.6.2: a header name is a "token".
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\r\n\x00]")
# Hop-by-hop headers describe one connection, which belongs to the server
# (PEP 3333 forbids apps to send them). We drop them, except that we honour
# "Connection: close".
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


class _Abort(Exception):
    """Internal: stop this exchange and close the connection (the reason is logged)."""


def _origin_form(target: str) -> str:
    """'http://host/a?b' (absolute-form, RFC 9112 3.2.2) -> '/a?b'; others as they are."""
    if target.startswith(("http://", "https://")):
        parts = urlsplit(target)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return target


def _check_status(status: Any) -> tuple[int, bytes]:
    if not isinstance(status, str) or not re.fullmatch(r"[1-5]\d\d [^\r\n]*", status):
        raise ProtocolError(
            f"start_response got status {status!r}; it must be a str made of a "
            f"three-digit code, a space and a reason, such as '200 OK'. "
            f"See {PEP3333_START}"
        )
    code, _, reason = status.partition(" ")
    if int(code) < 200:
        raise ProtocolError(
            f"start_response got status {status!r}; a WSGI app cannot send a 1xx "
            f"(informational) status. The server sends '100 Continue' by itself."
        )
    try:
        return int(code), reason.encode("latin-1")
    except UnicodeEncodeError:
        raise ProtocolError(
            f"the reason in status {status!r} has characters outside latin-1; HTTP "
            f"status lines are bytes. See {PEP3333_START}"
        ) from None


def _check_headers(headers: Any) -> list[tuple[str, str]]:
    if not isinstance(headers, list):
        raise ProtocolError(
            f"start_response's headers must be a list of (name, value) tuples, not "
            f"a {type(headers).__name__}. See {PEP3333_START}"
        )
    for item in headers:
        if not (
            isinstance(item, tuple)
            and len(item) == 2
            and all(isinstance(part, str) for part in item)
        ):
            raise ProtocolError(
                f"each response header must be a (name, value) tuple of two str, "
                f"not {item!r:.60}. See {PEP3333_START}"
            )
        name, value = item
        if not _TOKEN.fullmatch(name) or _BAD_VALUE.search(value):
            raise ProtocolError(
                f"the response header {item!r:.80} is not valid HTTP: a name is letters, "
                f"digits and -, a value has no line breaks. See {PEP3333_START}"
            )
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise ProtocolError(
                f"the value of response header {name!r} has characters outside "
                f"latin-1 ({value!r:.60}). Header values are bytes in disguise: encode "
                f"other text first (RFC 8187) or keep it in the body. See {PEP3333_START}"
            ) from None
    return headers


class _Exchange:
    """One request and its response, on one connection (PEP 3333's server side)."""

    def __init__(self, conn: _Connection, request: h11.Request) -> None:
        self.conn = conn
        self.method = request.method.decode("ascii")
        self.status: tuple[int, bytes] | None = None
        self.headers: list[tuple[str, str]] = []
        self.headers_sent = False
        self.body_allowed = True
        self.one_chunk_length: int | None = None  # a one-item list body: its length

    # -- the two callables PEP 3333 gives the app ----------------------
    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo = None
    ) -> Any:
        if exc_info is not None:
            try:
                if self.headers_sent:  # too late to change anything: re-raise
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # avoid a reference cycle through the traceback
        elif self.status is not None:
            raise ProtocolError(
                "start_response() was called a second time without exc_info. Call "
                "it once per request; only an error handler may call it again, "
                f"passing sys.exc_info(). See {PEP3333_START}"
            )
        self.status = _check_status(status)
        self.headers = _check_headers(headers)
        return self.write

    def write(self, data: bytes) -> None:
        if not isinstance(data, (bytes, bytearray)):
            raise ProtocolError(f"write() takes bytes, not {type(data).__name__}.")
        if data:
            self.send_headers()
            if self.body_allowed:
                self.conn.send(h11.Data(data=bytes(data)))

    # -- putting the response on the wire ------------------------------
    def send_headers(self) -> None:
        """Send the status line and headers, once, just before the first body bytes."""
        if self.headers_sent:
            return
        if self.status is None:
            raise ProtocolError(
                "The app produced body bytes before calling start_response(). Call "
                f"start_response(status, headers) first. See {PEP3333_START}"
            )
        if self.conn.body_too_large:
            self.conn.refuse(413, "The request body is larger than this server accepts.")
            raise _Abort("refused a request body over the size limit (413)")
        self.refuse_if_body_broken()
        code, reason = self.status
        wire_headers = []
        for name, value in self.headers:
            lower = name.lower()
            if lower in _HOP_BY_HOP:
                if lower == "connection" and "close" in value.lower():
                    wire_headers.append((b"connection", b"close"))
                continue
            wire_headers.append((name.encode("latin-1"), value.encode("latin-1")))
        names = {name.lower() for name, _ in self.headers}
        if "content-length" not in names and self.one_chunk_length is not None:
            wire_headers.append((b"content-length", str(self.one_chunk_length).encode()))
        if "date" not in names:  # RFC 9110 section 6.6.1: the origin server's clock
            wire_headers.append((b"date", formatdate(usegmt=True).encode("ascii")))
        if self.conn.holding_back_body():
            wire_headers.append((b"connection", b"close"))
        self.body_allowed = self.method != "HEAD" and code not in (204, 304)
        self.headers_sent = True
        self.conn.queue(h11.Response(status_code=code, headers=wire_headers, reason=reason))

    def refuse_if_body_broken(self) -> None:
        """Never answer a request whose body was malformed or cut short as if it were whole."""
        if not self.conn.body_broken:
            return
        if self.conn.body_malformed:
            self.conn.refuse(400, "The request body is not valid HTTP/1.1 framing.")
            raise _Abort("refused a request with a malformed body (400)")
        raise _Abort("the client closed the connection before sending the whole body")

    def respond(self, app: WSGIApp, environ: Environ) -> None:
        """Call the app and send everything it produces; close() on every path."""
        result: Iterable[bytes] | None = None
        try:
            result = app(environ, self.start_response)
            if isinstance(result, list) and len(result) == 1 and isinstance(result[0], bytes):
                self.one_chunk_length = len(result[0])
            for chunk in result:
                self.write(chunk)
            self.send_headers()  # an empty body: the headers go now
            self.conn.send(h11.EndOfMessage())
        except _Abort:
            raise
        except h11.LocalProtocolError as exc:  # e.g. more bytes than Content-Length
            self.conn.log.error(
                f"the connection was closed: the response broke HTTP framing ({exc}); "
                f"check that the app's Content-Length matches its body",
                where="server",
                request=self.conn.label,
            )
            raise _Abort("the response broke HTTP framing") from None
        except Exception as exc:
            if self.headers_sent:
                self.conn.log.error(
                    f"the response was cut short and the connection closed: the app "
                    f"failed after the headers were sent ({type(exc).__name__}: {exc})",
                    where="server",
                    request=self.conn.label,
                )
                raise _Abort("the app failed mid-response") from None
            if self.conn.body_too_large:
                self.conn.refuse(413, "The request body is larger than this server accepts.")
                raise _Abort("refused a request body over the size limit (413)") from None
            self.refuse_if_body_broken()
            self.conn.log.error(
                f"the app failed: {type(exc).__name__}: {exc}",
                exc=exc,
                where="app",
                request=self.conn.label,
            )
            self.conn.refuse(500, "The app failed; the details are in the server log.")
            raise _Abort("the app failed before sending headers (500)") from None
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                try:
                    close()
                except Exception as exc:
                    self.conn.log.error(
                        f"the body's close() raised {type(exc).__name__}: {exc}",
                        exc=exc,
                        where="app",
                        request=self.conn.label,
                    )


class _Connection:
    """One client connection: h11 in the middle, a loop of exchanges on top."""

    def __init__(self, runner: MiniWSGIRunner, sock: socket.socket, peer: Any) -> None:
        self.runner = runner
        self.log = runner.log
        self.limits = runner.limits
        self.sock = sock
        self.peer = peer
        self.h11 = h11.Connection(
            h11.SERVER, max_incomplete_event_size=self.limits.max_header_bytes
        )
        self.server_address = sock.getsockname()[:2]
        self.label = f"a request from {peer[0]}:{peer[1]}"
        self.method = ""
        self._outgoing = bytearray()

    # -- bytes in and out ----------------------------------------------
    def next_event(self, deadline: float) -> Any:
        """The next h11 event, receiving bytes as needed until ``deadline``."""
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the client was silent for too long")
            self.sock.settimeout(remaining)
            self.h11.receive_data(self.sock.recv(READ_SIZE))

    def queue(self, event: Any) -> None:
        """Turn an event into bytes, to go out with the next send()."""
        self._outgoing += self.h11.send(event) or b""

    def send(self, event: Any) -> None:
        self.queue(event)
        if self._outgoing:
            try:
                self.sock.settimeout(self.limits.idle_timeout)
                self.sock.sendall(self._outgoing)
            except OSError as exc:
                raise _Abort(f"the client went away ({type(exc).__name__})") from None
            finally:
                self._outgoing.clear()

    def refuse(self, status: int, explanation: str) -> None:
        """Answer with a short error response and Connection: close, if we still can."""
        if self.h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = refusal_body(status, explanation)
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        self._outgoing.clear()
        try:
            reason = reason_phrase(status).encode("ascii")
            self.queue(h11.Response(status_code=status, headers=headers, reason=reason))
            if self.method != "HEAD":
                self.queue(h11.Data(data=body))
            self.send(h11.EndOfMessage())
        except (h11.LocalProtocolError, _Abort):
            pass
        self.log.message(f"answered {status} to {self.label}: {explanation}")

    # -- the request body, for wsgi.input ------------------------------
    def pull_body(self) -> bytes:
        """The next piece of the request body, or b'' once it ended (or broke)."""
        if self.body_ended:
            return b""
        try:
            if self.h11.they_are_waiting_for_100_continue:
                self.send(
                    h11.InformationalResponse(status_code=100, headers=[], reason=b"Continue")
                )
            while True:
                event = self.next_event(time.monotonic() + self.limits.idle_timeout)
                if type(event) is h11.Data:
                    self.body_received += len(event.data)
                    if self.body_received > self.limits.max_body_bytes:
                        self.body_ended = self.body_too_large = True
                        raise RequestBodyTooLarge(
                            f"The request body is over {self.limits.max_body_bytes} bytes, "
                            f"the limit of this server; the client gets 413."
                        )
                    if event.data:
                        return bytes(event.data)
                else:  # EndOfMessage (or, on a broken connection, anything else)
                    self.body_ended = True
                    self.body_broken = type(event) is not h11.EndOfMessage
                    return b""
        except h11.RemoteProtocolError as exc:
            self.body_ended = self.body_broken = self.body_malformed = True
            self.log.message(f"the body of {self.label} is malformed: {exc}")
            return b""
        except (OSError, _Abort) as exc:
            self.body_ended = self.body_broken = True
            self.log.message(f"the body of {self.label} ended early: {exc}")
            return b""

    def holding_back_body(self) -> bool:
        """True if the client still waits for '100 Continue' that will never come."""
        return self.h11.they_are_waiting_for_100_continue and not self.body_ended

    # -- one request, and the loop over requests -----------------------
    def check_request(self, request: h11.Request) -> tuple[int, str] | None:
        """A refusal (status, explanation) for a request we must not serve, else None."""
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
                self.method,
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
        self.method = ""
        try:
            event = self.next_event(time.monotonic() + self.limits.idle_timeout)
        except h11.RemoteProtocolError as exc:
            if exc.error_status_hint == 431:
                why = f"The request head is over {self.limits.max_header_bytes} bytes."
            else:
                why = f"The request is not valid HTTP/1.1: {exc}"
            self.refuse(exc.error_status_hint, why)
            return False
        if type(event) is not h11.Request:
            return False  # the client closed the connection between requests
        self.method = event.method.decode("ascii", "replace")
        self.label = f"{self.method} {event.target.decode('latin-1')[:200]} from {self.peer[0]}"
        self.body_ended = self.body_broken = self.body_too_large = False
        self.body_malformed = False
        self.body_received = 0
        refusal = self.check_request(event)
        if refusal:
            self.refuse(*refusal)
            return False
        body = InputStream(self.pull_body)
        _Exchange(self, event).respond(self.runner.app, self.make_environ(event, body))
        if self.h11.their_state is h11.SEND_BODY and not self.body_broken:
            if self.h11.our_state is not h11.DONE or self.holding_back_body():
                return False
            try:
                body.read()  # the app left part of the body: skip it, keep the connection
            except RequestBodyTooLarge:
                return False
        return self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE

    def run(self) -> None:
        try:
            while not self.runner.stopping and self.serve_one():
                self.h11.start_next_cycle()
        except (_Abort, TimeoutError) as exc:
            self.log.message(f"closed the connection of {self.label}: {exc}")
        except OSError:
            pass  # the client reset the connection, or we are stopping
        except BaseException as exc:  # never let a connection thread die silently
            self.log.error(f"the connection failed: {exc!r}", exc=exc, where="server")
        finally:
            self.drain_and_close()

    def drain_and_close(self) -> None:
        """Close politely: stop sending, let the client's last bytes drain, then close.

        Closing a socket with unread bytes in it makes the kernel send a reset,
        which can destroy our last response before the client reads it.
        """
        try:
            self.sock.shutdown(socket.SHUT_WR)
            self.sock.settimeout(0.2)
            for _ in range(16):  # at most 1 MiB and about 0.2 s per read
                if not self.sock.recv(READ_SIZE):
                    break
        except OSError:
            pass
        finally:
            self.runner.forget_and_close(self.sock)


class MiniWSGIRunner(EngineRunner):
    """``engine="mini"`` for ``serve_wsgi``: one thread per connection, h11 for HTTP."""

    engine = "mini"
    interface = "wsgi"

    def __init__(
        self, app: Any, sock: socket.socket, log: ServerLog, limits: Limits | None = None
    ) -> None:
        super().__init__(app, sock, log)
        self.limits = limits or Limits()
        self.stopping = False
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._lock = threading.Lock()

    def prepare(self) -> None:
        self._wake_r, self._wake_w = socket.socketpair()

    def serve(self) -> None:
        self.sock.setblocking(False)
        with selectors.DefaultSelector() as selector:
            selector.register(self.sock, selectors.EVENT_READ, "accept")
            selector.register(self._wake_r, selectors.EVENT_READ, "stop")
            self.mark_ready()
            while not self.stopping:
                for key, _ in selector.select():
                    if key.data == "accept" and not self.stopping:
                        self._accept()
        self._close_connections(wait=0.5)

    def _accept(self) -> None:
        while True:
            try:
                sock, peer = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. out of file descriptors: say so, keep going
                self.log.error(f"accept() failed: {exc}", where="server")
                time.sleep(0.05)  # let some connections end before trying again
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = _Connection(self, sock, peer)
            thread = threading.Thread(
                target=connection.run, name=f"gateway-lab mini {peer[0]}:{peer[1]}", daemon=True
            )
            with self._lock:
                self._connections[sock] = thread
            try:
                thread.start()
            except RuntimeError as exc:  # "can't start new thread": drop this client
                self.log.error(f"could not start a connection thread: {exc}", where="server")
                self.forget_and_close(sock)

    def forget_and_close(self, sock: socket.socket) -> None:
        with self._lock:  # never while _close_connections shuts it down
            self._connections.pop(sock, None)
            sock.close()

    def _close_connections(self, wait: float) -> None:
        """Wake every connection thread (its next read sees the end) and wait briefly."""
        with self._lock:
            for sock in self._connections:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            threads = list(self._connections.values())
        deadline = time.monotonic() + wait
        for thread in threads:  # a thread stuck in the app is left to finish alone
            thread.join(max(0.0, deadline - time.monotonic()))

    def request_stop(self) -> None:
        self.stopping = True
        try:
            self._wake_w.send(b"x")
        except (AttributeError, OSError):
            pass  # never prepared, or already released

    def release(self) -> None:
        for end in (getattr(self, "_wake_r", None), getattr(self, "_wake_w", None)):
            if end is not None:
                end.close()
