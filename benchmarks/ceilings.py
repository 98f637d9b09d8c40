"""Two reference servers that bound what any WSGI server can reach on this machine.

Theory of operation: ``benchmarks/engines.py`` compares the mini WSGI server
with wsgiref under the same client. Whether a ratio is good depends on how
much room there is, so the same run also measures two servers that do *less*
than any WSGI server, one thread each, answering inline as wsgiref does:

``no parsing``
    accept, read until the blank line that ends the request head, send a
    fixed hello-world response, close. No HTTP is parsed, no app is called:
    what is left is the client, the sockets and the kernel. No server in
    Python can be faster on this client.
``h11 alone``
    the same, but the request is parsed and the response framed by h11, the
    library the mini servers parse with; still no environ and no app. A
    server that parses with h11 does all of this *and* its own work, so it
    cannot be faster than this one either.

They are reference points, not servers to use: they skip every check a
real server makes (no limits, no timeouts beyond a second per read).
"""

from __future__ import annotations

import selectors
import socket
from typing import Any

import h11

from gateway_lab.serving.engines.base import EngineRunner
from gateway_lab.serving.log import ServerLog

__all__ = ["CEILINGS", "BareRunner", "H11AloneRunner"]

HELLO = b"Hello, world!"
FIXED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n"
    b"Connection: close\r\n\r\n" + HELLO
)
HEADERS = [(b"content-type", b"text/plain"), (b"content-length", b"13")]


class _InlineRunner(EngineRunner):
    """One thread: accept a connection, answer it, close it, accept the next."""

    interface = "wsgi"

    def __init__(self, app: Any, sock: socket.socket, log: ServerLog) -> None:
        super().__init__(app, sock, log)
        self._stop_r, self._stop_w = socket.socketpair()

    def answer(self, conn: socket.socket) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def serve(self) -> None:
        self.sock.setblocking(False)
        with selectors.DefaultSelector() as selector:
            selector.register(self.sock, selectors.EVENT_READ, "accept")
            selector.register(self._stop_r, selectors.EVENT_READ, "stop")
            self.mark_ready()
            while True:
                for key, _ in selector.select():
                    if key.data == "stop":
                        return
                    try:
                        conn, _peer = self.sock.accept()
                    except BlockingIOError:
                        continue
                    with conn:
                        conn.settimeout(1.0)
                        try:
                            self.answer(conn)
                        except (OSError, h11.ProtocolError):
                            pass

    def request_stop(self) -> None:
        self._stop_w.send(b"x")

    def release(self) -> None:
        self._stop_r.close()
        self._stop_w.close()


class BareRunner(_InlineRunner):
    """Reads the request head without parsing it and sends fixed bytes."""

    engine = "no parsing"

    def answer(self, conn: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            data = conn.recv(65536)
            if not data:
                return
            head += data
        conn.sendall(FIXED)


class H11AloneRunner(_InlineRunner):
    """Parses the request and frames the response with h11; calls no app."""

    engine = "h11 alone"

    def answer(self, conn: socket.socket) -> None:
        http = h11.Connection(h11.SERVER)
        while True:
            event = http.next_event()
            if event is h11.NEED_DATA:
                http.receive_data(conn.recv(65536))  # b"" (the client left) ends it
                continue
            if type(event) in (h11.Request, h11.Data):
                continue  # a hello-world request: the head, then the end
            if type(event) is not h11.EndOfMessage:
                return  # the client closed the connection
            out = http.send(h11.Response(status_code=200, headers=HEADERS, reason=b"OK"))
            out = (out or b"") + (http.send(h11.Data(data=HELLO)) or b"")
            conn.sendall(out + (http.send(h11.EndOfMessage()) or b""))
            if http.our_state is not h11.DONE or http.their_state is not h11.DONE:
                return  # Connection: close (the fair policy): this connection is done
            http.start_next_cycle()


CEILINGS: dict[str, type[EngineRunner]] = {
    BareRunner.engine: BareRunner,
    H11AloneRunner.engine: H11AloneRunner,
}
