"""Request smuggling: a front and a back end that frame the same bytes differently.

Theory of operation: :func:`smuggling_request` builds one POST carrying both
``Content-Length`` and ``Transfer-Encoding: chunked``. :class:`NaiveFront`
frames it by Content-Length only (so the whole thing is one request, to
``/``, which it allows) and forwards it over one kept-open connection;
:class:`NaiveBackend` frames by Transfer-Encoding first, as RFC 9112 section
6.3 says, so the body ends early and the leftover bytes are a second
request, to ``/admin``, that the front never checked. The fix,
``NaiveFront(strict=True)``, answers 400 to a request that has both.
"""

from __future__ import annotations

import socket
from typing import BinaryIO

from gateway_lab.labs.weak.rawserver import (
    MAX_BODY,
    SOCKET_TIMEOUT,
    LoopbackServer,
    plain_response,
    read_by_length,
    read_chunked,
    read_head,
    read_line,
)

__all__ = ["NaiveBackend", "NaiveFront", "smuggling_request"]


def smuggling_request(hidden_path: str = "/admin", host: str = "127.0.0.1") -> bytes:
    """A POST framed two ways: by Content-Length it is one request; by
    Transfer-Encoding its body ends early and ``GET hidden_path`` follows it."""
    hidden = f"GET {hidden_path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode("latin-1")
    body = b"0\r\n\r\n" + hidden
    head = (
        f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n"
        f"Transfer-Encoding: chunked\r\n\r\n"
    ).encode("latin-1")
    return head + body


class NaiveBackend(LoopbackServer):
    """UNSAFE ON PURPOSE: a back end that trusts its front to have checked access.

    It keeps each connection open for more requests (as back ends do with their
    proxy) and frames a body by Transfer-Encoding when there is one, else by
    Content-Length (RFC 9112 section 6.3 says Transfer-Encoding wins). It serves
    ``/admin`` to anyone, because "the front refuses /admin". ``served`` lists
    the (method, path) of every request it answered. Fix: see :class:`NaiveFront`.
    """

    def __init__(self) -> None:
        self.served: list[tuple[str, str]] = []
        super().__init__()

    def handle(self, conn: socket.socket, stream: BinaryIO) -> None:
        while True:
            try:
                request = read_head(stream)
            except TimeoutError:
                return
            if request is None:
                return
            if "chunked" in (request.header("Transfer-Encoding") or "").lower():
                read_chunked(stream)
            else:
                read_by_length(stream, request)
            self.served.append((request.method, request.target))
            if request.target.startswith("/admin"):
                text = "ADMIN PAGE: the private data no visitor should see"
            else:
                text = f"public page for {request.method} {request.target}"
            conn.sendall(plain_response("200 OK", text))


class NaiveFront(LoopbackServer):
    """UNSAFE ON PURPOSE (unless ``strict``): a front "proxy" that guards ``/admin``.

    For each client connection it reads one request, frames its body by
    Content-Length *only* (it ignores Transfer-Encoding), refuses ``/admin``
    with 403, and forwards the rest over ONE kept-open connection to the back
    end, reading one response back for each request it forwards. When the
    back end frames the same bytes differently, the leftover bytes become a
    request the front never saw: smuggled past its check. Fix (``strict=True``):
    answer 400 to a request that has both Content-Length and Transfer-Encoding
    (RFC 9112 section 6.3), or use one HTTP parser for both framing decisions.
    ``forwarded`` lists the (method, path) of every request it passed on.
    """

    def __init__(self, backend_port: int, *, strict: bool = False) -> None:
        self.backend_port = backend_port
        self.strict = strict
        self.forwarded: list[tuple[str, str]] = []
        self._upstream: socket.socket | None = None
        self._upstream_stream: BinaryIO | None = None
        super().__init__()

    def _backend(self) -> tuple[socket.socket, BinaryIO]:
        if self._upstream is None or self._upstream_stream is None:
            self._upstream = socket.create_connection(
                ("127.0.0.1", self.backend_port), timeout=SOCKET_TIMEOUT
            )
            self._upstream_stream = self._upstream.makefile("rb")
        return self._upstream, self._upstream_stream

    def handle(self, conn: socket.socket, stream: BinaryIO) -> None:
        request = read_head(stream)
        if request is None:
            return
        has_te = request.header("Transfer-Encoding") is not None
        if self.strict and has_te and request.header("Content-Length") is not None:
            conn.sendall(
                plain_response(
                    "400 Bad Request", "Refused: both Content-Length and Transfer-Encoding.\n"
                )
            )
            return
        body = read_by_length(stream, request)  # <- the mistake: Content-Length only
        if request.target.startswith("/admin"):
            conn.sendall(plain_response("403 Forbidden", "The front refuses /admin.\n"))
            return
        upstream, upstream_stream = self._backend()
        self.forwarded.append((request.method, request.target))
        upstream.sendall(request.head_bytes() + body)
        reply = _read_head_response(upstream_stream)
        conn.sendall(reply)

    def stop(self) -> None:
        super().stop()
        if self._upstream_stream is not None:
            self._upstream_stream.close()
        if self._upstream is not None:
            self._upstream.close()


def _read_head_response(stream: BinaryIO) -> bytes:
    """One response from the back end, as bytes (framed by its Content-Length)."""
    lines = []
    length = 0
    while True:
        line = read_line(stream)
        lines.append(line)
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    return b"".join(lines) + stream.read(min(length, MAX_BODY))
