"""Raw HTTP on loopback: send exact bytes, read exact bytes.

Theory of operation: the security lab needs requests that no polite client
would send (``/../`` left as it is, a header with a line break, a body
framed two ways at once), and it needs to see the response exactly as the
server wrote it. :func:`send_raw` opens one TCP connection to 127.0.0.1,
sends the bytes, and reads until the server closes the connection, a quiet
spell passes, or a size cap is reached. :func:`read_response` splits one
HTTP/1.1 response off the front of a byte string (status, headers, body
framed by ``Content-Length``), so that several responses that came back on
one connection can be told apart.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

__all__ = ["RawResponse", "read_response", "send_raw"]

MAX_BYTES = 1_000_000


def send_raw(port: int, data: bytes, *, quiet: float = 0.5, limit: int = MAX_BYTES) -> bytes:
    """Send ``data`` to 127.0.0.1:``port``; return every byte the server sent back.

    Reading stops when the server closes the connection, when nothing more
    arrives for ``quiet`` seconds, or after ``limit`` bytes.
    """
    received = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=quiet) as sock:
        sock.sendall(data)
        while len(received) < limit:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            received += chunk
    return bytes(received[:limit])


@dataclass
class RawResponse:
    """One response as it came off the wire."""

    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    version: str = "HTTP/1.1"

    @property
    def keeps_connection(self) -> bool:
        """Whether the server said it keeps the connection open after this response.

        HTTP/1.1 keeps it unless ``Connection: close``; HTTP/1.0 closes it
        unless ``Connection: keep-alive`` (RFC 9112 section 9.3).
        """
        tokens = {t.strip().lower() for t in (self.header("connection") or "").split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens

    def header_names(self) -> list[str]:
        return [name.lower() for name, _ in self.headers]

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)


def read_response(data: bytes) -> tuple[RawResponse, bytes]:
    """Split the first response off ``data``: (the response, the bytes after it).

    The body is framed by ``Content-Length`` (no length: the rest of ``data``).
    Raises ``ValueError`` if ``data`` does not start with a complete head.
    """
    head, separator, rest = data.partition(b"\r\n\r\n")
    if not separator:
        raise ValueError(f"no complete response head in {data[:80]!r}")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ValueError(f"not an HTTP status line: {status_line!r}")
    headers = []
    for line in lines:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    response = RawResponse(
        int(parts[1]), parts[2] if len(parts) > 2 else "", headers, version=parts[0]
    )
    length = response.header("content-length")
    if length is not None and length.isdigit():
        response.body, rest = rest[: int(length)], rest[int(length) :]
    else:
        response.body, rest = rest, b""
    return response, rest
