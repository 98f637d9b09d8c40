"""Handlers and servers that are unsafe ON PURPOSE, each next to its fix.

Theory of operation: the security lab reproduces four classic attacks on
127.0.0.1, then shows the fix. Each weak piece below makes exactly one
mistake, named in its docstring with the fix beside it; nothing here is
meant to be copied into a real program.

=====================  ===============================  =========================
attack                 weak piece (the mistake)         fixed piece
=====================  ===============================  =========================
CRLF response          :func:`lang_header_app` (a       :func:`lang_header_app_fixed`
splitting              query value into a header) on    and any server that
                       :class:`NaiveHTTPServer` (writes  validates header values
                       headers unchecked)
log injection          :class:`NaiveAccessLog` (the     :class:`SafeAccessLog`
                       path written verbatim)
path traversal         :func:`naive_static_app`         :func:`safe_static_app`
                       (``os.path.join`` with the URL)
request smuggling      :class:`NaiveFront` (frames by   ``NaiveFront(strict=True)``
                       Content-Length only) before       (400 when a request has
                       :class:`NaiveBackend` (prefers   both)
                       Transfer-Encoding)
=====================  ===============================  =========================

The raw-socket servers share :class:`_LoopbackServer`: a listening socket on
127.0.0.1 (``serving.loopback.bind_loopback``), one daemon thread that serves one
connection at a time (so every run is deterministic), short timeouts on
every socket, bounded line lengths and header counts, and ``stop()``.
"""

from __future__ import annotations

import io
import os
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO
from urllib.parse import parse_qs

from gateway_lab.serving.loopback import bind_loopback

__all__ = [
    "NaiveAccessLog",
    "NaiveBackend",
    "NaiveFront",
    "NaiveHTTPServer",
    "SafeAccessLog",
    "lang_header_app",
    "lang_header_app_fixed",
    "log_line_naive",
    "log_line_safe",
    "naive_static_app",
    "safe_static_app",
    "smuggling_request",
]

SOCKET_TIMEOUT = 2.0
MAX_LINE = 8192
MAX_HEADERS = 100
MAX_BODY = 65536

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


# -- reading HTTP/1.1 requests, naively --------------------------------------------


class _Request:
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


def _read_line(stream: BinaryIO) -> bytes:
    line = stream.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise ValueError("line too long")
    return line


def _read_head(stream: BinaryIO) -> _Request | None:
    """Read one request head; None when the connection ended before one began."""
    line = _read_line(stream)
    if not line:
        return None
    parts = line.decode("latin-1").split()
    if len(parts) != 3:
        raise ValueError(f"bad request line {line!r}")
    headers = []
    while True:
        line = _read_line(stream)
        if line in (b"\r\n", b"\n", b""):
            break
        if len(headers) >= MAX_HEADERS:
            raise ValueError("too many headers")
        name, _, value = line.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    return _Request(parts[0], parts[1], headers)


def _read_by_length(stream: BinaryIO, request: _Request) -> bytes:
    length = int(request.header("Content-Length") or 0)
    return stream.read(min(length, MAX_BODY))


def _read_chunked(stream: BinaryIO) -> bytes:
    body = bytearray()
    while True:
        size = int(_read_line(stream).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while _read_line(stream) not in (b"\r\n", b"\n", b""):
                pass  # trailer fields, ignored
            return bytes(body)
        body += stream.read(min(size, MAX_BODY))
        _read_line(stream)  # the CRLF after each chunk
        if len(body) > MAX_BODY:
            raise ValueError("body too large")


def _plain_response(status: str, text: str, extra: str = "") -> bytes:
    body = text.encode("utf-8")
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1") + body


class _LoopbackServer:
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

    def __enter__(self) -> _LoopbackServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- CRLF response splitting -------------------------------------------------------


def lang_header_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """UNSAFE ON PURPOSE: copies the ``lang`` query value into a response header.

    ``parse_qs`` decodes ``%0d%0a`` into a real CR LF, so ``?lang=en%0d%0aSet-Cookie:
    ...`` puts a line break into the header value; a server that writes headers
    without checking them then sends a second, forged header. Fix: never put a
    value from the request into a header unchecked: refuse control characters
    (:func:`lang_header_app_fixed`), better still accept only known values.
    """
    lang = parse_qs(environ.get("QUERY_STRING", "")).get("lang", ["en"])[0]
    body = f"Page in language {lang!r}\n".encode()
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Language", lang),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]


KNOWN_LANGUAGES = ("en", "fr", "de", "es", "it", "nl")


def lang_header_app_fixed(
    environ: dict[str, Any], start_response: Callable[..., Any]
) -> list[bytes]:
    """The fix: only a known language code reaches the header; anything else is a 400."""
    lang = parse_qs(environ.get("QUERY_STRING", "")).get("lang", ["en"])[0]
    if lang not in KNOWN_LANGUAGES:
        body = f"Unknown language {lang!r}; use one of {', '.join(KNOWN_LANGUAGES)}.\n".encode()
        start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8")])
        return [body]
    return lang_header_app(environ, start_response)


class NaiveHTTPServer(_LoopbackServer):
    """UNSAFE ON PURPOSE: serves a WSGI app and writes its headers without any check.

    Each header becomes ``name + ": " + value + CRLF`` on the wire, so a value
    holding CR LF ends the header early and starts a new one: response
    splitting. One request per connection (``Connection: close``). Fix: refuse
    header names and values with control characters before writing, as h11
    (uvicorn) and the course's mini servers do (RFC 9110 section 5.5).
    """

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        super().__init__()

    def handle(self, conn: socket.socket, stream: BinaryIO) -> None:
        request = _read_head(stream)
        if request is None:
            return
        body = _read_by_length(stream, request)
        path, _, query = request.target.partition("?")
        environ = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": str(self.port),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": io.StringIO(),
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            started[:] = [status, headers]
            return lambda data: None

        result = self.app(environ, start_response)
        try:
            data = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        status, headers = started
        head = f"HTTP/1.1 {status}\r\n"
        for name, value in headers:
            head += f"{name}: {value}\r\n"  # <- the mistake: no check for CR or LF
        head += "Connection: close\r\n\r\n"
        conn.sendall(head.encode("latin-1") + data)


# -- log injection -----------------------------------------------------------------


def log_line_naive(environ: dict[str, Any], status: str) -> str:
    """UNSAFE ON PURPOSE: the decoded path goes into the log line as it is.

    ``PATH_INFO`` is percent-decoded, so ``%0a`` in the URL becomes a real
    newline, and the rest of the path reads as a second, forged log line.
    Fix: :func:`log_line_safe`, which escapes every control character.
    """
    method = environ.get("REQUEST_METHOD", "")
    return f"{environ.get('REMOTE_ADDR', '-')} {method} {environ.get('PATH_INFO', '')} {status[:3]}"


def _escaped(text: str) -> str:
    """Control characters (and backslashes) as escapes: one request, one line, always."""
    return "".join(
        c if c.isprintable() and c != "\\" else c.encode("unicode_escape").decode("ascii")
        for c in text
    )


def log_line_safe(environ: dict[str, Any], status: str) -> str:
    """The fix: the same line, with the path's control characters escaped (``\\n``)."""
    method = _escaped(environ.get("REQUEST_METHOD", ""))
    path = _escaped(environ.get("PATH_INFO", ""))
    return f"{environ.get('REMOTE_ADDR', '-')} {method} {path} {status[:3]}"


class NaiveAccessLog:
    """UNSAFE ON PURPOSE: WSGI middleware that logs with :func:`log_line_naive`.

    ``log`` is a text stream (a file, ``sys.stderr``, an ``io.StringIO``).
    Fix: :class:`SafeAccessLog`.
    """

    line = staticmethod(log_line_naive)

    def __init__(self, app: WSGIApp, log: io.TextIOBase) -> None:
        self.app = app
        self.log = log

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        def logging_start_response(status: str, headers: Any, exc_info: Any = None):
            self.log.write(self.line(environ, status) + "\n")
            return start_response(status, headers, exc_info)

        return self.app(environ, logging_start_response)


class SafeAccessLog(NaiveAccessLog):
    """The fix: the same middleware, logging with :func:`log_line_safe`."""

    line = staticmethod(log_line_safe)


# -- path traversal ----------------------------------------------------------------


def _send_file(path: str, start_response: Callable[..., Any]) -> list[bytes]:
    if not os.path.isfile(path):
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"Not found\n"]
    with open(path, "rb") as file:
        data = file.read(MAX_BODY)
    start_response(
        "200 OK",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))],
    )
    return [data]


def naive_static_app(folder: str | os.PathLike[str]) -> WSGIApp:
    """UNSAFE ON PURPOSE: a static-file app that joins the URL path to ``folder``.

    ``PATH_INFO`` is already percent-decoded, so both ``/../secret`` and
    ``/%2e%2e/secret`` become ``folder/../secret``: a file outside the folder.
    Fix: :func:`safe_static_app` resolves the path and checks it is still inside.
    """
    root = os.fspath(folder)

    def static(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path = os.path.join(root, environ.get("PATH_INFO", "").lstrip("/"))  # <- the mistake
        return _send_file(path, start_response)

    return static


def safe_static_app(folder: str | os.PathLike[str]) -> WSGIApp:
    """The fix: resolve the path (``realpath`` follows ``..`` and symbolic links),
    then check with ``commonpath`` that it is still inside the folder; else 403."""
    root = os.path.realpath(folder)

    def static(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        wanted = os.path.realpath(os.path.join(root, environ.get("PATH_INFO", "").lstrip("/")))
        if "\x00" in wanted or os.path.commonpath([root, wanted]) != root:
            start_response("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"Forbidden: that path leads outside the served folder.\n"]
        return _send_file(wanted, start_response)

    return static


# -- request smuggling -------------------------------------------------------------


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


class NaiveBackend(_LoopbackServer):
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
                request = _read_head(stream)
            except TimeoutError:
                return
            if request is None:
                return
            if "chunked" in (request.header("Transfer-Encoding") or "").lower():
                _read_chunked(stream)
            else:
                _read_by_length(stream, request)
            self.served.append((request.method, request.target))
            if request.target.startswith("/admin"):
                text = "ADMIN PAGE: the private data no visitor should see"
            else:
                text = f"public page for {request.method} {request.target}"
            conn.sendall(_plain_response("200 OK", text))


class NaiveFront(_LoopbackServer):
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
        request = _read_head(stream)
        if request is None:
            return
        has_te = request.header("Transfer-Encoding") is not None
        if self.strict and has_te and request.header("Content-Length") is not None:
            conn.sendall(
                _plain_response(
                    "400 Bad Request", "Refused: both Content-Length and Transfer-Encoding.\n"
                )
            )
            return
        body = _read_by_length(stream, request)  # <- the mistake: Content-Length only
        if request.target.startswith("/admin"):
            conn.sendall(_plain_response("403 Forbidden", "The front refuses /admin.\n"))
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
        line = _read_line(stream)
        lines.append(line)
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    return b"".join(lines) + stream.read(min(length, MAX_BODY))
