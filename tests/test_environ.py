"""gateway_lab.interface.environ: one request in three dialects (CGI, WSGI, ASGI)."""

from __future__ import annotations

import sys
from typing import Any
from wsgiref.validate import validator

import pytest

from gateway_lab.interface.environ import cgi_variables, make_environ, make_http_scope
from gateway_lab.protocol.calls import call_wsgi


def test_cgi_variables_follow_rfc3875():
    variables = cgi_variables(
        "post",
        "/a%20b?x=1&y=2",
        [
            ("Content-Type", "text/plain"),
            ("X-Thing", "1"),
            ("X-Thing", "2"),
            ("Content-Length", "4"),
        ],
    )
    assert variables["REQUEST_METHOD"] == "POST"
    assert variables["PATH_INFO"] == "/a b"
    assert variables["QUERY_STRING"] == "x=1&y=2"
    assert variables["CONTENT_TYPE"] == "text/plain"
    assert variables["CONTENT_LENGTH"] == "4"
    assert variables["HTTP_X_THING"] == "1, 2"
    assert variables["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert "HTTP_CONTENT_TYPE" not in variables
    assert all(isinstance(v, str) for v in variables.values())


def test_proxy_header_never_becomes_http_proxy():
    variables = cgi_variables("GET", "/", {"Proxy": "http://evil.example:8080"})
    assert "HTTP_PROXY" not in variables
    assert "http://evil.example:8080" not in variables.values()


def test_environ_passes_wsgiref_validator():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"] or 0))]

    assert call_wsgi(validator(app), "POST", "/", {"X-A": "b"}, b"body").body == b"body"


def test_non_ascii_path_in_environ_and_scope():
    environ = make_environ("GET", "/caf%C3%A9")
    scope = make_http_scope("GET", "/caf%C3%A9")
    assert environ["PATH_INFO"] == "/caf\u00c3\u00a9"  # UTF-8 bytes shown as latin-1
    assert environ["PATH_INFO"].encode("latin-1").decode("utf-8") == "/café"
    assert scope["path"] == "/café"
    assert scope["raw_path"] == b"/caf%C3%A9"


def test_scope_keeps_bytes_as_bytes():
    scope = make_http_scope("get", "/p?q=1", {"X-Up": "A"})
    assert scope["type"] == "http" and scope["method"] == "GET"
    assert scope["query_string"] == b"q=1"
    assert scope["headers"] == [(b"x-up", b"A")]
    assert scope["asgi"]["version"] == "3.0"


def test_underscore_header_cannot_pass_for_a_dash_header():
    variables = cgi_variables("GET", "/", [("X-User", "real"), ("X_User", "forged")])
    assert variables["HTTP_X_USER"] == "real"


def test_errors_stream_has_what_pep_3333_asks_even_when_stderr_lacks_writelines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A browser kernel's stderr has no writelines; wsgiref.validate must still pass."""
    written: list[str] = []

    class WriteOnly:
        def write(self, text: str) -> int:
            written.append(text)
            return len(text)

    monkeypatch.setattr(sys, "stderr", WriteOnly())
    errors = make_environ()["wsgi.errors"]
    errors.writelines(["one\n", "two\n"])
    errors.flush()
    assert written == ["one\n", "two\n"]

    def app(environ: dict, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    assert call_wsgi(validator(app)).status == 200
