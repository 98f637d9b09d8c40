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


def test_per_connection_cap_keeps_each_connections_first_events_and_counts_the_rest():
    flow = Flow("capped", per_connection=3)
    for i in range(10):
        event = flow.add("app", "server", "send", {"i": i}, connection=1)
        assert event.payload == {"i": i}  # returned as if kept, so producers carry on
    flow.add("server", "app", "scope", {}, connection=2)
    assert [e.payload.get("i") for e in flow if e.connection == 1] == [0, 1, 2]
    assert flow.skipped == {1: 7}
    assert not flow.complete(1) and flow.complete(2)
    assert "over the per-connection cap" in repr(flow)
    flow.extend([Event(1.0, "app", "server", "send", {}, 1), Event(1.0, "a", "b", "x", {}, 3)])
    assert flow.skipped == {1: 8} and len(flow) == 5


def test_the_checkers_cap_is_the_flows():
    from gateway_lab.events.flow import CHECK_PER_CONNECTION

    flow = Flow("check", per_connection=CHECK_PER_CONNECTION)
    for _ in range(CHECK_PER_CONNECTION + 5):
        flow.add("app", "server", "send", {}, connection=1)
    assert len(flow) == CHECK_PER_CONNECTION and flow.skipped == {1: 5}
