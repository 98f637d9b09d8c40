"""gateway_lab.events.flow: the shared event model."""

from __future__ import annotations

import threading

from gateway_lab.events.flow import Event, Flow, keep_body


def test_add_records_lanes_in_order_and_notifies():
    flow = Flow("t")
    seen = []
    flow.subscribe(seen.append)
    flow.add("client", "server", "request", {"summary": "GET /"})
    flow.add("server", "app", "environ")
    assert flow.lanes == ["client", "server", "app"]
    assert [e.kind for e in seen] == ["request", "environ"]
    assert flow.events[0].t <= flow.events[1].t
    assert "GET /" in repr(flow)


def test_keep_body_caps_and_reports_size():
    kept = keep_body(b"x" * 10, cap=4)
    assert kept == {"body": b"xxxx", "size": 10, "truncated": True}


def test_flow_is_bounded():
    flow = Flow("long", max_events=100)
    for i in range(1000):
        flow.add("app", "server", "send", {"i": i})
    assert len(flow) <= 100
    assert flow.dropped + len(flow) == 1000
    assert flow.events[-1].payload["i"] == 999
    assert "oldest dropped" in repr(flow)


def test_extend_keeps_times_and_adds_lanes():
    flow = Flow()
    flow.extend([Event(0.5, "a", "b", "x"), Event(0.6, "b", "c", "y")])
    assert flow.lanes == ["a", "b", "c"] and flow.events[1].t == 0.6


def test_new_connection_is_thread_safe():
    flow = Flow()
    numbers = []
    threads = [
        threading.Thread(target=lambda: numbers.append(flow.new_connection())) for _ in range(50)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(numbers) == list(range(1, 51))
