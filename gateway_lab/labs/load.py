"""Measure what a server spends on slow requests: time, threads and memory.

Theory of operation
-------------------
:func:`drive_load` plays many HTTP clients at once against a server running
in this process, and watches the process while they wait:

* **The clients** are asyncio tasks sharing one ``httpx.AsyncClient``, on an
  event loop in *one* helper thread. However many clients there are, they
  add a single thread to the process, so every other thread that appears
  while they wait was started by the server under test. Each request carries
  ``Connection: close``: one request is one connection, and a
  thread-per-connection server holds a thread exactly as long as a request
  is in flight. Requests go out all at once (a *burst*), or one every
  ``1 / rate`` seconds (a steady stream of arrivals).
* **The sampler** (:class:`ResourceSampler`) is a thread that wakes every few
  milliseconds and notes the process's thread count and memory (psutil:
  ``rss``, the memory really in use, and ``vms``, the address space reserved,
  which includes every thread's stack). Only samples taken while the clients' thread is alive
  are kept: that thread is part of the baseline count, so a sample taken
  after it ended would show one thread fewer than before the run ("-1
  extra threads"). A thread the mini server keeps for its next connection
  (its name ends ``": idle"``) is not counted: it holds no request, and it
  may end (or be reused) during the run, which would blur the count.

A :class:`LoadRun` holds both records, with times in seconds since the first
request went out, and computes the figures a lesson quotes: wall time, the
peak of *extra* threads (over the count just before the first request),
memory growth, and the ingredients of Little's law, L = λ·W: the arrival rate
λ, the mean time in the system W, and the mean number in flight L.

Only loopback URLs are accepted, and the number of clients is bounded.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from gateway_lab.mini.workers import IDLE
from gateway_lab.platform import require_os

if TYPE_CHECKING:
    import psutil

__all__ = [
    "MAX_CLIENTS",
    "MIB",
    "LoadRun",
    "RequestTiming",
    "ResourceSampler",
    "Sample",
    "drive_load",
    "take_sample",
    "working_threads",
]

MAX_CLIENTS = 1000
MIB = 1024 * 1024


@dataclass(frozen=True)
class Sample:
    """One look at the process: when (perf_counter seconds), threads, memory in bytes."""

    at: float
    threads: int
    rss: int
    vms: int


def take_sample(process: psutil.Process | None = None) -> Sample:
    import psutil  # imported on use: it has no wheel for the browser edition

    memory = (process or psutil.Process()).memory_info()
    return Sample(time.perf_counter(), working_threads(), memory.rss, memory.vms)


def working_threads(threads: Iterable[threading.Thread] | None = None) -> int:
    """The threads of this process (or those given), less those a server keeps idle."""
    pool = threading.enumerate() if threads is None else threads
    return sum(1 for thread in pool if not thread.name.endswith(IDLE))


class ResourceSampler:
    """Sample threads and memory every ``interval`` seconds, from a thread, until stopped.

    >>> with ResourceSampler(0.005) as sampler:
    ...     time.sleep(0.05)
    >>> len(sampler.samples) > 1
    True
    """

    def __init__(self, interval: float = 0.01) -> None:
        if not 0.001 <= interval <= 1.0:
            raise ValueError(f"interval must be between 0.001 and 1 second, not {interval!r}.")
        import psutil  # imported on use: it has no wheel for the browser edition

        self.interval = interval
        self.samples: list[Sample] = []
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gateway-lab sampler", daemon=True)

    def _run(self) -> None:
        while True:
            self.samples.append(take_sample(self._process))
            if self._stop.wait(self.interval):
                self.samples.append(take_sample(self._process))
                return

    def start(self) -> ResourceSampler:
        self._thread.start()
        return self

    def stop(self) -> list[Sample]:
        self._stop.set()
        self._thread.join()
        return self.samples

    def __enter__(self) -> ResourceSampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class RequestTiming:
    """One request: sent and done in seconds since the run began; status None on failure."""

    sent: float
    done: float
    status: int | None
    error: str = ""

    @property
    def latency(self) -> float:
        return self.done - self.sent


@dataclass
class LoadRun:
    """What :func:`drive_load` saw. Times are seconds since the first request was sent."""

    timings: list[RequestTiming]
    samples: list[Sample]  # at: seconds since the start (samples before it are dropped)
    baseline: Sample  # just before the first request
    after: Sample  # once every response came back and ``settle`` passed
    label: str = ""
    rate: float | None = None  # the arrival rate asked for (None: a burst)

    # -- time --------------------------------------------------------------
    @property
    def wall_time(self) -> float:
        """From the first request sent to the last response received."""
        return max((t.done for t in self.timings), default=0.0)

    @property
    def latencies(self) -> list[float]:
        return [t.latency for t in self.timings]

    @property
    def mean_latency(self) -> float:
        """W: the mean time a request spends in the system."""
        return sum(self.latencies) / len(self.timings) if self.timings else 0.0

    @property
    def failures(self) -> list[RequestTiming]:
        return [t for t in self.timings if t.status is None or t.status >= 500]

    # -- Little's law: L = λ·W ----------------------------------------------
    @property
    def arrival_rate(self) -> float:
        """λ: requests per second while they were being sent (a burst: over the whole run)."""
        sends = sorted(t.sent for t in self.timings)
        spread = sends[-1] - sends[0] if sends else 0.0
        if len(sends) >= 2 and spread > 0.5 * self.wall_time:
            return (len(sends) - 1) / spread
        return len(sends) / self.wall_time if self.wall_time > 0 else 0.0

    @property
    def littles_law(self) -> float:
        """The number in flight that Little's law predicts: λ × W."""
        return self.arrival_rate * self.mean_latency

    @property
    def steady_window(self) -> tuple[float, float]:
        """From the first response to the last request sent: arrivals and departures both flow."""
        if not self.timings:
            return (0.0, 0.0)
        return (min(t.done for t in self.timings), max(t.sent for t in self.timings))

    @property
    def steady_threads(self) -> float:
        """L measured: the mean count of extra threads in the steady window (else the peak)."""
        start, end = self.steady_window
        samples = [s for s in self.samples if start <= s.at <= end]
        return self.mean_threads(start, end) if samples else float(self.peak_threads)

    def in_flight(self, at: float) -> int:
        """How many requests had been sent and not yet answered at time ``at``."""
        return sum(1 for t in self.timings if t.sent <= at < t.done)

    # -- threads and memory ----------------------------------------------------
    def extra_threads(self, sample: Sample) -> int:
        return sample.threads - self.baseline.threads

    @property
    def peak_threads(self) -> int:
        """The most threads seen at once, over the count just before the first request."""
        return max((self.extra_threads(s) for s in self.samples), default=0)

    def mean_threads(self, start: float, end: float) -> float:
        """The mean count of extra threads in the samples taken from ``start`` to ``end``."""
        window = [self.extra_threads(s) for s in self.samples if start <= s.at <= end]
        return sum(window) / len(window) if window else 0.0

    @property
    def rss_growth(self) -> int:
        """Peak resident memory over the baseline, in bytes."""
        return max((s.rss for s in self.samples), default=self.baseline.rss) - self.baseline.rss

    @property
    def vms_growth(self) -> int:
        """Peak reserved address space over the baseline, in bytes."""
        return max((s.vms for s in self.samples), default=self.baseline.vms) - self.baseline.vms

    def timeline(self) -> tuple[list[float], list[int], list[float]]:
        """(times, extra threads, extra resident memory in MiB): ready to plot."""
        return (
            [s.at for s in self.samples],
            [self.extra_threads(s) for s in self.samples],
            [(s.rss - self.baseline.rss) / MIB for s in self.samples],
        )

    def summary(self) -> str:
        failed = f", {len(self.failures)} failed" if self.failures else ""
        return (
            f"{self.label or 'run'}: {len(self.timings)} requests{failed} in "
            f"{self.wall_time:.2f} s, mean wait {self.mean_latency:.2f} s, "
            f"peak {self.peak_threads} extra threads, "
            f"memory +{self.rss_growth / MIB:.1f} MiB resident"
        )

    def __repr__(self) -> str:
        return f"<LoadRun {self.summary()}>"


def _check_arguments(url: str, clients: int, rate: float | None) -> None:
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost"):
        raise ValueError(
            f"drive_load only talks to servers on this machine (127.0.0.1), not {url!r}. "
            f"Pass a server's .url, such as srv.url."
        )
    if not isinstance(clients, int) or not 1 <= clients <= MAX_CLIENTS:
        raise ValueError(
            f"clients must be a whole number from 1 to {MAX_CLIENTS}, not {clients!r}."
        )
    if rate is not None and not rate > 0:
        raise ValueError(
            f"rate is requests per second and must be above 0 (or None), not {rate!r}."
        )


@dataclass
class _Record:
    """What the client thread hands back to :func:`drive_load`."""

    start: float = 0.0
    ended: float = 0.0  # when the clients' thread took its last sample
    baseline: Sample | None = None
    after: Sample | None = None
    timings: list[RequestTiming] = field(default_factory=list)
    failure: BaseException | None = None


async def _send_all(
    url: str, clients: int, rate: float | None, timeout: float, at_start: Callable[[], float]
) -> list[RequestTiming]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=0)
    headers = {"Connection": "close"}
    async with httpx.AsyncClient(limits=limits, timeout=timeout, headers=headers) as client:
        start = at_start()

        async def one(index: int) -> RequestTiming:
            if rate is not None:
                await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
            sent = time.perf_counter() - start
            try:
                response = await client.get(url)
                status, error = response.status_code, ""
            except httpx.HTTPError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
            return RequestTiming(sent, time.perf_counter() - start, status, error)

        return list(await asyncio.gather(*(one(i) for i in range(clients))))


def drive_load(
    url: str,
    clients: int,
    *,
    rate: float | None = None,
    timeout: float = 60.0,
    sample_every: float = 0.005,
    settle: float = 0.1,
    label: str = "",
) -> LoadRun:
    """Send ``clients`` GET requests to ``url`` (all at once, or ``rate`` per second).

    Blocks until every response is back (or failed), then keeps sampling for
    ``settle`` seconds so that threads winding down show on the timeline.
    Works from a notebook cell and from a script alike (the clients run on
    their own event loop, in their own thread).
    """
    require_os("gl.drive_load", "a server to load and threads to watch")
    _check_arguments(url, clients, rate)
    record = _Record()

    def at_start() -> float:
        record.baseline = take_sample()
        record.start = time.perf_counter()
        return record.start

    def client_thread() -> None:
        try:
            record.timings = asyncio.run(_send_all(url, clients, rate, timeout, at_start))
        except BaseException as exc:  # handed to the caller below
            record.failure = exc
        time.sleep(settle)  # still alive: the thread count stays comparable to the baseline
        record.after = take_sample()
        record.ended = record.after.at

    sampler = ResourceSampler(sample_every).start()
    try:
        thread = threading.Thread(target=client_thread, name="gateway-lab clients", daemon=True)
        thread.start()
        thread.join()
    finally:
        samples = sampler.stop()
    if record.failure is not None or record.baseline is None or record.after is None:
        raise RuntimeError(
            f"drive_load could not finish: {record.failure!r}. Is the server still "
            f"running (srv.running)?"
        ) from record.failure
    shifted = [
        Sample(s.at - record.start, s.threads, s.rss, s.vms)
        for s in samples
        if record.start <= s.at <= record.ended  # while the clients' thread was counted
    ]
    return LoadRun(record.timings, shifted, record.baseline, record.after, label, rate)
