"""gateway_lab.labs.load: the load driver, the sampler and the figures a LoadRun computes."""

from __future__ import annotations

import threading

import pytest

import gateway_lab as gl
from gateway_lab.labs.load import (
    MAX_CLIENTS,
    LoadRun,
    RequestTiming,
    ResourceSampler,
    Sample,
    drive_load,
)


def synthetic_run(rate: float, wait: float, duration: float, step: float = 0.01) -> LoadRun:
    """A run as a perfect thread-per-request server would produce it: no sockets, no clocks."""
    count = round(rate * duration)
    timings = [RequestTiming(i / rate, i / rate + wait, 204) for i in range(count)]
    baseline = Sample(0.0, 10, 100 * 2**20, 1000 * 2**20)
    end = timings[-1].done + 0.1
    samples = []
    for k in range(round(end / step) + 1):
        at = k * step + step / 2  # between arrivals, never on one
        inside = sum(1 for t in timings if t.sent <= at < t.done)
        samples.append(Sample(at, 10 + inside, (100 + inside) * 2**20, (1000 + 8 * inside) * 2**20))
    return LoadRun(timings, samples, baseline, samples[-1], label="synthetic", rate=rate)


def test_little_figures_of_a_steady_stream():
    run = synthetic_run(rate=100, wait=0.5, duration=1.5)
    assert len(run.timings) == 150
    assert run.wall_time == pytest.approx(1.49 + 0.5)
    assert run.mean_latency == pytest.approx(0.5)
    assert run.arrival_rate == pytest.approx(100)
    assert run.littles_law == pytest.approx(50)
    assert run.steady_window == pytest.approx((0.5, 1.49))
    assert run.steady_threads == pytest.approx(50, abs=1)
    assert run.peak_threads == 50
    assert run.in_flight(1.0) == 50
    assert run.in_flight(-1.0) == 0
    assert run.failures == []


def test_memory_and_timeline_are_relative_to_the_baseline():
    run = synthetic_run(rate=100, wait=0.5, duration=1.5)
    assert run.rss_growth == 50 * 2**20
    assert run.vms_growth == 400 * 2**20
    times, threads, extra_mib = run.timeline()
    assert len(times) == len(threads) == len(extra_mib) == len(run.samples)
    assert threads[0] == 1 and max(threads) == 50
    assert extra_mib[0] == pytest.approx(1.0) and max(extra_mib) == pytest.approx(50.0)
    assert "150 requests" in run.summary() and "peak 50 extra threads" in run.summary()


def test_a_burst_uses_the_whole_run_for_its_rate():
    timings = [RequestTiming(0.0, 0.5, 204) for _ in range(60)]
    baseline = Sample(0.0, 3, 0, 0)
    run = LoadRun(timings, [Sample(0.1, 63, 0, 0)], baseline, baseline)
    assert run.arrival_rate == pytest.approx(120)  # 60 requests over 0.5 s
    assert run.littles_law == pytest.approx(60)
    assert run.steady_threads == 60  # no steady window in a burst: the peak


def test_failures_are_counted_not_raised():
    timings = [RequestTiming(0.0, 0.1, None, "ConnectError: refused"), RequestTiming(0, 0.1, 503)]
    run = LoadRun(timings, [], Sample(0, 1, 0, 0), Sample(0, 1, 0, 0))
    assert len(run.failures) == 2
    assert "2 failed" in run.summary()
    assert run.peak_threads == 0 and run.rss_growth == 0


@pytest.mark.parametrize(
    ("url", "clients", "rate", "words"),
    [
        ("http://example.com/", 1, None, "127.0.0.1"),
        ("http://127.0.0.1:1/", 0, None, "clients"),
        ("http://127.0.0.1:1/", MAX_CLIENTS + 1, None, "clients"),
        ("http://127.0.0.1:1/", 2.5, None, "clients"),
        ("http://127.0.0.1:1/", 1, 0, "rate"),
    ],
)
def test_bad_arguments_are_explained(url, clients, rate, words):
    with pytest.raises(ValueError, match=words):
        drive_load(url, clients, rate=rate)


def test_sampler_samples_until_stopped():
    with pytest.raises(ValueError, match="interval"):
        ResourceSampler(0)
    with ResourceSampler(0.002) as sampler:
        threading.Event().wait(0.05)
    count = len(sampler.samples)
    assert count >= 2
    assert all(s.threads >= 1 and s.rss > 0 for s in sampler.samples)
    assert not sampler._thread.is_alive()
    assert len(sampler.samples) == count


@pytest.fixture
def served():
    started = []

    def serve(app, engine="mini", interface="wsgi"):
        start = gl.serve_wsgi if interface == "wsgi" else gl.serve_asgi
        srv = start(app, name=f"bench-test-{len(started)}", engine=engine)
        started.append(srv)
        return srv

    yield serve
    for srv in started:
        srv.stop()


def test_every_request_comes_back_with_its_status(served):
    def hello(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hi"]

    srv = served(hello)
    run = drive_load(srv.url, 8, label="hello")
    assert [t.status for t in run.timings] == [200] * 8
    assert all(t.done >= t.sent >= 0 for t in run.timings)
    assert run.samples and all(s.at >= 0 for s in run.samples)
    assert len(srv.log.requests) == 8
    paced = drive_load(srv.url, 5, rate=200)
    assert sorted(t.sent for t in paced.timings)[-1] > 0
    assert paced.rate == 200


def test_a_thread_per_connection_server_shows_one_thread_per_waiting_request(served):
    clients = 12
    all_inside = threading.Barrier(clients, timeout=10)
    hold = threading.Event()

    def waiting(environ, start_response):
        all_inside.wait()  # returns only once every request holds a thread at the same time
        hold.wait(0.2)  # keep them there long enough for the sampler to see them
        start_response("204 No Content", [])
        return []

    run = drive_load(served(waiting).url, clients)
    assert not run.failures, run.failures
    assert run.peak_threads >= clients


def test_a_stopped_server_gives_failures(served):
    srv = served(lambda environ, start_response: [])
    url = srv.url
    srv.stop()
    run = drive_load(url, 3, timeout=5)
    assert len(run.failures) == 3
    assert all("Connect" in t.error for t in run.timings)


def test_the_timeline_never_counts_fewer_threads_than_the_baseline(served):
    """The clients' own thread is in the baseline: samples after it ended are left out."""

    def hello(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hi"]

    run = drive_load(served(hello).url, 4, settle=0.02)
    _, threads, _ = run.timeline()
    assert threads and min(threads) >= 0, threads
    assert run.samples[-1].at <= run.after.at - run.baseline.at + 1e-6
