"""The ASGI order tables (gateway_lab.protocol.asgi): consistent, worded, and the one source.

One mistake must read the same wherever it surfaces: in-process
(``call_asgi``), on a served app (the guard, on every engine), in the mini
server without the guard, and in the checker's report.
"""

from __future__ import annotations

import re

import httpx
import pytest

import gateway_lab as gl
from gateway_lab.check.rules import RULES
from gateway_lab.protocol import asgi as table
from gateway_lab.protocol import extensions


def test_every_machine_starts_and_ends_in_its_own_states():
    for name, machine in table.MACHINES.items():
        states = {s for s, _ in machine.allowed} | set(machine.allowed.values())
        assert table.INITIAL[name] in states
        assert table.FINAL[name] <= states
        for final in table.FINAL[name]:  # nothing the app sends is allowed once it is over
            assert not [k for (s, k) in machine.allowed if s == final and k not in machine.server]


def test_every_violation_is_worded_and_anchored_and_in_the_catalogue():
    for violation in (*table.VIOLATIONS, *extensions.VIOLATIONS):
        assert violation.what.endswith(".") and violation.fix.endswith(".")
        assert violation.spec.startswith("https://asgi.readthedocs.io/") and "#" in violation.spec
        assert violation.rule in RULES, violation.rule
        sentence = violation.sentence("x.y")
        assert not re.search(r"\{[a-z_]+\}", sentence), sentence  # no unfilled field


def test_a_refused_message_leaves_the_state_and_server_messages_are_never_refused():
    assert table.step("http", "complete", "http.response.body")[0] == "complete"
    for name, machine in table.MACHINES.items():
        for state in {s for s, _ in machine.allowed}:
            for message in machine.server:
                assert table.step(name, state, message)[1] is None


def test_the_happy_paths():
    def walk(machine, *types):
        state = table.INITIAL[machine]
        for kind in types:
            state, problem = table.step(machine, state, kind)
            assert problem is None, problem
        return state

    more = "http.response.body" + table.MORE_BODY
    assert walk("http", "http.response.start", more, more, "http.response.body") == "complete"
    assert walk("websocket", "websocket.accept", "websocket.send", "websocket.close") == "closed"
    assert walk("websocket", "websocket.close") == "closed"  # a refusal
    deny = ("websocket.http.response.start", "websocket.http.response.body")
    assert walk("websocket", *deny) == "closed"
    life = ("lifespan.startup", "lifespan.startup.complete", "lifespan.shutdown")
    assert walk("lifespan", *life, "lifespan.shutdown.complete") == "stopped"
    assert walk("lifespan", "lifespan.startup", "lifespan.startup.failed") == "failed"


@pytest.mark.parametrize(
    ("machine", "state", "kind", "rule"),
    [
        ("http", "before-start", "http.response.body", "asgi.body-before-start"),
        ("http", "streaming", "http.response.start", "asgi.start-twice"),
        ("http", "complete", "http.response.body", "asgi.send-after-complete"),
        ("http", "started", "websocket.send", "asgi.unknown-message"),
        ("websocket", "connecting", "websocket.send", "asgi.ws-send-before-accept"),
        ("websocket", "open", "websocket.accept", "asgi.ws-accept-twice"),
        ("websocket", "closed", "websocket.send", "asgi.send-after-complete"),
        ("websocket", "open", "websocket.http.response.start", "asgi.ws-deny-after-accept"),
        ("lifespan", "starting", "lifespan.startup.completed", "asgi.lifespan-bad-reply"),
        ("lifespan", "serving", "lifespan.startup.complete", "asgi.lifespan-bad-reply"),
    ],
)
def test_each_mistake_has_its_rule(machine, state, kind, rule):
    assert table.violation(machine, state, kind).rule == rule


def test_the_extension_must_be_offered():
    assert (
        extensions.unoffered("websocket.http.response.start", {}).rule
        == "asgi.extension-not-offered"
    )
    assert (
        extensions.unoffered("websocket.http.response.start", {"websocket.http.response": {}})
        is None
    )
    assert extensions.unoffered("websocket.send", None) is None


async def _body_first(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.body", "body": b"oops"})


def test_one_mistake_one_sentence_everywhere():
    sentence = table.step("http", "before-start", "http.response.body")[1]
    with pytest.raises(gl.ProtocolError) as in_process:
        gl.call_asgi(_body_first)
    assert str(in_process.value) == sentence
    for engine in ("uvicorn", "mini"):
        srv = gl.serve_asgi(_body_first, engine=engine)
        try:
            assert httpx.get(srv.url, timeout=5).status_code == 500
            assert any(sentence in e.summary for e in srv.errors), (engine, srv.errors)
        finally:
            srv.stop()
    report = gl.check_asgi(_body_first)
    (finding,) = [f for f in report.findings if f.rule == "asgi.body-before-start"]
    violation = table.violation("http", "before-start", "http.response.body")
    assert f"{finding.message} {finding.hint} See {finding.spec}" == violation.sentence()


async def _misspelt_lifespan(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.completed"})
        return
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def test_a_wrong_lifespan_reply_reads_the_same_in_the_mini_server_and_the_checker():
    kind = "lifespan.startup.completed"
    violation = table.violation("lifespan", "starting", kind)
    srv = gl.serve_asgi(_misspelt_lifespan, engine="mini")
    try:
        assert httpx.get(srv.url, timeout=5).text == "ok"  # served on, without lifespan
        assert any(violation.sentence(kind) in e.summary for e in srv.errors), srv.errors
    finally:
        srv.stop()
    report = gl.check_asgi(_misspelt_lifespan)
    (finding,) = [f for f in report.findings if f.rule == "asgi.lifespan-bad-reply"]
    assert f"{finding.message} {finding.hint} See {finding.spec}" == violation.sentence(kind)
