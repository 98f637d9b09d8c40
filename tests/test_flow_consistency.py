"""The checker agrees with itself: check_flow of a live check's own flow names the same rules.

``gl.check_wsgi`` / ``gl.check_asgi`` play the server and record every step
in ``report.flow``, in the one payload shape of :mod:`gateway_lab.events.payloads`.
Judging that flow again with ``gl.check_flow`` must give the same rule ids,
for every rule a flow can show (``check.flow.JUDGED``), and the same words
for the app's own mistake: there is one copy of each judgement, read off
the events. Every app of the corpus is used, including those whose mistake
only a live check can see (their other findings must still agree).
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
from corpus import asgi_valid, asgi_wrong, wsgi_valid, wsgi_wrong

import gateway_lab as gl
from gateway_lab.check.flow import JUDGED, NOT_JUDGED
from gateway_lab.events.flow import CHECK_PER_CONNECTION
from gateway_lab.events.kinds import (
    BODY,
    ENVIRON,
    RECEIVE,
    SCOPE,
    SEND,
    START_RESPONSE,
    WRITE,
)

WSGI_APPS = [*wsgi_wrong.APPS, *wsgi_valid.APPS]
ASGI_APPS = [*asgi_wrong.APPS, *asgi_valid.APPS]


@functools.cache
def live_wsgi(app: Any) -> gl.Report:
    return gl.check_wsgi(app, timeout=app.check_timeout)


@functools.cache
def live_asgi(app: Any) -> gl.Report:
    return gl.check_asgi(app, timeout=app.check_timeout)


def disagreement(app: Any, live: gl.Report) -> str:
    """'' when check_flow(live.flow) agrees with ``live``; else what differs."""
    again = gl.check_flow(live.flow)
    name = getattr(app, "__name__", repr(app))
    got, want = again.rules() & JUDGED, live.rules() & JUDGED
    if got != want:
        return f"{name}: check_flow {sorted(got)}, live check {sorted(want)}"
    expected = app.expected_rule
    if expected in JUDGED:
        ours = {f.message for f in again.findings if f.rule == expected}
        theirs = {f.message for f in live.findings if f.rule == expected}
        if ours != theirs:
            return f"{name}: other words for {expected}: {sorted(ours)} vs {sorted(theirs)}"
    return ""


def test_the_corpus_covers_both_kinds_of_rule():
    """Not a vacuous comparison: the corpus has apps of judged and of unjudged rules."""
    for apps in (WSGI_APPS, ASGI_APPS):
        expected = {app.expected_rule for app in apps}
        assert expected & JUDGED and expected & NOT_JUDGED and None in expected


def test_check_flow_of_check_wsgis_flow_names_the_same_rules():
    problems = [disagreement(app, live_wsgi(app)) for app in WSGI_APPS]
    assert not [p for p in problems if p], "\n".join(p for p in problems if p)


def test_check_flow_of_check_asgis_flow_names_the_same_rules():
    problems = [disagreement(app, live_asgi(app)) for app in ASGI_APPS]
    assert not [p for p in problems if p], "\n".join(p for p in problems if p)


@pytest.mark.parametrize("check", [gl.check_wsgi, gl.check_asgi])
def test_the_checkers_flow_has_the_one_per_connection_cap(check):
    def wsgi_endless(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        while True:
            yield b"x"

    async def asgi_endless(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while True:
            await send({"type": "http.response.body", "body": b"x", "more_body": True})

    app = wsgi_endless if check is gl.check_wsgi else asgi_endless
    report = check(app, timeout=0.3)
    flow = report.flow
    assert flow.per_connection == CHECK_PER_CONNECTION
    assert flow.skipped, "an endless body goes past the cap"
    for connection in flow.connections():
        assert len([e for e in flow if e.connection == connection]) <= CHECK_PER_CONNECTION
    assert "app.timeout" in report.rules()
    assert gl.check_flow(flow).rules() & JUDGED == report.rules() & JUDGED


# The messages whose payload is built from what the app or the server passed: a checker
# and a recorder that saw the same call must have written the same payload.
MESSAGE_KINDS = (ENVIRON, START_RESPONSE, WRITE, BODY, SCOPE, RECEIVE, SEND)


def _same_shape(check: Any, record: Any, apps: list[Any]) -> tuple[list[str], int]:
    """Record each app under the checker: compare the two flows' message payloads."""
    problems: list[str] = []
    compared = 0
    for app in apps:
        recorded, flow = record(app)
        report = check(recorded, timeout=app.check_timeout)
        ours = [e for e in report.flow if e.kind in MESSAGE_KINDS]
        theirs = [e for e in flow if e.kind in MESSAGE_KINDS]
        if [(e.kind, e.connection) for e in ours] != [(e.kind, e.connection) for e in theirs]:
            continue  # concurrent sends and receives may interleave differently: not a shape
        for mine, recorder in zip(ours, theirs, strict=True):
            compared += 1
            if mine.payload != recorder.payload:
                problems.append(f"{app.__name__} {mine.kind}: {mine.payload} vs {recorder.payload}")
                break
    return problems, compared


def test_the_checker_and_the_wsgi_recorder_write_one_payload_shape():
    problems, compared = _same_shape(
        gl.check_wsgi, gl.record_wsgi, [*wsgi_wrong.APPS, *wsgi_valid.APPS]
    )
    assert compared > 100 and not problems, "\n".join(problems)


def test_the_checker_and_the_asgi_recorder_write_one_payload_shape():
    # (an un-awaited call never reaches the recorder: Python warns about its coroutine)
    unawaited = ("asgi.send-not-awaited", "asgi.receive-not-awaited")
    apps = [a for a in (*asgi_wrong.APPS, *asgi_valid.APPS) if a.expected_rule not in unawaited]
    problems, compared = _same_shape(gl.check_asgi, gl.record_asgi, apps)
    assert compared > 100 and not problems, "\n".join(problems)
