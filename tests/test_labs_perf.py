"""gateway_lab.labs.perf: timings kept whole, percentiles, the progress bar, requests.

No timing assertions: only counts, order and arithmetic.
"""

from __future__ import annotations

import asyncio
import io
import time

import pytest

import gateway_lab as gl
from gateway_lab.labs.perf import (
    P99_MIN_SAMPLES,
    Progress,
    Timings,
    atime_calls,
    percentile,
    time_calls,
    time_client_alone,
    time_requests,
)


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"hi"]


@pytest.fixture
def server():
    srv = gl.serve_wsgi(hello, name="test-labs-perf")
    yield srv
    srv.stop()


def test_percentile_interpolates_between_ranks():
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 50) == 2.5
    assert percentile([7.0], 99) == 7.0


@pytest.mark.parametrize(("values", "q"), [([], 50), ([1.0], -1), ([1.0], 101)])
def test_percentile_refuses_nonsense(values, q):
    with pytest.raises(ValueError):
        percentile(values, q)


def test_timings_statistics():
    timings = Timings([0.001, 0.002, 0.003, 0.010], "t")
    assert timings.count == 4
    assert timings.mean == pytest.approx(0.004)
    assert timings.median == pytest.approx(0.0025)
    assert (timings.best, timings.worst) == (0.001, 0.010)
    assert timings.per_second == pytest.approx(250)
    assert timings.ms("worst") == pytest.approx(10)
    assert timings.p(100) == 0.010
    assert "4 calls" in timings.summary() and "t:" in repr(timings)
    assert "empty" in repr(Timings())


def test_summary_gives_no_p99_below_100_samples():
    """Lesson 09's rule, in its own summaries: a p99 over 4 calls is the worst call renamed."""
    few = Timings([0.001, 0.002, 0.003, 0.010], "CGI")
    assert P99_MIN_SAMPLES == 100
    assert few.p99 is None
    line = few.summary()
    assert "p99 needs 100 samples" in line and "p99 0" not in line and "p99 1" not in line
    assert "median 2.500 ms" in line and "worst 10.000 ms" in line
    almost = Timings([0.001] * 99, "t")
    assert almost.p99 is None and "p99 needs 100 samples" in almost.summary()


def test_summary_gives_the_p99_from_100_samples():
    enough = Timings([0.001] * 99 + [0.5], "t")
    assert enough.p99 == pytest.approx(enough.p(99))
    assert f"p99 {enough.p(99) * 1e3:.3f} ms" in enough.summary()
    assert "needs" not in enough.summary()


def test_time_calls_warms_up_then_times_each_call():
    calls = []
    bar = Progress(3, "calls", stream=io.StringIO())
    timings = time_calls(lambda: calls.append(1), 3, warmup=2, progress=bar)
    assert len(calls) == 5 and timings.count == 3 and bar.done == 3
    assert all(s >= 0 for s in timings.seconds)


@pytest.mark.parametrize(("count", "warmup"), [(0, 1), (1, -1), (1.5, 0), (10**6, 0)])
def test_time_calls_refuses_bad_sizes(count, warmup):
    with pytest.raises(ValueError):
        time_calls(lambda: None, count, warmup=warmup)


def test_atime_calls_awaits_each_call():
    seen = []

    async def call():
        seen.append(1)

    timings = asyncio.run(atime_calls(call, 4, warmup=1))
    assert timings.count == 4 and len(seen) == 5


def test_progress_text_line_ends_when_done():
    stream = io.StringIO()
    bar = Progress(2, "runs", stream=stream)
    bar.advance()
    assert "1/2" in stream.getvalue() and not stream.getvalue().endswith("\n")
    bar.advance(5)  # never past the total
    assert bar.done == 2 and stream.getvalue().endswith("2/2\n")


def test_progress_redraws_at_most_once_per_percent():
    stream = io.StringIO()
    bar = Progress(10_000, "long", stream=stream)
    for _ in range(10_000):
        bar.advance()
    assert stream.getvalue().count("\r") == 101  # the first draw, then one per percent
    assert stream.getvalue().endswith("10000/10000\n")


def test_progress_widget_moves():
    bar = Progress(2, "w", widget=True)
    bar.advance(2)
    assert bar._bar.value == 2 and bar._bar.bar_style == "success"


def test_progress_widget_has_a_text_fallback_that_ends_done(monkeypatch):
    """A viewer without widgets sees a sentence, not ``IntProgress(value=0, ...)``."""
    import IPython.display

    shown: list[dict] = []

    class Handle:
        def update(self, data, raw=False):
            shown.append(data)

    def display(data, raw=False, display_id=False):
        shown.append(data)
        return Handle() if display_id else None

    monkeypatch.setattr(IPython.display, "display", display)
    bar = Progress(3, "in process", widget=True)
    bar.advance(3)
    first, last = shown[0], shown[-1]
    assert "application/vnd.jupyter.widget-view+json" in first
    assert "IntProgress" not in first["text/plain"]
    assert last["text/plain"] == "in process: 3 of 3 done"
    assert len(shown) == 2  # drawn once, updated once when done


def test_progress_auto_outside_a_kernel_is_text():
    bar = Progress.auto(1, "x")
    assert bar._bar is None


@pytest.mark.parametrize("keep_alive", [True, False])
def test_time_requests_sends_each_request(server, keep_alive):
    timings = time_requests(server.url, 5, keep_alive=keep_alive, warmup=1)
    assert timings.count == 5
    deadline = time.monotonic() + 2  # the server logs a request just after answering it
    while len(server.requests) < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(server.requests) == 6


def test_time_requests_only_to_loopback():
    with pytest.raises(ValueError, match="127.0.0.1"):
        time_requests("http://example.com/", 1)


def test_time_client_alone_needs_no_server():
    timings = time_client_alone(3, warmup=0)
    assert timings.count == 3 and timings.label == "the client alone"
