"""From an HTTP request to CGI meta-variables, a WSGI environ and an ASGI scope.

Theory of operation: the three interfaces describe the same request in three
dialects, and this module is the phrase book.

* CGI (RFC 3875 section 4.1) passes *meta-variables*, all strings:
  ``REQUEST_METHOD``, ``PATH_INFO``, ``QUERY_STRING``, ``CONTENT_LENGTH``...
  and every request header as ``HTTP_NAME`` (upper case, ``-`` becomes
  ``_``). One header is never passed: ``Proxy``. As ``HTTP_PROXY`` it would
  look exactly like the ``HTTP_PROXY`` setting that HTTP clients read, so a
  request could redirect a script's outgoing traffic ("httpoxy", 2016).
  Header names containing ``_`` are dropped too: ``X_User`` would otherwise
  pass for ``X-User``.
* WSGI (PEP 3333) keeps those keys and adds ``wsgi.*`` ones. Its strings are
  "bytes in disguise": ``PATH_INFO`` is the percent-decoded path, decoded as
  latin-1, so that every byte maps to exactly one character.
* ASGI keeps bytes as bytes: ``raw_path`` and ``query_string`` are bytes,
  headers are a list of ``[name, value]`` byte pairs with lower-case names;
  ``path`` is the percent-decoded path as UTF-8 text.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

from gateway_lab.types import Environ

__all__ = [
    "HeadersLike",
    "cgi_variables",
    "header_pairs",
    "make_environ",
    "make_http_scope",
    "split_target",
]

HeadersLike = Mapping[str, str] | Iterable[tuple[str, str]] | None

SERVER_NAME = "127.0.0.1"
SERVER_PORT = 80
REMOTE_ADDR = "127.0.0.1"


def header_pairs(headers: HeadersLike) -> list[tuple[str, str]]:
    """Headers given as a dict or a list of pairs, as a list of (name, value)."""
    if headers is None:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    pairs = []
    for name, value in items:
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        pairs.append((str(name), str(value)))
    return pairs


def split_target(target: str) -> tuple[str, str]:
    """'/a%20b?x=1' -> ('/a%20b', 'x=1'): the raw path and the query string."""
    path, _, query = target.partition("?")
    return (path or "/"), query


def cgi_variables(
    method: str,
    target: str,
    headers: HeadersLike = None,
    content_length: int | None = None,
    *,
    script_name: str = "",
    server_name: str = SERVER_NAME,
    server_port: int = SERVER_PORT,
    remote_addr: str = REMOTE_ADDR,
    protocol: str = "HTTP/1.1",
) -> dict[str, str]:
    """The RFC 3875 meta-variables for a request (all values are str)."""
    raw_path, query = split_target(target)
    variables = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "REQUEST_METHOD": method.upper(),
        "SCRIPT_NAME": script_name,
        "PATH_INFO": unquote_to_bytes(raw_path).decode("latin-1"),
        "QUERY_STRING": query,
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(server_port),
        "SERVER_PROTOCOL": protocol,
        "SERVER_SOFTWARE": "gateway-lab",
        "REMOTE_ADDR": remote_addr,
    }
    for name, value in header_pairs(headers):
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            variables["CONTENT_TYPE"] = value
        elif key == "CONTENT_LENGTH":
            variables["CONTENT_LENGTH"] = value
        elif key == "PROXY":
            continue  # httpoxy: a request header must never become HTTP_PROXY
        elif "_" in name:
            # "X_User" and "X-User" would both become HTTP_X_USER, so a client
            # could forge a header a proxy set; nginx and Apache drop these too.
            continue
        else:
            key = "HTTP_" + key
            variables[key] = f"{variables[key]}, {value}" if key in variables else value
    if content_length is not None and "CONTENT_LENGTH" not in variables:
        variables["CONTENT_LENGTH"] = str(content_length)
    return variables


class ErrorsToStderr:
    """``sys.stderr`` with the three methods PEP 3333 asks of ``wsgi.errors``.

    A browser kernel's stderr has ``write`` but no ``writelines``; wsgiref.validate
    (and any app that calls it) would stop there.
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            sys.stderr.write(line)

    def flush(self) -> None:
        flush = getattr(sys.stderr, "flush", None)
        if flush is not None:
            flush()


def make_environ(
    method: str = "GET",
    target: str = "/",
    headers: HeadersLike = None,
    body: bytes = b"",
    **options: Any,
) -> Environ:
    """A complete PEP 3333 environ for an in-process call (no socket)."""
    environ: Environ = dict(
        cgi_variables(method, target, headers, len(body) if body else None, **options)
    )
    environ.update(
        {
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr if hasattr(sys.stderr, "writelines") else ErrorsToStderr(),
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
    )
    return environ


def make_http_scope(
    method: str = "GET",
    target: str = "/",
    headers: HeadersLike = None,
    *,
    server: tuple[str, int] = (SERVER_NAME, SERVER_PORT),
    client: tuple[str, int] = (REMOTE_ADDR, 50000),
    root_path: str = "",
) -> dict[str, Any]:
    """An ASGI 3 ``http`` scope for an in-process call (no socket)."""
    raw_path, query = split_target(target)
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method.upper(),
        "scheme": "http",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode("latin-1", "replace"),
        "query_string": query.encode("latin-1", "replace"),
        "root_path": root_path,
        "headers": [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in header_pairs(headers)
        ],
        "server": server,
        "client": client,
        "state": {},
    }
