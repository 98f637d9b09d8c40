"""gl.check_flow: a conversation recorded on any engine gets the checker's own findings.

Each corpus app (tests/corpus: one mistake each, or valid) is recorded with
gl.record_wsgi / gl.record_asgi while a real engine (werkzeug, uvicorn, the
mini servers), an in-process call (gl.call_wsgi / gl.call_asgi) or the
checker itself talks to it; check_flow of that recording must name the same
rules as check_wsgi / check_asgi of the app, for every rule a recording can
show (check.flow.JUDGED). When the recording shows that the *server*
stopped the app (it raised into it, e.g. call_wsgi refusing a second
start_response), what the app would have done next was never seen: then
the app's own mistake must be named, and nothing the live check did not
name.
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

import httpx
import pytest
from corpus import asgi_valid, asgi_wrong, wsgi_valid, wsgi_wrong

import gateway_lab as gl
from gateway_lab.check.battery import DEFAULT_BATTERY
from gateway_lab.check.flow import JUDGED, NOT_JUDGED, exchanges
from gateway_lab.check.rules import RULES
from gateway_lab.errors import GatewayLabError
from gateway_lab.events.flow import Flow
from gateway_lab.events.kinds import CLOSE, EXCEPTION, RETURN

WSGI_APPS = [
    app
    for app in (*wsgi_wrong.APPS, *wsgi_valid.APPS)
    if app.expected_rule is None or app.expected_rule in JUDGED
]
ASGI_APPS = [
    app
    for app in (*asgi_wrong.APPS, *asgi_valid.APPS)
    if app.expected_rule is None or app.expected_rule in JUDGED
]
# The checker's battery, as a client sends it (the body in one piece).
REQUESTS = [(p.method, p.target, dict(p.headers), p.body) for p in DEFAULT_BATTERY]
SETTLE = 5.0  # seconds a served exchange may take to reach the recorder's last event
# A broken response may never end (a Content-Length it does not keep, a status line the
# engine cannot write): the client stops waiting between bytes after READ seconds. The
# recording is what is judged, so a response given up on does not change the verdict.
CLIENT_TIMEOUT = httpx.Timeout(5.0, read=0.5)


@pytest.fixture(autouse=True)
def _no_leftover_servers():
    yield
    gl.stop_all()


@functools.cache
def live_wsgi(app: Any) -> gl.Report:
    return gl.check_wsgi(app, timeout=app.check_timeout)


@functools.cache
def live_asgi(app: Any, full: bool = True) -> gl.Report:
    return gl.check_asgi(app, timeout=app.check_timeout, lifespan=full, websocket=full)


def _ended(start_kind: str, events: list[Any]) -> bool:
    for event in events:
        if event.kind in (EXCEPTION, CLOSE):
            return True
        if event.kind == RETURN:
            listed = event.payload.get("type") in ("list", "tuple")
            if start_kind == "scope" or listed or "value" in event.payload:
                return True
    return False


def settle(flow: Flow, count: int) -> None:
    """Wait (bounded) until ``count`` exchanges reached the recorder's last event."""
    deadline = time.monotonic() + SETTLE
    while time.monotonic() < deadline:
        found = exchanges(flow)
        if len(found) >= count and all(_ended(s.kind, e) for s, e in found):
            return
        time.sleep(0.01)


def mismatch(app: Any, flow: Flow, live: gl.Report, stopped: bool = False) -> str:
    """'' if check_flow(flow) agrees with the live report; else what differs.

    ``stopped``: the server stopped the app early (also seen in the flow: an
    exception ``from_server``, or a body ``cut``), so only part was seen.
    """
    report = gl.check_flow(flow)
    got, want = report.rules() & JUDGED, live.rules() & JUDGED
    stopped = stopped or any(
        (e.kind == EXCEPTION and e.payload.get("from_server")) or e.payload.get("cut") for e in flow
    )
    name = getattr(app, "__name__", repr(app))
    if app.expected_rule is None and live.ok and not report.ok:
        return f"{name}: a valid app got errors: {sorted(report.rules('error'))}"
    if stopped:
        if app.expected_rule in (got | {None}) and got <= want:
            return ""
    elif got == want:
        expected = app.expected_rule
        ours = {f.message for f in report.findings if f.rule == expected}
        theirs = {f.message for f in live.findings if f.rule == expected}
        if ours <= theirs:
            return ""
        return f"{name}: other words for {expected}: {sorted(ours)} vs {sorted(theirs)}"
    return f"{name}: check_flow {sorted(got)}, live check {sorted(want)}"


# -- WSGI --------------------------------------------------------------------------------
def _call_in_process(recorded: Any) -> None:
    for method, target, headers, body in REQUESTS:
        try:
            gl.call_wsgi(recorded, method, target, headers, body)
        except Exception:  # noqa: BLE001 - call_wsgi refuses broken apps; the flow is what counts
            pass


def test_wsgi_in_process_call_gives_the_live_checks_findings():
    problems = []
    for app in WSGI_APPS:
        recorded, flow = gl.record_wsgi(app)
        _call_in_process(recorded)
        problems.append(mismatch(app, flow, live_wsgi(app)))
    assert not [p for p in problems if p], "\n".join(p for p in problems if p)


def test_wsgi_checker_as_the_server_gives_the_live_checks_findings():
    problems = []
    for app in WSGI_APPS:
        recorded, flow = gl.record_wsgi(app)
        gl.check_wsgi(recorded, timeout=app.check_timeout)
        problems.append(mismatch(app, flow, live_wsgi(app)))
    assert not [p for p in problems if p], "\n".join(p for p in problems if p)


@pytest.mark.parametrize("engine", ["werkzeug", "mini"])
def test_wsgi_served_on_an_engine_gives_the_live_checks_findings(engine):
    recorders = {app.__name__: gl.record_wsgi(app) for app in WSGI_APPS}

    def router(environ, start_response):
        recorded, _ = recorders[environ["HTTP_X_CORPUS_APP"]]
        return recorded(environ, start_response)

    problems = []
    shared = httpx.Client(timeout=CLIENT_TIMEOUT)
    with gl.serve_wsgi(router, name=f"check-flow-{engine}", engine=engine) as srv, shared:
        for app in WSGI_APPS:
            for method, target, headers, body in REQUESTS:
                # werkzeug waits for the client to close the connection (it drains the
                # socket) before it calls the body's close(): one client per request there
                client = httpx.Client(timeout=CLIENT_TIMEOUT) if engine == "werkzeug" else shared
                try:
                    client.request(
                        method,
                        srv.url + target.lstrip("/"),
                        headers={**headers, "X-Corpus-App": app.__name__},
                        content=body,
                    )
                except httpx.HTTPError:
                    pass  # the engine cut the connection: the recording still counts
                finally:
                    if client is not shared:
                        client.close()
            _, flow = recorders[app.__name__]
            settle(flow, len(REQUESTS))
            problems.append(mismatch(app, flow, live_wsgi(app)))
    assert not [p for p in problems if p], "\n".join(p for p in problems if p)


# -- ASGI --------------------------------------------------------------------------------
def test_asgi_in_process_call_gives_the_live_checks_findings():
    problems = []
    for app in ASGI_APPS:
        if getattr(app, "expected_rule", None) and not app.expected_rule.startswith(
            (
                "asgi.status",
                "asgi.header",
                "asgi.body",
                "asgi.start",
                "asgi.send-after",
                "asgi.no-",
                "asgi.response",
                "asgi.content",
                "app.raised",
                "asgi.message",
                "asgi.unknown",
            )
        ):
            continue  # lifespan and WebSocket mistakes need a server that opens those scopes
        recorded, flow = gl.record_asgi(app)

        async def calls(recorded=recorded):
            for method, target, headers, body in REQUESTS:
                try:
                    await gl.acall_asgi(recorded, method, target, headers, body, timeout=2.0)
                except Exception:  # noqa: BLE001 - the call refuses broken apps
                    pass

        asyncio.run(calls())
        problems.append(mismatch(app, flow, live_asgi(app, full=False)))
    assert not [p for p in problems if p], "\n".join(p for p in problems if p)


def test_asgi_checker_as_the_server_gives_the_live_checks_findings():
    problems = []
    for app in ASGI_APPS:
        recorded, flow = gl.record_asgi(app)
        gl.check_asgi(recorded, timeout=app.check_timeout)
        problems.append(mismatch(app, flow, live_asgi(app)))
    assert not [p for p in problems if p], "\n".join(p for p in problems if p)


def _talk_to(srv: Any) -> None:
    with httpx.Client(timeout=CLIENT_TIMEOUT) as client:
        for method, target, headers, body in REQUESTS:
            try:
                client.request(method, srv.url + target.lstrip("/"), headers=headers, content=body)
            except httpx.HTTPError:
                pass
    try:
        ws = gl.ws_connect(srv.url + "ws", timeout=2.0)
    except Exception:  # noqa: BLE001 - refused, cut, or a handshake wsproto rejects
        return  # the recording shows why
    try:
        ws.send("hello")
    except Exception:  # noqa: BLE001 - the app closed first (wsproto refuses the send)
        pass
    finally:
        ws.close()


@pytest.mark.parametrize("engine", ["uvicorn", "mini"])
def test_asgi_served_on_an_engine_gives_the_live_checks_findings(engine):
    problems = []
    for app in ASGI_APPS:
        recorded, flow = gl.record_asgi(app)
        try:
            srv = gl.serve_asgi(recorded, name=f"check-flow-{engine}", engine=engine)
        except GatewayLabError:
            srv = None  # the lifespan startup failed: the server never came up
        if srv is not None:
            _talk_to(srv)
            srv.stop()
        settle(flow, len(exchanges(flow)))
        problems.append(mismatch(app, flow, live_asgi(app), stopped=srv is None))
    assert not [p for p in problems if p], "\n".join(p for p in problems if p)


# -- the pieces --------------------------------------------------------------------------
def test_every_rule_is_either_judged_or_said_not_to_be():
    assert JUDGED | NOT_JUDGED == set(RULES)
    assert not JUDGED & NOT_JUDGED
    doc = gl.check_flow.__module__
    import importlib

    text = importlib.import_module(doc).__doc__ or ""
    for rule in NOT_JUDGED:
        assert rule in text, f"check/flow.py's docstring does not say why {rule} is not judged"


def test_stacked_recorders_are_judged_layer_by_layer():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"Hello"]

    def breaks_length(inner):
        def middleware(environ, start_response):
            def patched(status, headers, exc_info=None):
                return start_response(status, [*headers, ("Content-Length", "99")], exc_info)

            return inner(environ, patched)

        return middleware

    inner, _ = gl.record_wsgi(app, lane="app")
    outer, flow = gl.record_wsgi(breaks_length(inner), lane="lengths")
    _call_in_process(outer)
    report = gl.check_flow(flow)
    found = {(f.rule, f.request) for f in report.findings}
    assert ("wsgi.content-length-mismatch", "GET / (lengths layer)") in found
    assert all(request.endswith("(lengths layer)") for _, request in found)


def test_a_capped_connection_is_not_judged_on_its_whole_body():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "20")])
        return [b"x"] * 20

    recorded, flow = gl.record_wsgi(app, Flow("capped", per_connection=10))
    gl.call_wsgi(recorded)
    assert flow.skipped == {1: 13} and not flow.complete(1)  # 23 events, 10 kept
    assert gl.check_flow(flow).ok
    whole, full_flow = gl.record_wsgi(app)
    gl.call_wsgi(whole)
    assert gl.check_flow(full_flow).rules() == set()


def test_findings_point_at_the_recorded_events_and_the_learners_line():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(1 / 0).encode()]

    recorded, flow = gl.record_wsgi(app)
    with pytest.raises(ZeroDivisionError):
        gl.call_wsgi(recorded)
    report = gl.check_flow(flow)
    (item,) = report.findings
    assert item.rule == "app.raised" and item.request == "GET /"
    assert item.events and item.events[0] in flow.events
    assert "ZeroDivisionError: division by zero in app()" in item.message
    assert "return [str(1 / 0).encode()]" in item.message
    assert report.flow is flow


def test_an_empty_flow_is_fine_and_says_so():
    report = gl.check_flow(Flow("nothing yet"))
    assert report.ok and not report.findings and "looks right" in str(report)


def test_check_flow_is_quick_on_a_hello_flow():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"Hello"]

    recorded, flow = gl.record_wsgi(app)
    for _ in range(100):
        gl.call_wsgi(recorded)
    started = time.perf_counter()
    report = gl.check_flow(flow)
    elapsed = time.perf_counter() - started
    assert report.ok and len(report.requests) == 1
    assert elapsed < 2.0  # generous: 100 requests are judged in a few ms on a quiet machine


def test_a_request_still_running_is_not_judged_as_a_whole_yet():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "6")])
        yield b"one"
        yield b"two"

    recorded, flow = gl.record_wsgi(app)
    body = recorded(gl.make_environ(), lambda status, headers, exc_info=None: None)
    chunks = iter(body)
    next(chunks)  # the server has sent 3 of the 6 bytes so far
    assert gl.check_flow(flow).rules() == set()
    next(chunks)
    body.close()  # done: all 6 bytes, as declared
    assert gl.check_flow(flow).rules() == set()
    recorded_short, short_flow = gl.record_wsgi(app)
    cut = recorded_short(gl.make_environ(), lambda status, headers, exc_info=None: None)
    next(iter(cut))
    cut.close()  # the server gave up after 3 bytes: not the app's mistake
    assert gl.check_flow(short_flow).rules() == set()


# -- extensions: judged against what the recorded scope offers ---------------------------
async def _denies_after_accepting(scope, receive, send):
    if scope["type"] != "websocket":
        raise RuntimeError(scope["type"])
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.http.response.start", "status": 403, "headers": []})
    await send({"type": "websocket.http.response.body", "body": b"no"})


def test_a_denial_the_scope_does_not_offer_is_named_for_the_extension():
    report = gl.check_asgi(_denies_after_accepting, lifespan=False)
    found = [f for f in report.findings if f.rule == "asgi.extension-not-offered"]
    assert found and "WebSocket denial response extension" in found[0].message
    assert "asgi.ws-deny-after-accept" not in report.rules()  # the checker offers no denial


def test_a_denial_after_accept_on_a_server_that_offers_it_is_named_as_such():
    recorded, flow = gl.record_asgi(_denies_after_accepting)
    srv = gl.serve_asgi(recorded, name="check-flow-deny", engine="mini")  # it offers denial
    try:
        ws = gl.ws_connect(srv.url + "ws", timeout=2.0)
        try:
            ws.receive()
        except Exception:  # noqa: BLE001 - the server cuts the socket: the flow is what counts
            pass
        finally:
            ws.close()
    finally:
        srv.stop()
    settle(flow, 1)
    rules = gl.check_flow(flow).rules()
    assert "asgi.ws-deny-after-accept" in rules
    assert "asgi.extension-not-offered" not in rules
