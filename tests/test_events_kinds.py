"""gateway_lab.events.kinds: one vocabulary that producers, views and checks share."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import gateway_lab as gl
from gateway_lab.events import kinds
from gateway_lab.events.flow import Event, Flow
from gateway_lab.events.payloads import StandIn, copy_value, message_payload
from gateway_lab.views.flow import describe_event, flow_html

PACKAGE = Path(gl.__file__).parent


def test_every_kind_has_lanes_payload_keys_a_meaning_and_a_colour():
    for name, kind in kinds.KINDS.items():
        assert kind.name == name and len(kind.lanes) == 2 and kind.payload
        assert kind.meaning.endswith(".") and re.fullmatch(r"#[0-9a-f]{6}", kind.colour)
        assert getattr(kinds, name.upper().replace(" ", "_")) == name


def test_every_producer_takes_its_kinds_from_the_vocabulary():
    # flow.add("a", "b", KIND, ...), self.event("lane", KIND, ...), _note("a", "b", KIND, ...),
    # emit(sinks, a, b, KIND, ...): the kind is one of the constants of kinds, never a literal
    lanes = r'(?:"[^"]+"|\w+)'
    kind = r'("[^"]*"|[^,\s=]+)'  # a literal (spaces and all) or a name
    patterns = [
        rf"\.add\(\s*{lanes},\s*{lanes},\s*{kind},",
        rf"\.event\(\s*{lanes},\s*{kind},",
        r'_note\(\s*"[^"]+",\s*"[^"]+",\s*([^,\s]+),',  # (the WebSocket client's)
        rf"emit\(\s*\w+,\s*{lanes},\s*{lanes},\s*([^,\s]+),",
    ]
    used: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        for pattern in patterns:
            used.update(re.findall(pattern, text))
    literals = sorted(u for u in used if u.startswith(("'", '"')))
    assert not literals, f"kinds written as strings: {literals}"
    constants = {u for u in used if u.isupper()}
    assert len(constants) >= 15, f"the search found too few producers: {sorted(constants)}"
    assert {getattr(kinds, c) for c in constants} <= set(kinds.KINDS)
    assert used - constants <= {"kind"}, sorted(used - constants)  # (helpers that pass it on)


def test_recorded_kinds_are_all_known_and_drawn_in_their_colours():
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"a")
        yield b"b"

    recorded, flow = gl.record_wsgi(app)
    gl.call_wsgi(recorded)
    assert {e.kind for e in flow} <= set(kinds.KINDS)
    page = flow_html(flow)
    for event in flow:
        assert kinds.colour(event.kind) in page
    start = flow.of_kind(kinds.START_RESPONSE)[0]
    assert describe_event(start) == (
        "The app calls start_response(status, headers): the response begins."
    )


def test_an_unknown_kind_gets_the_neutral_colour_and_a_plain_sentence():
    event = Event(0.0, "a", "b", "mystery", {})
    assert kinds.colour("mystery") == kinds.DEFAULT_COLOUR
    assert describe_event(event) == "The a layer -> the b layer: mystery."


def test_asgi_messages_have_one_flat_shape():
    payload = message_payload({"type": "websocket.send", "bytes": b"\x00" * 5000})
    assert payload["type"] == "websocket.send" and payload["size"] == 5000
    assert payload["truncated"] is True and len(payload["bytes"]) == 4096
    assert "message" not in payload and "body" not in payload
    failed = message_payload({"type": "lifespan.startup.failed", "message": "no db"})
    assert failed["message"] == "no db"  # the message's own field, not a nested copy
    odd = message_payload(("http.response.start", 200))
    assert odd["type"] is None and odd["wrong_type"] == "tuple"
    assert odd["value"] == ("http.response.start", 200)


def test_copies_keep_types_and_stand_ins_keep_type_names_and_reprs():
    headers = [["Content-Type", "text/plain"], ("X", 5)]
    copied = copy_value(headers)
    assert copied == headers and type(copied[0]) is list and type(copied[1]) is tuple
    assert copied is not headers and copied[0] is not headers[0]
    assert isinstance(copy_value(bytearray(b"hi")), bytearray)
    generator = (i for i in range(3))
    stand_in = copy_value(generator)
    assert isinstance(stand_in, StandIn) and type(stand_in).__name__ == "generator"
    assert repr(stand_in) == repr(generator) and list(generator) == [0, 1, 2]


def test_the_checker_and_the_recorder_can_share_one_message_shape():
    seen = []

    async def app(scope, receive, send):
        seen.append(await receive())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    recorded, flow = gl.record_asgi(app)
    asyncio.run(gl.acall_asgi(recorded, "POST", body=b"data"))
    received = flow.of_kind(kinds.RECEIVE)[0].payload
    assert received == {**message_payload(seen[0])}
    assert received["body"] == b"data" and received["more_body"] is False


def test_flows_the_views_show_need_no_nested_message():
    flow = Flow()
    flow.add("app", "server", kinds.SEND, message_payload({"type": "http.response.body"}))
    assert "http.response.body" in flow_html(flow)
