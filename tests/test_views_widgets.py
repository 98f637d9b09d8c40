"""gateway_lab.views.widgets: widget state builds without a frontend, HTML rides along."""

from __future__ import annotations

import threading

import pytest

import gateway_lab as gl
from gateway_lab.events.flow import Flow
from gateway_lab.views.widgets import Batcher, FlowView, HTMLView, RequestLab

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello ", environ["PATH_INFO"].encode("latin-1")]


async def hello_asgi(scope, receive, send):
    await receive()
    await send({"type": "http.response.start", "status": 201, "headers": []})
    await send({"type": "http.response.body", "body": scope["path"].encode()})


@pytest.fixture(autouse=True)
def _no_leftover_servers():
    yield
    gl.stop_all()


@pytest.fixture
def recorded_flow():
    recorded, flow = gl.record_wsgi(hello)
    gl.call_wsgi(recorded, path="/first")
    return recorded, flow


def test_every_view_carries_an_html_fallback_in_its_mime_bundle(recorded_flow):
    _, flow = recorded_flow
    views = [
        gl.show_environ(flow),
        gl.diff_environ(gl.make_environ(), flow),
        gl.path_story("/café"),
        gl.show_flow(flow, live=False),
        gl.request_lab(hello),
    ]
    for view in views:
        bundle = view._repr_mimebundle_()
        assert WIDGET_VIEW in bundle
        assert bundle["text/html"].startswith("<div")
        assert len(bundle["text/plain"]) < 120
        view.close()


def test_a_closed_widget_shows_nothing(recorded_flow):
    view = gl.show_environ(recorded_flow[1])
    view.close()
    assert view._repr_mimebundle_ is None


def test_inspector_widget_shows_the_same_picture_as_its_html(recorded_flow):
    view = gl.show_environ(recorded_flow[1])
    assert isinstance(view, HTMLView)
    assert view.children[0].value == view._repr_mimebundle_()["text/html"]
    assert "PATH_INFO" in view.children[0].value and "/first" in view.children[0].value


def test_flow_view_builds_its_controls_and_pages():
    flow = Flow("long")
    for n in range(250):
        flow.add("server", "app", "receive", {"type": "http.request", "n": n}, 1)
    view = FlowView(flow, page_size=100, live=False)
    assert view.position.value == "events 1-100 of 250"  # a finished flow: from the start
    assert view.previous.disabled and not view.next.disabled
    view.last.click()
    assert view.position.value == "events 201-250 of 250"
    assert view.next.disabled and not view.previous.disabled
    view.follow.value = True
    flow.add("server", "app", "receive", {"type": "http.disconnect"}, 1)
    view.refresh()
    assert view.position.value == "events 201-251 of 251"  # following: the newest page
    view.go(0)
    assert view.position.value == "events 1-100 of 251"
    assert view.follow.value is False  # paging back stops following
    assert view.diagram.value.count("<details>") == 100
    view.next.click()
    assert view.position.value == "events 101-200 of 251"
    assert view.connection.layout.display == "none"  # one connection: no picker
    assert "251 events" in view.diagram.value
    view.close()


def test_flow_view_controls_wrap_in_a_narrow_output_and_details_open_below_arrows():
    recorded, flow = gl.record_wsgi(hello)
    gl.call_wsgi(recorded)
    view = gl.show_flow(flow, live=False)
    try:
        controls = view.children[0]
        assert controls.layout.flex_flow == "row wrap"  # never clipped by a side panel
        picture = view.diagram.value
        assert picture.count("<details>") == len(flow)
        assert all(
            "<pre" in part.split("</summary>", 1)[1] for part in picture.split("<details>")[1:]
        )
    finally:
        view.close()


def test_flow_view_lets_you_pick_a_connection():
    recorded, flow = gl.record_wsgi(hello)
    for path in ("/a", "/b", "/c"):
        gl.call_wsgi(recorded, path=path)
    view = gl.show_flow(flow, live=False)
    assert [label for label, _ in view.connection.options] == [
        "all connections",
        "#1 GET /a",
        "#2 GET /b",
        "#3 GET /c",
    ]
    assert view.connection.layout.display is None
    view.connection.value = 2
    assert "connection #2: GET /b" in view.diagram.value
    assert "GET /a" not in view.diagram.value
    view.close()


def test_live_updates_are_batched_and_stop_when_closed():
    flow = Flow("stream")
    view = FlowView(flow, interval=60)  # a long interval: nothing runs on its own
    for n in range(10_000):
        flow.add("app", "server", "send", {"type": "http.response.body", "n": n}, 1)
    assert view.batcher.runs == 0  # ten thousand events, no redraw yet
    view.batcher.flush()
    assert view.batcher.runs == 1
    assert view.position.value == "events 9,901-10,000 of 10,000"
    assert view.diagram.value.count("<details>") == 100
    view.close()
    flow.add("app", "server", "send", {"type": "http.response.body"}, 1)
    assert view.batcher._timer is None  # unsubscribed: no timer started


def test_batcher_coalesces_pokes_from_many_threads():
    ran = threading.Event()
    batcher = Batcher(ran.set, interval=0.01)
    threads = [
        threading.Thread(target=lambda: [batcher.poke() for _ in range(500)]) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ran.wait(2)
    assert batcher.runs < 50  # 2,000 pokes, a handful of runs


def test_request_lab_calls_a_wsgi_app_in_process():
    lab = gl.request_lab(hello, path="/lab")
    assert isinstance(lab, RequestLab)
    lab.method.value = "POST"
    lab.query.value = "x=1"
    lab.headers.value = "X-Test: yes\n\nAccept: text/plain"
    lab.body.value = "payload"
    result = lab.send()
    assert result.response.text == "hello /lab"
    assert result.request["HTTP_X_TEST"] == "yes"
    assert result.request["QUERY_STRING"] == "x=1"
    assert result.request["REQUEST_METHOD"] == "POST"
    assert [e.kind for e in result.flow][0] == "request"
    assert [e.kind for e in result.flow][-1] == "response"
    assert result.flow.lanes == ["client", "server", "app"]
    assert "200 OK" in lab.response_view.value
    assert "HTTP_X_TEST" in lab.request_view.value
    assert "request POST /lab?x=1" in lab.flow_view.value
    assert lab.tabs.titles == ("response", "environ / scope", "flow")
    html = lab._repr_mimebundle_()["text/html"]
    assert "hello /lab" in html and "HTTP_X_TEST" in html


def test_request_lab_calls_an_asgi_app_from_inside_a_running_loop():
    import asyncio

    async def inside_a_notebook_cell():
        return gl.request_lab(hello_asgi, path="/café").send()

    result = asyncio.run(inside_a_notebook_cell())
    assert result.response.status == 201
    assert result.response.text == "/café"
    assert result.request_kind == "scope"
    assert result.request["raw_path"] == b"/caf%C3%A9"


def test_request_lab_reports_a_failing_app_and_bad_headers():
    def broken(environ, start_response):
        raise ZeroDivisionError("division by zero")

    lab = gl.request_lab(broken)
    result = lab.send()
    assert result.response is None
    assert "ZeroDivisionError" in result.error
    assert "exception" in [e.kind for e in result.flow]
    assert "ZeroDivisionError" in lab.status.value
    lab.headers.value = "no colon here"
    with pytest.raises(ValueError, match="Name: value"):
        lab.send()
    assert "Name: value" in lab.status.value


@pytest.mark.parametrize("engine", ["werkzeug", "wsgiref"])
def test_request_lab_sends_to_a_served_recorded_app(engine):
    recorded, _ = gl.record_wsgi(hello)
    srv = gl.serve_wsgi(recorded, engine=engine)
    result = gl.request_lab(srv, path="/served").send()
    assert result.response.text == "hello /served"
    kinds = [e.kind for e in result.flow]
    assert kinds[0] == "request" and kinds[-1] == "response"
    assert "environ" in kinds
    assert result.request["PATH_INFO"] == "/served"
    plain = gl.serve_wsgi(hello, name="plain", engine=engine)
    result = gl.request_lab(plain.url, path="/url").send()
    assert result.response.text == "hello /url"
    assert result.request_kind is None
    lab = gl.request_lab(plain)
    lab.send()
    assert "does not record" in lab.request_view.value


def test_an_exported_page_without_widget_state_shows_the_html_fallback(recorded_flow):
    nbformat = pytest.importorskip("nbformat")
    nbconvert = pytest.importorskip("nbconvert")
    outputs = []
    for view in (gl.show_environ(recorded_flow[1]), gl.show_flow(recorded_flow[1], live=False)):
        bundle = view._repr_mimebundle_()
        outputs.append(nbformat.v4.new_output("display_data", data=bundle))
        view.close()
    cell = nbformat.v4.new_code_cell("gl.show_environ(flow)", outputs=outputs)
    notebook = nbformat.v4.new_notebook(cells=[cell])
    page, _ = nbconvert.HTMLExporter().from_notebook_node(notebook)
    assert "PATH_INFO" in page  # the inspector's table
    assert "environ GET /first" in page  # the flow's arrows
