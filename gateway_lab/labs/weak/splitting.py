"""CRLF response splitting: a query value copied into a header, on a server that checks nothing.

Theory of operation: two mistakes have to meet. :func:`lang_header_app` puts
the decoded ``lang`` query value into ``Content-Language``;
:class:`NaiveHTTPServer` writes every header as ``name: value`` CRLF with
no check. A value holding CR LF then ends its header early and starts one
the attacker wrote. Either fix stops the attack: the app accepts only known
values (:func:`lang_header_app_fixed`), and a real server (h11, uvicorn, the
course's mini servers) refuses control characters in header values.
"""

from __future__ import annotations

import io
import socket
from typing import Any, BinaryIO
from urllib.parse import parse_qs

from gateway_lab.labs.weak.rawserver import LoopbackServer, read_by_length, read_head
from gateway_lab.types import Environ, ExcInfo, StartResponse, Write, WSGIApp

__all__ = ["KNOWN_LANGUAGES", "NaiveHTTPServer", "lang_header_app", "lang_header_app_fixed"]

KNOWN_LANGUAGES = ("en", "fr", "de", "es", "it", "nl")


def lang_header_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
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


def lang_header_app_fixed(environ: Environ, start_response: StartResponse) -> list[bytes]:
    """The fix: only a known language code reaches the header; anything else is a 400."""
    lang = parse_qs(environ.get("QUERY_STRING", "")).get("lang", ["en"])[0]
    if lang not in KNOWN_LANGUAGES:
        body = f"Unknown language {lang!r}; use one of {', '.join(KNOWN_LANGUAGES)}.\n".encode()
        start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8")])
        return [body]
    return lang_header_app(environ, start_response)


class NaiveHTTPServer(LoopbackServer):
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
        request = read_head(stream)
        if request is None:
            return
        body = read_by_length(stream, request)
        path, _, query = request.target.partition("?")
        environ: Environ = {
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

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: ExcInfo = None
        ) -> Write:
            started[:] = [status, headers]
            return lambda data: None

        result = self.app(environ, start_response)
        try:
            data = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = started
        head = f"HTTP/1.1 {status}\r\n"
        for name, value in headers:
            head += f"{name}: {value}\r\n"  # <- the mistake: no check for CR or LF
        head += "Connection: close\r\n\r\n"
        conn.sendall(head.encode("latin-1") + data)
