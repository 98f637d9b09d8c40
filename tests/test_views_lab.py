"""gateway_lab.views.lab: one request, sent anywhere, recorded end to end."""

from __future__ import annotations

import pytest

import gateway_lab as gl
from gateway_lab.views.lab import parse_headers, send_request


async def echo_asgi(scope, receive, send):
    message = await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": message.get("body", b"")})


def hello(environ, start_response):
    start_response("200 OK", [])
    return [environ["PATH_INFO"].encode("latin-1")]


@pytest.fixture(autouse=True)
def _no_leftover_servers():
    yield
    gl.stop_all()


def test_parse_headers_reads_name_value_lines():
    assert parse_headers("A: 1\n\n  B :two words \n") == [("A", "1"), ("B", "two words")]
    with pytest.raises(ValueError, match="Name: value"):
        parse_headers(": no name")


def test_a_non_ascii_path_is_sent_percent_encoded_like_a_browser_would():
    result = send_request(hello, path="/café", query="q=é")
    assert result.request["PATH_INFO"] == "/caf\u00c3\u00a9"
    assert result.request["QUERY_STRING"] == "q=%C3%A9"
    assert result.flow.events[0].payload["target"] == "/caf%C3%A9?q=%C3%A9"


def test_an_asgi_app_served_by_uvicorn_and_recorded_shows_its_scope():
    recorded, _ = gl.record_asgi(echo_asgi)
    srv = gl.serve_asgi(recorded)
    result = send_request(srv, "POST", "/echo", body=b"ping")
    assert result.response.body == b"ping"
    assert result.request_kind == "scope"
    assert result.request["path"] == "/echo"
    kinds = [e.kind for e in result.flow]
    assert kinds[0] == "request" and kinds[-1] == "response"
    assert {"scope", "receive", "send"} <= set(kinds)
    assert result.flow.lanes == ["client", "server", "app"]


def test_a_recorder_given_directly_is_not_recorded_twice():
    recorded, own_flow = gl.record_wsgi(hello)
    result = send_request(recorded, path="/once")
    assert [e.kind for e in result.flow].count("environ") == 1
    assert len(own_flow) == 0  # the lab records on its own flow
