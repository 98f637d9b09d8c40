"""gateway_lab.views.flow: flows drawn as sequence diagrams in plain HTML."""

from __future__ import annotations

import asyncio
import re
import threading
from html.parser import HTMLParser

import pytest

import gateway_lab as gl
from gateway_lab.events.flow import Flow
from gateway_lab.views.flow import flow_html, ordered_lanes, page_html


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"<b>hi</b>"]


def lane_headers(page: str) -> list[str]:
    marker = 'padding:1px 6px;background:#fafafa">'
    return [chunk.split("<", 1)[0] for chunk in page.split(marker)[1:]]


def test_a_recorded_request_is_drawn_with_lanes_arrows_and_payloads():
    recorded, flow = gl.record_wsgi(hello)
    gl.call_wsgi(recorded, path="/x")
    page = flow_html(flow)
    assert lane_headers(page) == ["server", "app"]
    assert page.count("<details>") == len(flow) == 4
    assert "environ GET /x" in page
    assert "start_response 200 OK" in page
    assert "&#9654;" in page and "&#9664;" in page  # both directions drawn
    assert "&lt;b&gt;hi&lt;/b&gt;" in page and "<b>hi</b>" not in page  # bodies escaped
    assert "9 bytes" in page
    assert " ms" in page


def test_stacked_layers_get_one_lane_each_and_client_comes_first():
    def layer(app):
        return lambda environ, start_response: app(environ, start_response)

    inner, _ = gl.record_wsgi(hello)
    outer, flow = gl.record_wsgi(layer(inner), lane="auth")
    gl.call_wsgi(outer)
    flow.add("client", "server", "request", {"summary": "GET /"}, 1)
    assert ordered_lanes(flow) == ["client", "server", "auth", "app"]
    assert lane_headers(flow_html(flow)) == ["client", "server", "auth", "app"]


def test_concurrent_connections_get_a_timeline_and_a_diagram_each():
    recorded, flow = gl.record_wsgi(hello)
    threads = [
        threading.Thread(target=gl.call_wsgi, args=(recorded,), kwargs={"path": f"/{n}"})
        for n in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    page = flow_html(flow)
    assert "3 connections over" in page
    for number in (1, 2, 3):
        assert f"connection #{number}: GET /" in page
    one = flow_html(flow, connection=2)
    assert "connections over" not in one and "connection #2" in one


def test_ten_thousand_events_are_summarised():
    flow = Flow("stream")
    flow.add("server", "app", "scope", {"summary": "http GET /stream"}, 1)
    for n in range(10_000):
        flow.add("app", "server", "send", {"type": "http.response.body", "body": b"%d" % n}, 1)
    page = flow_html(flow)
    assert page.count("<details>") == 200
    assert "9,801 events not shown" in page
    assert "b&#x27;9999&#x27;" in page  # the end is shown
    page = page_html(flow, None, 5000, 50)
    assert page.count("<details>") == 50 and "events 5,001-5,050" in page


def test_many_connections_are_capped():
    flow = Flow("busy")
    for number in range(1, 31):
        flow.add("server", "app", "environ", {"summary": f"GET /{number}"}, number)
    page = flow_html(flow)
    assert "10 more connections" in page
    assert "connection #20" in page and "connection #21:" not in page


def test_a_websocket_session_reads_as_messages_both_ways():
    async def echo(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        message = await receive()
        await send({"type": "websocket.send", "text": message["text"]})
        await receive()

    messages = [
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": "ping"},
        {"type": "websocket.disconnect", "code": 1000},
    ]

    async def receive():
        return messages.pop(0)

    async def send(message):
        return None

    recorded, flow = gl.record_asgi(echo)
    asyncio.run(recorded({"type": "websocket", "path": "/ws", "headers": []}, receive, send))
    page = flow_html(flow)
    for label in (
        "scope websocket /ws",
        "receive websocket.connect",
        "send websocket.accept",
        "send websocket.send",
        "receive websocket.disconnect",
    ):
        assert label in page


def test_a_cgi_flow_is_drawn_with_its_own_lanes():
    flow = Flow("CGI hello.py", ["client", "gateway", "script"])
    flow.add("client", "gateway", "request", {"summary": "GET /hello.py"}, 1)
    flow.add("gateway", "script", "spawn", {"summary": "python hello.py", "pid": 42}, 1)
    flow.add("gateway", "script", "environment", {"environ": {"REQUEST_METHOD": "GET"}}, 1)
    flow.add(
        "script",
        "gateway",
        "stdout",
        {"body": b"Status: 200\r\n", "size": 13, "truncated": False},
        1,
    )
    flow.add("script", "gateway", "exit", {"summary": "exit status 0", "code": 0}, 1)
    flow.add("gateway", "client", "response", {"summary": "200 OK"}, 1)
    page = flow_html(flow)
    assert lane_headers(page) == ["client", "gateway", "script"]
    for label in (
        "spawn python hello.py",
        "environment",
        "stdout",
        "exit exit status 0",
        "response 200 OK",
    ):
        assert label in page


def test_an_empty_flow_says_so():
    assert "No events yet" in flow_html(Flow("nothing"))


class _Tree(HTMLParser):
    """Records, for each <pre>, the tags (with their style) that enclose it."""

    VOID = {"br", "col", "img", "hr", "input", "meta", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[tuple[str, str]] = []
        self.pre_ancestors: list[list[tuple[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        if tag == "pre":
            self.pre_ancestors.append(list(self.open))
        self.open.append((tag, dict(attrs).get("style") or ""))

    def handle_endtag(self, tag):
        while self.open:
            if self.open.pop()[0] == tag:
                break


def _pre_ancestors(page: str) -> list[list[tuple[str, str]]]:
    tree = _Tree()
    tree.feed(page)
    return tree.pre_ancestors


def ping(n):
    if n == 0:
        raise RuntimeError("the real reason, at the very end of a long traceback")
    return pong(n - 1)


def pong(n):
    return ping(n)  # ping and pong take turns: Python cannot fold the frames


def deep_failure(environ, start_response):
    return ping(80)


def test_expanded_details_sit_in_a_full_width_panel_below_the_arrow_not_in_a_lane():
    recorded, flow = gl.record_wsgi(deep_failure)
    with pytest.raises(RuntimeError):
        gl.call_wsgi(recorded, path="/boom")
    page = flow_html(flow)
    assert len(page) > 6000  # a long traceback: the case that used to be cut
    ancestors = _pre_ancestors(page)
    assert len(ancestors) == len(flow) == 2
    for chain in ancestors:
        tags = [tag for tag, _ in chain]
        assert "td" not in tags and "summary" not in tags  # not squeezed into a lane
        assert "details" in tags
        assert not any("grid-column" in style for _, style in chain)
    details = page.split("<details>")[-1]
    arrow, _, panel = details.partition("</summary>")
    assert "exception RuntimeError" in arrow  # the label stays on the arrow
    assert "<pre" in panel and "<pre" not in arrow
    assert "the real reason, at the very end of a long traceback" in panel  # its end is kept
    assert "Traceback (most recent call last)" in panel
    assert "The app raised an exception" in panel


def test_return_arrows_say_return_once_and_the_panel_says_who_returned():
    recorded, flow = gl.record_wsgi(hello)
    gl.call_wsgi(recorded)
    checker = Flow("check", ["server", "app"])
    checker.add("app", "server", "return", {"summary": "returned"}, 1)
    checker.add("app", "server", "return", {"type": "list", "summary": "returned [b'hi']"}, 2)
    for page in (flow_html(flow), flow_html(checker)):
        assert "return returned" not in page
    assert "&#9656; return list<" in flow_html(flow)
    assert "The app returned a list." in flow_html(flow)
    checked = flow_html(checker)
    assert "&#9656; return<" in checked
    assert "&#9656; return [b&#x27;hi&#x27;]<" in checked


def _widths(page: str) -> tuple[int, int]:
    """(widest, narrowest) px of a diagram: time column plus its lanes."""
    columns = re.search(
        r"grid-template-columns:(\d+)px repeat\((\d+),minmax\((\d+)px,(\d+)px\)", page
    )
    assert columns, "the diagram has no grid of lanes"
    time, lanes, narrow, wide = map(int, columns.groups())
    return time + lanes * wide, time + lanes * narrow


def _lanes_flow(lanes: list[str]) -> Flow:
    flow = Flow("stack", list(lanes))
    for source, target in zip(lanes, lanes[1:], strict=False):
        flow.add(source, target, "environ", {"summary": "GET /"}, 1)
    return flow


def test_five_or_six_lanes_fit_in_a_notebook_and_more_scroll_with_headers_in_view():
    five = flow_html(_lanes_flow(["server", "log", "auth", "gzip", "app"]))
    assert lane_headers(five) == ["server", "log", "auth", "gzip", "app"]
    assert _widths(five)[0] <= 900
    assert _widths(five)[1] <= 600  # and they shrink further when a side panel is open
    assert _widths(flow_html(_lanes_flow([f"layer{n}" for n in range(6)])))[0] <= 900
    assert _widths(flow_html(_lanes_flow(["server", "app"])))[0] < 500  # two stay roomy
    wide = flow_html(_lanes_flow([f"layer{n}" for n in range(12)]))
    narrowest = int(re.search(r"min-width:(\d+)px", wide).group(1))
    assert narrowest == _widths(wide)[1] > 900  # too many to fit: the box scrolls sideways
    assert "overflow-x:auto" in wide
    assert "position:sticky;top:0" in wide  # and the lane headers stay in view
