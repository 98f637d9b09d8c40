"""check_asgi: the corpus of wrong and valid apps, event-loop blocking, frameworks."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import time
import warnings
from typing import Any

import pytest
from corpus import asgi_valid, asgi_wrong

import gateway_lab as gl
from gateway_lab.check import Probe
from gateway_lab.events.flow import Event


def _name(app: Any) -> str:
    return app.__name__


@pytest.mark.parametrize("app", asgi_wrong.APPS, ids=_name)
def test_wrong_app_is_flagged_with_its_rule(app: Any) -> None:
    report = gl.check_asgi(app, timeout=app.check_timeout)
    assert app.expected_rule in report.rules(app.expected_severity), str(report)
    assert report.rules("error") <= {app.expected_rule}, str(report)
    if app.expected_severity == "error":
        assert not report.ok


@pytest.mark.parametrize("app", asgi_valid.APPS, ids=_name)
def test_valid_app_gets_no_error(app: Any) -> None:
    report = gl.check_asgi(app)
    assert report.ok, str(report)


_NEAR = [a for a in asgi_valid.APPS if getattr(a, "near_miss_of", ())]


@pytest.mark.parametrize("app", _NEAR, ids=_name)
def test_near_miss_does_not_get_its_rule(app: Any) -> None:
    report = gl.check_asgi(app)
    assert not report.rules() & set(app.near_miss_of), str(report)


def test_raising_for_other_scopes_is_silent() -> None:
    """Raising for a scope type the app does not serve is what the spec asks: no note."""
    report = gl.check_asgi(asgi_valid.raises_for_other_scopes)
    assert report.ok and "asgi.unsupported-scope" not in report.rules(), report
    assert "app.raised" not in report.rules()


def test_returning_for_other_scopes_is_one_note_quoting_the_spec() -> None:
    report = gl.check_asgi(asgi_valid.returns_for_other_scopes)
    (note,) = [f for f in report.findings if f.rule == "asgi.unsupported-scope"]
    assert note.severity == "info" and report.ok
    assert "lifespan and websocket" in note.message and "returned" in note.message
    assert "actively reject any protocol that they do not understand" in note.message
    assert "fine" not in note.message and "raise" in note.hint
    assert note.spec.endswith("main.html#protocol-specifications")


@pytest.mark.parametrize(
    "app",
    [
        asgi_valid.websocket_only_raises,
        asgi_valid.websocket_only_returns,
        asgi_valid.lifespan_and_websocket,
    ],
    ids=_name,
)
def test_an_app_without_http_gets_a_note_never_an_error(app: Any) -> None:
    """Reproduces the issue: a WebSocket-only app raising for http got app.raised."""
    report = gl.check_asgi(app)
    assert report.ok and not report.warnings, report
    (note,) = [f for f in report.findings if f.rule == "asgi.unsupported-scope"]
    assert "http" in note.message and "side was checked" in note.message
    assert "GET /" in [note.request, *note.also]


def test_an_http_app_that_raises_on_one_request_still_gets_an_error() -> None:
    async def fails_on_post(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError(scope["type"])
        if scope["method"] == "POST":
            raise KeyError("name")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    report = gl.check_asgi(fails_on_post)
    (item,) = [f for f in report.findings if f.rule == "app.raised"]
    assert item.request.startswith("POST") and "asgi.unsupported-scope" not in report.rules()


def test_an_app_that_raises_everywhere_gets_errors() -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise KeyError("oops")

    report = gl.check_asgi(broken)
    assert "app.raised" in report.rules("error")


def test_asgi_app_raised_links_the_asgi_spec_and_words_the_scope() -> None:
    async def crashes(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            raise RuntimeError("no lifespan")
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            message = await receive()
            message["nope"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise ValueError("boom")

    report = gl.check_asgi(crashes)
    raised = {f.request: f for f in report.findings if f.rule == "app.raised"}
    http, ws = raised["GET /"], raised["WEBSOCKET /ws"]
    assert all(f.spec.endswith("main.html#error-handling") for f in raised.values())
    assert "pep-3333" not in http.spec and "truncated" in http.hint
    assert "1011" in ws.hint and "500" not in ws.hint
    assert "'websocket.receive'" in ws.message  # what arrived last


def test_blocking_call_names_the_line_and_the_lag() -> None:
    report = gl.check_asgi(asgi_wrong.sleeps_blocking)
    (item,) = [f for f in report.findings if f.rule == "asgi.blocking-call"]
    assert "time.sleep(0.12)" in item.message and "sleeps_blocking()" in item.message
    assert " ms " in item.message
    assert "asyncio.to_thread" in item.hint
    assert item.request == "GET /" and "POST / (body in 3 chunks)" in item.also


class _SlowToStart(concurrent.futures.ThreadPoolExecutor):
    """A pool whose thread starts as slowly as one does on a machine with no core free."""

    def _adjust_thread_count(self) -> None:
        time.sleep(0.15)
        super()._adjust_thread_count()


def test_handing_work_to_a_thread_is_not_blocking_even_when_the_thread_is_slow_to_start() -> None:
    async def offloads(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError(scope["type"])
        with _SlowToStart(max_workers=1) as pool:
            loop = asyncio.get_running_loop()
            text = await loop.run_in_executor(pool, str.upper, "ok")
        headers = [(b"content-type", b"text/plain")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": text.encode()})

    report = gl.check_asgi(offloads, [Probe("GET", "/")], lifespan=False, websocket=False)
    assert "asgi.blocking-call" not in report.rules(), str(report)


def test_blocking_threshold_can_be_raised() -> None:
    report = gl.check_asgi(asgi_wrong.sleeps_blocking, blocking_ms=1000)
    assert "asgi.blocking-call" not in report.rules()


def test_loop_blocked_forever_is_reported_not_waited_for() -> None:
    release = time.perf_counter() + 1.2

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while time.perf_counter() < release:  # blocks the loop past the timeout
            time.sleep(0.01)

    report = gl.check_asgi(app, timeout=0.2, lifespan=False, websocket=False)
    assert {"app.timeout", "asgi.blocking-call"} <= report.rules("error")
    time.sleep(max(0.0, release - time.perf_counter()) + 0.2)  # let its thread finish


def test_works_inside_a_running_event_loop() -> None:
    """As in a notebook cell: the kernel's loop is running when the check is called."""

    async def cell() -> Any:
        return gl.check_asgi(asgi_valid.echo)

    report = asyncio.run(cell())
    assert report.ok and report.responses[2].body == b"name=Ada&message=Hello+there"


def test_body_arrives_in_pieces_and_echo_gets_all() -> None:
    report = gl.check_asgi(asgi_valid.echo, lifespan=False, websocket=False)
    (post,) = [
        e.connection for e in report.flow.of_kind("scope") if e.payload["scope"]["method"] == "POST"
    ]
    receives = [e for e in report.flow.of_kind("receive") if e.connection == post]
    assert [e.payload["more_body"] for e in receives] == [True, True, False]
    assert b"".join(e.payload["body"] for e in receives) == b"name=Ada&message=Hello+there"


def test_finding_points_at_events() -> None:
    report = gl.check_asgi(asgi_wrong.body_str)
    item = next(f for f in report.findings if f.rule == "asgi.body-not-bytes")
    assert item.events and all(isinstance(e, Event) for e in item.events)
    assert item.events[0].kind == "send"
    assert item.events[0].payload["type"] == "http.response.body"
    assert "'Hello'.encode('utf-8')" in item.hint
    assert item.spec.startswith("https://asgi.readthedocs.io/")


def test_app_exception_has_type_and_line() -> None:
    report = gl.check_asgi(asgi_wrong.raises)
    item = next(f for f in report.findings if f.rule == "app.raised")
    assert "TypeError" in item.message and "raises()" in item.message
    assert "line" in item.message


def test_lifespan_state_reaches_requests() -> None:
    report = gl.check_asgi(asgi_valid.with_lifespan)
    assert report.responses[0].body == b"Hello from startup"
    kinds = [e.payload.get("type") for e in report.flow if e.connection == 1]
    assert "lifespan.startup.complete" in kinds and "lifespan.shutdown.complete" in kinds


def test_wsgi_app_given_to_check_asgi() -> None:
    def app(environ: Any, start_response: Any) -> Any:
        return []

    report = gl.check_asgi(app)
    assert report.rules() == {"app.wrong-kind"} and report.requests == []


def test_report_text_and_html() -> None:
    report = gl.check_asgi(asgi_wrong.status_str)
    assert "asgi.status-not-int" in str(report)
    assert "asgi.status-not-int" in report._repr_html_()
    assert report.as_dict()["ok"] is False


# -- frameworks -------------------------------------------------------------------------
def test_starlette_app_gets_no_error() -> None:
    pytest.importorskip("starlette")
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse, StreamingResponse
    from starlette.routing import Route, WebSocketRoute

    async def home(request: Any) -> Any:
        return PlainTextResponse("Hello " + (await request.body()).decode())

    async def stream(request: Any) -> Any:
        async def parts() -> Any:
            yield b"a"
            yield b"b"

        return StreamingResponse(parts())

    async def echo(websocket: Any) -> None:
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())
        await websocket.close()

    app = Starlette(
        routes=[
            Route("/", home, methods=["GET", "POST"]),
            Route("/stream", stream),
            WebSocketRoute("/ws", echo),
        ]
    )
    report = gl.check_asgi(app)
    assert report.ok, str(report)
    assert report.responses[2].text == "Hello name=Ada&message=Hello+there"
    assert gl.check_asgi(app, [Probe("GET", "/stream")]).ok


def test_endless_stream_is_stopped_at_the_timeout() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while True:
            await send({"type": "http.response.body", "body": b"x" * 1024, "more_body": True})

    # blocking_ms: this loop allocates fast, and a full garbage collection in its
    # thread (tens of ms in a big test process) can pass for blocking; not the subject here
    report = gl.check_asgi(
        app, [Probe()], timeout=0.2, lifespan=False, websocket=False, blocking_ms=1000
    )
    assert report.rules("error") == {"app.timeout"}, str(report)
    assert "more_body was still True" in report.findings[0].message
    assert len(report.flow) <= 600


# -- send(...) or receive() without await ------------------------------------------------
def _unawaited_warnings(check: Any) -> list[str]:
    """Run ``check()``; the "never awaited" warnings Python emitted meanwhile."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check()
        gc.collect()
    return [str(w.message) for w in caught if "never awaited" in str(w.message)]


def test_send_without_await_is_named_and_no_warning_leaks() -> None:
    reports = []
    leaked = _unawaited_warnings(lambda: reports.append(gl.check_asgi(asgi_wrong.send_not_awaited)))
    assert leaked == []
    (item,) = [f for f in reports[0].findings if f.rule == "asgi.send-not-awaited"]
    assert "'http.response.start'" in item.message and "1 more send()" in item.message
    assert "await send(...)" in item.hint
    assert item.events and {e.kind for e in item.events} == {"unawaited"}
    assert "asgi.no-response" not in reports[0].rules()


def test_receive_without_await_is_named_not_the_error_it_causes() -> None:
    report = gl.check_asgi(asgi_wrong.receive_not_awaited)
    assert report.rules("error") == {"asgi.receive-not-awaited"}, str(report)
    item = report.errors[0]
    assert "message = await receive()" in item.hint


def test_plain_function_calling_send_leaks_no_warning() -> None:
    def app(scope: Any, receive: Any, send: Any) -> None:
        send({"type": "http.response.start", "status": 200, "headers": []})

    reports = []
    leaked = _unawaited_warnings(lambda: reports.append(gl.check_asgi(app)))
    assert leaked == [] and "asgi.not-awaitable" in reports[0].rules("error")


# -- hints that fit the mistake -----------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "words", "not_words"),
    [
        (3, ["str(3).encode()", "b'3'", "not bytes(3)"], ["bytes(...) of it"]),
        (2.5, ["str(2.5).encode()"], ["bytes(...)"]),
        ("Hi", ["'Hi'.encode('utf-8')"], ["str("]),
        (bytearray(b"Hi"), ["bytes(...) of it"], ["str("]),
        ([b"H", b"i"], ["b''.join(...)"], ["bytes(...)"]),
    ],
)
def test_body_not_bytes_hint_fits_the_type(
    body: Any, words: list[str], not_words: list[str]
) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    report = gl.check_asgi(app, [Probe()], lifespan=False, websocket=False)
    (item,) = [f for f in report.findings if f.rule == "asgi.body-not-bytes"]
    for text in words:
        assert text in item.hint, item.hint
    for text in not_words:
        assert text not in item.hint, item.hint


# -- the report's first line --------------------------------------------------------------
def test_headline_marks_warnings_apart_from_a_clean_pass() -> None:
    warned = gl.check_asgi(asgi_wrong.no_content_type)
    assert warned.ok and warned.warnings
    assert warned.headline().startswith("! check_asgi(no_content_type): no errors, ")
    assert "✓" not in warned.headline() and "#a15c00" in warned._repr_html_().split("</div>")[0]

    noted = gl.check_asgi(asgi_valid.returns_for_other_scopes)
    assert noted.ok and not noted.warnings
    assert noted.headline() == "✓ check_asgi(returns_for_other_scopes): no errors, 1 note"

    failed = gl.check_asgi(asgi_wrong.status_str)
    assert failed.headline().startswith("✗ check_asgi(status_str): 1 error")


def test_garbage_collection_pauses_are_not_blamed_on_the_app():
    """A full collection inside a fast-allocating app is not a blocking call."""

    # Many live objects make a full collection slow; the app itself does nothing else, so
    # however busy the machine is, its pause is the collector's.
    heap = [[object() for _ in range(50)] for _ in range(20_000)]

    async def allocating(scope, receive, send):
        if scope["type"] != "http":
            return
        gc.collect()  # stands in for a collection that happens to land here
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    from gateway_lab.check.looplag import LagMonitor

    monitor = LagMonitor(threshold=0.001)
    monitor.start()
    try:
        monitor._on_gc("start", {})
        time.sleep(0.02)
        monitor._on_gc("stop", {})
        assert monitor._gc_since_tick(time.perf_counter()) >= 0.015
    finally:
        monitor.stop()
    assert monitor._on_gc not in gc.callbacks
    report = gl.check_asgi(allocating, websocket=False, lifespan=False)
    assert "asgi.blocking-call" not in report.rules()
    assert len(heap) == 20_000  # (alive until here)


@pytest.mark.parametrize("exc_type", [SystemExit, KeyboardInterrupt])
def test_systemexit_from_the_app_is_the_apps_failure_not_the_checkers(exc_type, capfd):
    """Issue 13 #2, checker side: it used to end the battery ("check.failed") and print."""

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        raise exc_type("from the app")

    report = gl.check_asgi(app)
    assert "app.raised" in report.rules("error") and "check.failed" not in report.rules()
    assert exc_type.__name__ in str(report)
    out, err = capfd.readouterr()
    assert "never retrieved" not in out + err


def test_a_small_body_on_head_is_not_noted_every_time() -> None:
    """Every server drops it; the note only when building it was real work (noise fix)."""
    report = gl.check_asgi(asgi_valid.returns_for_other_scopes)
    assert "asgi.body-on-head" not in report.rules()


def test_every_asgi_rule_quotes_its_spec_sentence() -> None:
    from gateway_lab.check.rules import RULES, UNCHECKED

    for rule in RULES.values():
        if rule.id.startswith("asgi."):
            assert rule.sentence and rule.spec.startswith("https://"), rule.id
            keyword = (" must" in rule.sentence.lower()) and "should" not in rule.sentence
            if keyword and rule.severity != "error":
                assert rule.severity_why, rule.id  # a MUST made milder says why
    assert len(UNCHECKED["asgi"]) >= 5


def test_a_crash_in_the_lifespan_startup_is_a_note_that_says_what_is_lost() -> None:
    async def crash(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            raise ConnectionError("no database")
        if scope["type"] != "http":
            raise RuntimeError(scope["type"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body"})

    report = gl.check_asgi(crash)
    assert report.ok and "asgi.lifespan-no-reply" not in report.rules(), report
    (note,) = [f for f in report.findings if f.rule == "asgi.unsupported-scope"]
    assert "no database" in note.message and "lifespan.startup.failed" in note.message


def test_a_websocket_bug_after_connect_is_an_error_not_a_rejection() -> None:
    async def bug(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            message = await receive()
            message["text"]  # KeyError: the connect message has no text
        if scope["type"] != "http":
            raise RuntimeError(scope["type"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body"})

    report = gl.check_asgi(bug)
    (item,) = report.errors
    assert item.rule == "app.raised" and item.request == "WEBSOCKET /ws"
    assert "'websocket.connect'" in item.message and "handshake" in item.hint


async def _str_headers(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        raise RuntimeError("HTTP only")
    headers = [("content-type", "text/plain")]  # str, not bytes
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"hi"})


def test_str_headers_are_one_mistake_not_also_a_missing_content_type() -> None:
    report = gl.check_asgi(_str_headers)
    assert "asgi.header-not-bytes" in report.rules()
    assert "asgi.no-content-type" not in report.rules()


# -- a busy machine is not the app's doing ------------------------------------------------
def _sampled(monkeypatch: pytest.MonkeyPatch, state: str, cpu_used: float) -> bool:
    """Does the watchdog confirm a stall of this thread (caught in this test's own code),
    seen in scheduler ``state`` with ``cpu_used`` seconds of CPU since the last tick?"""
    import threading

    from gateway_lab.check import looplag

    monitor = looplag.LagMonitor()
    monitor._loop_thread = threading.get_ident()
    monitor._loop_native = threading.get_native_id()
    monitor._cpu_at_tick = 1.0
    monkeypatch.setattr(looplag, "thread_state", lambda native: state)
    monkeypatch.setattr(monitor, "_loop_cpu", lambda: 1.0 + cpu_used)
    stall = looplag.Stall("GET /")
    monitor._sample(stall)
    return stall.confirmed


def test_a_loop_waiting_for_a_free_core_is_not_blocking(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not _sampled(monkeypatch, "R", cpu_used=0.002)  # preempted: it hardly ran


def test_a_loop_asleep_in_a_call_or_computing_is_blocking(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _sampled(monkeypatch, "S", cpu_used=0.0)  # time.sleep, a blocking read
    assert _sampled(monkeypatch, "R", cpu_used=0.08)  # a busy loop: its CPU time grew


def test_the_scheduler_state_of_a_thread_is_read_where_the_system_shows_it() -> None:
    import sys
    import threading

    from gateway_lab.check.looplag import thread_state

    state = thread_state(threading.get_native_id())
    assert state == "R" if sys.platform.startswith("linux") else state is None
    assert thread_state(None) is None and thread_state(2**31 - 1) is None
