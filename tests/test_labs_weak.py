"""gateway_lab.labs.weak: each weak piece really is weak, and each fix really fixes it."""

from __future__ import annotations

import io

import httpx
import pytest

import gateway_lab as gl
from gateway_lab.labs.weak import (
    NaiveAccessLog,
    NaiveBackend,
    NaiveFront,
    NaiveHTTPServer,
    SafeAccessLog,
    lang_header_app,
    lang_header_app_fixed,
    log_line_naive,
    log_line_safe,
    naive_static_app,
    safe_static_app,
    smuggling_request,
)
from gateway_lab.labs.wire import read_response, send_raw

ATTACK = "?lang=en%0d%0aSet-Cookie:%20session=attacker"


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


# -- CRLF ---------------------------------------------------------------------------


def test_naive_server_lets_a_header_value_split_the_response():
    with NaiveHTTPServer(lang_header_app) as server:
        response = httpx.get(server.url + ATTACK)
    assert response.headers["set-cookie"] == "session=attacker"
    assert response.headers["content-language"] == "en"


def test_naive_server_serves_an_ordinary_request():
    with NaiveHTTPServer(lang_header_app) as server:
        response = httpx.get(server.url + "?lang=de")
    assert response.status_code == 200 and response.text == "Page in language 'de'\n"


def test_fixed_app_refuses_what_is_not_a_known_language():
    with NaiveHTTPServer(lang_header_app_fixed) as server:
        refused = httpx.get(server.url + ATTACK)
        fine = httpx.get(server.url + "?lang=fr")
    assert refused.status_code == 400 and "set-cookie" not in refused.headers
    assert fine.status_code == 200 and fine.headers["content-language"] == "fr"


def test_the_checker_flags_the_weak_app_and_passes_the_fixed_one():
    probes = [gl.Probe("GET", "/" + ATTACK)]
    assert "wsgi.header-crlf" in [f.rule for f in gl.check_wsgi(lang_header_app, probes).findings]
    assert gl.check_wsgi(lang_header_app_fixed, probes).ok


def test_mini_server_refuses_the_split_header():
    server = gl.serve_wsgi(lang_header_app, name="test-weak-crlf", engine="mini")
    try:
        raw = send_raw(
            server.port,
            f"GET /{ATTACK} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode(),
        )
    finally:
        server.stop()
    response, _ = read_response(raw)
    assert response.status == 500 and "set-cookie" not in response.header_names()


# -- log injection --------------------------------------------------------------------

FORGED_PATH = "/hello 200\n127.0.0.1 GET /admin"


def test_naive_log_line_can_be_forged_and_the_safe_one_cannot():
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": FORGED_PATH, "REMOTE_ADDR": "127.0.0.1"}
    assert log_line_naive(environ, "200 OK").splitlines() == [
        "127.0.0.1 GET /hello 200",
        "127.0.0.1 GET /admin 200",
    ]
    safe = log_line_safe(environ, "200 OK")
    assert "\n" not in safe and "\\n" in safe
    assert log_line_safe({**environ, "PATH_INFO": "/a\\b\x1b"}, "200") == (
        "127.0.0.1 GET /a\\\\b\\x1b 200"
    )


@pytest.mark.parametrize(("middleware", "lines"), [(NaiveAccessLog, 2), (SafeAccessLog, 1)])
def test_access_log_middleware_over_loopback(middleware, lines):
    log = io.StringIO()
    server = gl.serve_wsgi(middleware(hello, log), name="test-weak-log")
    try:
        assert httpx.get(server.url + "hello%20200%0A127.0.0.1%20GET%20/admin").text == "hello"
    finally:
        server.stop()
    assert len(log.getvalue().splitlines()) == lines


# -- path traversal -------------------------------------------------------------------


@pytest.fixture
def folders(tmp_path):
    public = tmp_path / "public"
    public.mkdir()
    (public / "notes.txt").write_text("public notes")
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    (public / "link.txt").symlink_to(tmp_path / "secret.txt")
    return public


def get_status_and_text(app, path):
    response = gl.call_wsgi(app, "GET", path)
    return response.status, response.text


def test_naive_static_app_leaves_its_folder(folders):
    app = naive_static_app(folders)
    assert get_status_and_text(app, "/notes.txt") == (200, "public notes")
    environ = {"PATH_INFO": "/../secret.txt", "REQUEST_METHOD": "GET"}
    captured = []
    body = app(environ, lambda status, headers: captured.append(status))
    assert captured == ["200 OK"] and b"".join(body) == b"TOP SECRET"


def test_safe_static_app_stays_inside(folders):
    app = safe_static_app(folders)
    assert get_status_and_text(app, "/notes.txt") == (200, "public notes")
    assert get_status_and_text(app, "/missing.txt")[0] == 404
    for path in ("/../secret.txt", "/link.txt", "/sub/../../secret.txt"):
        assert status_of(app, path) == "403 Forbidden", path


def status_of(app, path):
    """Call ``app`` with a raw PATH_INFO (call_wsgi would build it from a URL)."""
    captured = []
    b"".join(app({"PATH_INFO": path, "REQUEST_METHOD": "GET"}, lambda s, h: captured.append(s)))
    return captured[0]


def test_percent_encoded_dots_reach_the_naive_app_over_loopback(folders):
    naive = gl.serve_wsgi(naive_static_app(folders), name="test-weak-static")
    safe = gl.serve_wsgi(safe_static_app(folders), name="test-weak-static-safe")
    try:
        assert httpx.get(naive.url + "%2e%2e/secret.txt").text == "TOP SECRET"
        assert httpx.get(safe.url + "%2e%2e/secret.txt").status_code == 403
    finally:
        naive.stop()
        safe.stop()


# -- request smuggling ----------------------------------------------------------------


def test_smuggling_request_is_one_request_by_length_two_by_chunks():
    data = smuggling_request("/admin")
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Content-Length: %d" % len(body) in head and b"Transfer-Encoding: chunked" in head
    assert body.startswith(b"0\r\n\r\nGET /admin HTTP/1.1\r\n")


def test_naive_front_and_back_end_disagree_and_smuggle():
    backend = NaiveBackend()
    front = NaiveFront(backend.port)
    try:
        assert httpx.get(front.url + "admin").status_code == 403
        attacker, rest = read_response(send_raw(front.port, smuggling_request()))
        victim = httpx.get(front.url)
    finally:
        front.stop()
        backend.stop()
    assert attacker.status == 200 and rest == b""
    assert "ADMIN PAGE" in victim.text
    assert front.forwarded == [("POST", "/"), ("GET", "/")]
    assert backend.served == [("POST", "/"), ("GET", "/admin"), ("GET", "/")]


def test_strict_front_refuses_both_headers():
    backend = NaiveBackend()
    front = NaiveFront(backend.port, strict=True)
    try:
        refused, _ = read_response(send_raw(front.port, smuggling_request()))
        victim = httpx.get(front.url)
    finally:
        front.stop()
        backend.stop()
    assert refused.status == 400
    assert victim.text == "public page for GET /"
    assert backend.served == [("GET", "/")]


def test_front_forwards_an_ordinary_post():
    backend = NaiveBackend()
    front = NaiveFront(backend.port)
    try:
        response = httpx.post(front.url + "form", content=b"a=1")
    finally:
        front.stop()
        backend.stop()
    assert response.text == "public page for POST /form"


@pytest.mark.parametrize("engine", ["mini"])
def test_mini_servers_answer_400_to_both_headers(engine):
    servers = [
        gl.serve_wsgi(hello, name="test-weak-smuggle-wsgi", engine=engine),
        gl.serve_asgi(_hello_asgi, name="test-weak-smuggle-asgi", engine=engine),
    ]
    try:
        for server in servers:
            response, rest = read_response(send_raw(server.port, smuggling_request()))
            assert response.status == 400 and rest == b"", server
    finally:
        for server in servers:
            server.stop()


async def _hello_asgi(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


def test_a_weak_server_survives_garbage_and_records_it():
    with NaiveHTTPServer(lang_header_app) as server:
        assert send_raw(server.port, b"nonsense\r\n\r\n") == b""
        assert httpx.get(server.url).status_code == 200
    assert server.errors and "ValueError" in server.errors[0]
