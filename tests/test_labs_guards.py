"""gateway_lab.labs.guards: the guards' cost per call, and WSGI engines served bare.

The CRLF tests measure what notebook 09's security lab says about each engine:
through ``gl.serve_wsgi`` the course's guard refuses a header value with a line
break whatever the engine; bare, werkzeug (the version the course pins) sends
the forged header, wsgiref does what this Python's ``wsgiref.headers`` does
(CPython rejects control characters there since gh-143916), and the mini
WSGI server refuses on its own. No timing assertions: counts and order only.
"""

from __future__ import annotations

import asyncio
import re
import socket
import wsgiref.handlers
import wsgiref.headers

import pytest

import gateway_lab as gl
from gateway_lab.labs.guards import GuardCost, guard_costs, serve_bare_wsgi
from gateway_lab.labs.perf import Timings
from gateway_lab.labs.weak import lang_header_app
from gateway_lab.labs.wire import send_raw

ATTACK = "?lang=en%0d%0aSet-Cookie:%20session=attacker"
REQUEST = f"GET /{ATTACK} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
FORGED = b"\r\nset-cookie: session=attacker\r\n"


def hello_wsgi(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"hi"]


async def hello_asgi(scope, receive, send):
    if scope["type"] != "http":
        raise RuntimeError(f"unsupported scope type {scope['type']!r}")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hi"})


def forged(raw: bytes) -> bool:
    return FORGED in raw.split(b"\r\n\r\n")[0].lower() + b"\r\n"


def refused_with_500(raw: bytes) -> bool:
    return re.match(rb"HTTP/\d(\.\d)? 500 ", raw) is not None and not forged(raw)


def stdlib_rejects_crlf() -> bool:
    """Whether this Python's wsgiref.headers has the gh-143916 check."""
    try:
        wsgiref.headers.Headers([("Content-Language", "en\r\nSet-Cookie: x")])
    except ValueError:
        return True
    return False


# -- guard_costs ------------------------------------------------------------------------------


def test_guard_costs_times_each_interface_bare_and_guarded():
    costs = asyncio.run(guard_costs(hello_wsgi, hello_asgi, 20, warmup=2))
    assert [c.interface for c in costs] == ["WSGI", "ASGI"]
    assert [c.guard for c in costs] == ["WSGIGuard", "ASGIGuard"]
    for cost in costs:
        assert cost.bare.count == cost.guarded.count == 20
        assert all(s >= 0 for s in cost.bare.seconds + cost.guarded.seconds)
        assert "the guard adds" in str(cost) and "20 times each" in str(cost)


def test_guard_cost_overhead_is_the_difference_of_the_medians():
    cost = GuardCost("WSGI", "WSGIGuard", Timings([1e-6, 3e-6, 2e-6]), Timings([5e-6] * 3))
    assert cost.overhead == pytest.approx(3e-6)
    assert "adds 3.0 µs per call" in str(cost)


@pytest.mark.parametrize("count", [0, 1.5])
def test_guard_costs_refuses_bad_sizes(count):
    with pytest.raises(ValueError):
        asyncio.run(guard_costs(hello_wsgi, hello_asgi, count))


def test_guard_costs_refuses_an_app_that_fails():
    def broken(environ, start_response):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        asyncio.run(guard_costs(broken, hello_asgi, 3))


# -- serve_bare_wsgi --------------------------------------------------------------------------


def test_a_bare_server_is_on_loopback_unregistered_and_stops():
    with serve_bare_wsgi(hello_wsgi, "wsgiref") as bare:
        assert bare.url == f"http://127.0.0.1:{bare.port}/"
        assert bare.engine == "wsgiref"
        assert not any(s.port == bare.port for s in gl.servers().values())
        raw = send_raw(bare.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert raw.startswith(b"HTTP/1.0 200") and raw.endswith(b"hi")
    with pytest.raises(OSError):  # the port is closed once the block ends
        socket.create_connection(("127.0.0.1", bare.port), timeout=1).close()


def test_a_bare_server_keeps_its_log_off_the_screen(capsys):
    with serve_bare_wsgi(hello_wsgi, "werkzeug") as bare:
        send_raw(bare.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    captured = capsys.readouterr()
    assert captured.out == captured.err == ""
    assert any("GET / " in line for line in bare.log.messages)


def test_only_known_engines_and_callables():
    with pytest.raises(ValueError, match="werkzeug"):
        with serve_bare_wsgi(hello_wsgi, "uvicorn"):
            pass
    with pytest.raises(TypeError):
        with serve_bare_wsgi("not an app", "wsgiref"):  # type: ignore[arg-type]
            pass


# -- what notebook 09 says about CRLF in a header ---------------------------------------------


@pytest.mark.parametrize("engine", ["werkzeug", "wsgiref", "mini"])
def test_the_guard_refuses_the_forged_header_whatever_the_engine(engine):
    server = gl.serve_wsgi(lang_header_app, name="test-crlf-guard", engine=engine)
    try:
        raw = send_raw(server.port, REQUEST)
    finally:
        server.stop()
    assert refused_with_500(raw), raw[:200]
    if engine == "wsgiref":
        assert raw.startswith(b"HTTP/1.0 500 ")  # the notebook's classifier must accept 1.0


def test_bare_werkzeug_sends_the_forged_header():
    with serve_bare_wsgi(lang_header_app, "werkzeug") as bare:
        raw = send_raw(bare.port, REQUEST)
    assert forged(raw), raw[:300]


def test_bare_wsgiref_does_what_this_pythons_wsgiref_headers_does():
    with serve_bare_wsgi(lang_header_app, "wsgiref") as bare:
        raw = send_raw(bare.port, REQUEST)
    if stdlib_rejects_crlf():
        assert refused_with_500(raw), raw[:300]
    else:
        assert forged(raw), raw[:300]


def test_bare_wsgiref_with_the_cpython_fix_answers_500(monkeypatch):
    """What the lesson says of a Python with the fix, shown on any Python: a 500."""

    class CheckedHeaders(wsgiref.headers.Headers):
        def __init__(self, headers=None):
            for name, value in headers or []:
                if re.search(r"[\x00-\x08\x0a-\x1f\x7f]", name + value):
                    raise ValueError("Control characters not allowed in headers")
            super().__init__(headers)

    monkeypatch.setattr(wsgiref.handlers.BaseHandler, "headers_class", CheckedHeaders)
    with serve_bare_wsgi(lang_header_app, "wsgiref") as bare:
        raw = send_raw(bare.port, REQUEST)
    assert raw.startswith(b"HTTP/1.0 500 ") and not forged(raw), raw[:300]


def test_the_mini_wsgi_server_refuses_even_bare():
    with serve_bare_wsgi(lang_header_app, "mini") as bare:
        raw = send_raw(bare.port, REQUEST)
    assert refused_with_500(raw), raw[:300]
