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
