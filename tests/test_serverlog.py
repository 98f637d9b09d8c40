"""gateway_lab.serving.log: bounded, thread-safe memory of a server."""

from __future__ import annotations

import threading

from gateway_lab.serving.log import RequestRecord, ServerLog


def test_log_is_bounded():
    log = ServerLog("t", maxlen=10)
    for i in range(25):
        log.request(RequestRecord("GET", f"/{i}", 200, 1.0))
        log.message(f"m{i}")
    assert len(log.requests) == 10 and log.requests[0].path == "/15"
    assert len(log.messages) == 10


def test_error_keeps_traceback_text():
    log = ServerLog("t")
    try:
        raise ValueError("bad")
    except ValueError as exc:
        record = log.error("ValueError: bad", exc=exc, request="GET /x")
    assert "Traceback" in record.traceback and "bad" in record.traceback
    assert "during GET /x" in str(record)
    assert "ValueError: bad" in log._repr_html_()


def test_concurrent_appends():
    log = ServerLog("t", maxlen=100000)

    def work():
        for _ in range(1000):
            log.request(RequestRecord("GET", "/", 200, 0.1))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(log.requests) == 4000


def test_terminal_colour_codes_never_reach_the_log():
    log = ServerLog("t")
    log.message('info: "GET / HTTP/1.1" \x1b[1m\x1b[31m500\x1b[0m -')  # werkzeug's colours
    assert list(log.messages) == ['info: "GET / HTTP/1.1" 500 -']


def test_a_request_is_recorded_once():
    from gateway_lab.serving.log import RequestTimer

    log = ServerLog("t")
    timer = RequestTimer("GET /")
    timer.record(log)
    timer.record(log)  # the guard's close() after its own early record
    assert len(log.requests) == 1
