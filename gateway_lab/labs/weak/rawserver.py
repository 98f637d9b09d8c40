"""The raw-socket plumbing the weak servers share: naive HTTP/1.1 reading and a loopback server.

Theory of operation: the weak servers must make *their* mistake and no
other, so they read requests with these few deliberately simple functions
(a request line, header lines split at the first colon, a body framed by
Content-Length or by chunks) instead of a real parser that would refuse the
attacks. Everything is bounded: lines (``MAX_LINE``), header counts
(``MAX_HEADERS``), bodies (``MAX_BODY``) and every socket's timeout.
:class:`LoopbackServer` listens on 127.0.0.1 and serves one connection at a
time from one daemon thread, so a lab run is deterministic; a subclass
writes ``handle(conn, stream)``.
"""

from __future__ import annotations

import socket
import threading
from typing import BinaryIO, TypeVar

from gateway_lab.serving.loopback import bind_loopback

__all__ = [
    "MAX_BODY",
    "SOCKET_TIMEOUT",
    "LoopbackServer",
    "Request",
    "plain_response",
    "read_by_length",
    "read_chunked",
    "read_head",
    "read_line",
]

SOCKET_TIMEOUT = 2.0
MAX_LINE = 8192
MAX_HEADERS = 100
MAX_BODY = 65536

_Server = TypeVar("_Server", bound="LoopbackServer")


class Request:
    """A request head as the weak servers read it: method, target, headers."""

    def __init__(self, method: str, target: str, headers: list[tuple[str, str]]) -> None:
        self.method = method
        self.target = target
        self.headers = headers

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)

    def head_bytes(self) -> bytes:
        lines = [f"{self.method} {self.target} HTTP/1.1"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_line(stream: BinaryIO) -> bytes:
    """One line, CRLF included; ValueError past ``MAX_LINE`` bytes."""
    line = stream.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise ValueError("line too long")
    return line


def read_head(stream: BinaryIO) -> Request | None:
    """Read one request head; None when the connection ended before one began."""
    line = read_line(stream)
    if not line:
        return None
    parts = line.decode("latin-1").split()
    if len(parts) != 3:
        raise ValueError(f"bad request line {line!r}")
    headers: list[tuple[str, str]] = []
    while True:
        line = read_line(stream)
        if line in (b"\r\n", b"\n", b""):
            break
        if len(headers) >= MAX_HEADERS:
            raise ValueError("too many headers")
        name, _, value = line.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    return Request(parts[0], parts[1], headers)


def read_by_length(stream: BinaryIO, request: Request) -> bytes:
    """The body as Content-Length frames it (at most ``MAX_BODY`` bytes)."""
    length = int(request.header("Content-Length") or 0)
    return stream.read(min(length, MAX_BODY))


def read_chunked(stream: BinaryIO) -> bytes:
    """The body as chunked Transfer-Encoding frames it; trailer fields are skipped."""
    body = bytearray()
    while True:
        size = int(read_line(stream).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while read_line(stream) not in (b"\r\n", b"\n", b""):
                pass  # trailer fields, ignored
            return bytes(body)
        body += stream.read(min(size, MAX_BODY))
        read_line(stream)  # the CRLF after each chunk
        if len(body) > MAX_BODY:
            raise ValueError("body too large")


def plain_response(status: str, text: str, extra: str = "") -> bytes:
    """A whole text/plain response with its Content-Length; ``extra`` is more header lines."""
    body = text.encode("utf-8")
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1") + body


class LoopbackServer:
    """A raw-socket server on 127.0.0.1 serving one connection at a time in a thread."""

    def __init__(self) -> None:
        self._listener = bind_loopback(0)
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self.errors: list[str] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=type(self).__name__, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(SOCKET_TIMEOUT)
                try:
                    with conn.makefile("rb") as stream:
                        self.handle(conn, stream)
                except (OSError, ValueError) as exc:
                    self.errors.append(f"{type(exc).__name__}: {exc}")

    def handle(self, conn: socket.socket, stream: BinaryIO) -> None:  # pragma: no cover
        raise NotImplementedError

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(SOCKET_TIMEOUT + 1)
        self._listener.close()

    def __enter__(self: _Server) -> _Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
