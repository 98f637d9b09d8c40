"""Time what a request costs: in process, over loopback, and the client alone.

Theory of operation: every measurement here is a list of per-call times in
seconds, kept whole in a :class:`Timings` (never boiled down to one number
too early), so a lesson can show the mean, the median, the percentiles and
the spread side by side: the point of the lab is that one "requests per
second" figure hides most of what happened. A p99 needs samples to stand on:
:attr:`Timings.p99` and :meth:`Timings.summary` give one only over at least
``P99_MIN_SAMPLES`` (100, the figure :mod:`.fairbench` uses) calls, since with
fewer the slowest 1 % is less than one call and the "p99" is just the worst
call renamed; :meth:`Timings.p` computes any percentile on request.

* :func:`time_calls` times a plain function (a WSGI call, a CGI run);
  :func:`atime_calls` awaits a coroutine function (an ASGI call) the same way.
* :func:`time_requests` times GETs to a loopback URL with httpx, with
  keep-alive on (one connection for all) or off (a new connection each time).
* :func:`time_client_alone` times the same httpx calls against a transport
  that answers in memory: what the *client* costs, with no server at all.

Each takes ``warmup`` calls that are run and thrown away (first calls fill
caches and open connections), and an optional :class:`Progress` that moves
one step per timed call. :class:`Progress` draws an ``ipywidgets.IntProgress``
bar in a notebook and a plain text line elsewhere, redrawn only when the
percentage changes (a widget update is a message to the browser). The bar's
output also carries a plain-text line (``in process: 608 of 608 done``),
updated when the run ends, for any viewer that cannot draw widgets (a saved
notebook, a static page).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import urlsplit

import httpx

from gateway_lab.labs.fairbench import P99_MIN_SAMPLES

__all__ = [
    "MAX_COUNT",
    "P99_MIN_SAMPLES",
    "Progress",
    "Timings",
    "atime_calls",
    "percentile",
    "time_calls",
    "time_client_alone",
    "time_requests",
]

MAX_COUNT = 100_000


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, interpolating between ranks."""
    if not values:
        raise ValueError("percentile of no values: measure at least one call first.")
    if not 0 <= q <= 100:
        raise ValueError(f"q is a percentage from 0 to 100, not {q!r}.")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Timings:
    """Per-call times in seconds, in the order they were taken."""

    seconds: list[float] = field(default_factory=list)
    label: str = ""

    @property
    def count(self) -> int:
        return len(self.seconds)

    @property
    def total(self) -> float:
        return sum(self.seconds)

    @property
    def mean(self) -> float:
        return self.total / self.count if self.seconds else 0.0

    @property
    def median(self) -> float:
        return percentile(self.seconds, 50)

    def p(self, q: float) -> float:
        """A percentile: ``timings.p(99)`` is the time 99 % of calls stayed under."""
        return percentile(self.seconds, q)

    @property
    def p99(self) -> float | None:
        """The 99th percentile, or ``None`` below ``P99_MIN_SAMPLES`` calls (too few for it)."""
        return self.p(99) if self.count >= P99_MIN_SAMPLES else None

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def worst(self) -> float:
        return max(self.seconds)

    @property
    def per_second(self) -> float:
        """Calls per second, one after another: 1 / mean."""
        return 1 / self.mean if self.mean > 0 else 0.0

    def ms(self, statistic: str = "median") -> float:
        """A statistic in milliseconds: ``"median"``, ``"mean"``, ``"best"``, ``"worst"``."""
        return float(getattr(self, statistic)) * 1000

    def summary(self) -> str:
        """One line: count, median, mean, p99 (only over enough calls), worst."""
        p99 = self.p99
        tail = (
            f"p99 {p99 * 1e3:.3f} ms" if p99 is not None else f"p99 needs {P99_MIN_SAMPLES} samples"
        )
        return (
            f"{self.label or 'timings'}: {self.count} calls, median {self.median * 1e3:.3f} ms, "
            f"mean {self.mean * 1e3:.3f} ms, {tail}, worst {self.worst * 1e3:.3f} ms"
        )

    def __repr__(self) -> str:
        return f"<Timings {self.summary() if self.seconds else 'empty'}>"


class Progress:
    """A progress bar: ``ipywidgets.IntProgress`` in a notebook, a text line elsewhere.

    >>> import io
    >>> bar = Progress(3, "runs", stream=io.StringIO())
    >>> for _ in range(3):
    ...     bar.advance()
    >>> bar.done
    3
    """

    def __init__(
        self, total: int, label: str = "", *, stream: TextIO | None = None, widget: bool = False
    ) -> None:
        self.total = max(int(total), 1)
        self.label = label
        self.done = 0
        self._stream = stream
        self._bar: Any = None
        self._handle: Any = None
        if widget:
            import ipywidgets
            from IPython.display import display

            self._bar = ipywidgets.IntProgress(
                value=0, min=0, max=self.total, description=label[:20], bar_style="info"
            )
            self._handle = display(self._bundle(), raw=True, display_id=True)
        self._draw()

    def text(self) -> str:
        """The bar as one line of text: ``"in process: 608 of 608 done"``."""
        state = "done" if self.done >= self.total else "so far"
        return f"{self.label or 'progress'}: {self.done} of {self.total} {state}"

    def _bundle(self) -> dict[str, Any]:
        """The widget's display data, with :meth:`text` as its plain-text fallback."""
        data = dict(self._bar._repr_mimebundle_() or {})
        data["text/plain"] = self.text()
        return data

    @classmethod
    def auto(cls, total: int, label: str = "") -> Progress:
        """A widget bar inside a Jupyter kernel, a text line on stderr anywhere else."""
        return cls(total, label, widget=_in_kernel(), stream=None if _in_kernel() else sys.stderr)

    def advance(self, steps: int = 1) -> None:
        before = self._percent()
        self.done = min(self.done + steps, self.total)
        if self._percent() != before:  # at most 100 redraws, however long the run
            self._draw()

    def _percent(self) -> int:
        return 100 * self.done // self.total

    def _draw(self) -> None:
        if self._bar is not None:
            self._bar.value = self.done
            if self.done >= self.total:
                self._bar.bar_style = "success"
                if self._handle is not None:
                    self._handle.update(self._bundle(), raw=True)
        if self._stream is not None:
            filled = round(20 * self.done / self.total)
            end = "\n" if self.done >= self.total else ""
            line = f"\r{self.label} [{'#' * filled}{'.' * (20 - filled)}] {self.done}/{self.total}"
            self._stream.write(line + end)
            self._stream.flush()


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _check_count(count: int, warmup: int) -> None:
    if not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise ValueError(f"count must be a whole number from 1 to {MAX_COUNT}, not {count!r}.")
    if not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be a whole number, 0 or more, not {warmup!r}.")


def time_calls(
    call: Callable[[], Any],
    count: int,
    *,
    warmup: int = 1,
    progress: Progress | None = None,
    label: str = "",
) -> Timings:
    """Call ``call()`` ``warmup`` times untimed, then ``count`` times, timing each."""
    _check_count(count, warmup)
    for _ in range(warmup):
        call()
    timings = Timings(label=label)
    for _ in range(count):
        started = time.perf_counter()
        call()
        timings.seconds.append(time.perf_counter() - started)
        if progress is not None:
            progress.advance()
    return timings


async def atime_calls(
    call: Callable[[], Awaitable[Any]],
    count: int,
    *,
    warmup: int = 1,
    progress: Progress | None = None,
    label: str = "",
) -> Timings:
    """:func:`time_calls` for a coroutine function: ``await call()`` each time."""
    _check_count(count, warmup)
    for _ in range(warmup):
        await call()
    timings = Timings(label=label)
    for _ in range(count):
        started = time.perf_counter()
        await call()
        timings.seconds.append(time.perf_counter() - started)
        if progress is not None:
            progress.advance()
    return timings


def _check_loopback(url: str) -> None:
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
        raise ValueError(
            f"The lab only measures servers on this machine (127.0.0.1), not {url!r}. "
            f"Pass a server's .url, such as srv.url."
        )


def time_requests(
    url: str,
    count: int,
    *,
    keep_alive: bool = True,
    warmup: int = 1,
    progress: Progress | None = None,
    label: str = "",
    timeout: float = 10.0,
) -> Timings:
    """GET ``url`` ``count`` times, one after another, timing each request.

    ``keep_alive=True``: one connection carries every request (as a browser
    does). ``keep_alive=False``: every request opens a new TCP connection
    and asks the server to close it (``Connection: close``).
    """
    _check_loopback(url)
    if keep_alive:
        client = httpx.Client(timeout=timeout)
    else:
        client = httpx.Client(
            timeout=timeout,
            headers={"Connection": "close"},
            limits=httpx.Limits(max_keepalive_connections=0),
        )
    with client:

        def one() -> None:
            client.get(url).raise_for_status()

        return time_calls(one, count, warmup=warmup, progress=progress, label=label)


def time_client_alone(
    count: int, *, warmup: int = 1, progress: Progress | None = None, label: str = ""
) -> Timings:
    """What httpx itself costs per GET: a transport answers in memory, no server at all."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="Hello, world!")

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        return time_calls(
            lambda: client.get("http://127.0.0.1/"),
            count,
            warmup=warmup,
            progress=progress,
            label=label or "the client alone",
        )
