"""Catch an async app that blocks the event loop, and say which line did it.

Theory of operation: an event loop runs one thing at a time. While an
``async def`` app calls ``time.sleep`` or does synchronous I/O, nothing else
on the loop runs. No protocol check can see that, but a clock can:

* a **ticker** task on the same loop wakes every few milliseconds and notes
  the time. A gap between two ticks much longer than the interval is *lag*:
  time when the loop could not run the ticker because something held it.
* a **watchdog** thread looks at the ticker's last note every 10 ms. When
  the loop has been silent for a while, it takes a snapshot of the loop
  thread's stack (``sys._current_frames``): if the loop is stuck inside the
  learner's code, that snapshot names the file and line.

A stall counts only if it happened while a request was being served and the
snapshot caught the loop inside the app's code, and not idle in ``select``,
not handing work to a thread pool (the cure: starting a pool thread can
take a while on a busy machine), and not merely waiting for a free core. On
Linux the watchdog reads the loop thread's scheduler state and CPU clock: a
thread that is runnable ('R') but used little CPU since its last tick was
preempted by other processes, while an app that blocks is either asleep in
a call ('S', 'D') or computing (its CPU time grows). So a busy machine is
not blamed on the app. Time spent collecting garbage is
measured (``gc.callbacks``) and taken out of every gap: a collection pause
that happens to land inside a fast-allocating app is not the app blocking.

In the browser edition (Pyodide, :mod:`gateway_lab.platform`) there are no
threads, so there is no watchdog: the ticker still measures lag, but no
stall is ever confirmed, and no ``asgi.blocking-call`` is reported there.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass

from gateway_lab.check.explain import learner_frame, where
from gateway_lab.platform import IN_BROWSER

__all__ = ["LagMonitor", "Stall"]


@dataclass
class Stall:
    """The worst blocking seen during one request."""

    label: str
    lag: float = 0.0  # seconds the loop could not run
    where: str = ""  # "in app() (app.py, line 7: `time.sleep(0.2)`)"
    confirmed: bool = False  # the watchdog caught the loop inside the app's code


# Where the loop hands work to a thread pool: asyncio's run_in_executor (to_thread calls it)
# and the pool's submit, which may start a thread and wait until it runs. On a busy machine
# that wait can pass the threshold; it is the cure for blocking, never the disease.
_HAND_OFF = {
    ("base_events.py", "run_in_executor"),
    ("thread.py", "submit"),
    ("thread.py", "_adjust_thread_count"),
}


def thread_state(native_id: int | None) -> str | None:
    """The scheduler's state of a thread of this process: 'R' (running, or runnable and
    waiting for a core), 'S' or 'D' (blocked in a call), or None where it cannot be read
    (not Linux)."""
    if native_id is None:
        return None
    try:
        with open(f"/proc/self/task/{native_id}/stat", encoding="ascii") as stat:
            line = stat.read()
    except (OSError, ValueError):
        return None
    after = line.rfind(")")  # the thread's name, in parentheses, may hold spaces
    return line[after + 2 : after + 3] or None if after >= 0 else None


def _hands_off(frame: traceback.FrameSummary) -> bool:
    """Is ``frame`` asyncio's or concurrent.futures' hand-off of work to a thread?"""
    folder, name = os.path.split(frame.filename)
    parent = os.path.basename(folder)
    in_stdlib = parent == "asyncio" or (parent == "futures" and "concurrent" in folder)
    return in_stdlib and (name, frame.name) in _HAND_OFF


class LagMonitor:
    """Measure event-loop lag per request label."""

    def __init__(self, threshold: float = 0.05, interval: float = 0.005) -> None:
        self.threshold = threshold
        self.interval = interval
        self.stalls: dict[str, Stall] = {}
        self.label: str | None = None
        self._last_tick = time.perf_counter()
        self._loop_thread: int | None = None
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._loop_native: int | None = None  # the loop thread's id for the OS
        self._loop_clock: int | None = None  # its CPU-time clock
        self._cpu_at_tick = 0.0  # its CPU time at the last tick
        self._gc_total = 0.0  # seconds spent collecting garbage so far
        self._gc_started: float | None = None
        self._gc_at_tick = 0.0

    # -- garbage collection is not the app's doing ------------------------------------
    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._gc_started = now
        elif self._gc_started is not None:
            self._gc_total += now - self._gc_started
            self._gc_started = None

    def _gc_since_tick(self, now: float) -> float:
        running = now - self._gc_started if self._gc_started is not None else 0.0
        return self._gc_total - self._gc_at_tick + running

    # -- which request is running ------------------------------------------------------
    def watch(self, label: str | None) -> None:
        """Attribute lag to ``label`` from now on (None: to nobody)."""
        self.label = label
        self._last_tick = time.perf_counter()

    def _stall(self, label: str) -> Stall:
        return self.stalls.setdefault(label, Stall(label))

    # -- the ticker (on the loop) -------------------------------------------------------
    async def ticker(self) -> None:
        self._loop_thread = threading.get_ident()
        self._loop_native = threading.get_native_id()
        try:
            self._loop_clock = time.pthread_getcpuclockid(self._loop_thread)
        except (AttributeError, OSError):
            self._loop_clock = None  # no per-thread clock here: stalls are judged by stack
        self._last_tick = time.perf_counter()
        self._cpu_at_tick = time.thread_time()
        while True:
            await asyncio.sleep(self.interval)
            now = time.perf_counter()
            lag = now - self._last_tick - self.interval - self._gc_since_tick(now)
            label = self.label
            if label is not None and lag > self.threshold:
                stall = self._stall(label)
                stall.lag = max(stall.lag, lag)
            self._last_tick = now
            self._cpu_at_tick = time.thread_time()
            self._gc_at_tick = self._gc_total

    # -- the watchdog (its own thread) -----------------------------------------------------
    def start(self) -> None:
        gc.callbacks.append(self._on_gc)
        if IN_BROWSER:  # no threads there: lag is measured, never confirmed
            return
        self._watchdog = threading.Thread(
            target=self._watch_loop, name="gateway-lab-looplag", daemon=True
        )
        self._watchdog.start()

    def stop(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        self._stop.set()
        if self._watchdog is not None:
            self._watchdog.join(1.0)

    def _watch_loop(self) -> None:
        while not self._stop.wait(0.01):
            now = time.perf_counter()
            label = self.label
            silent = now - self._last_tick - self._gc_since_tick(now)
            if self._gc_started is not None:
                continue  # a collection is running: the loop is not the app's to blame
            if label is None or self._loop_thread is None or silent < self.threshold * 0.6:
                continue
            stall = self._stall(label)
            stall.lag = max(stall.lag, silent - self.interval)
            if not stall.confirmed:
                self._sample(stall)

    def _sample(self, stall: Stall) -> None:
        frame = sys._current_frames().get(self._loop_thread or 0)
        if frame is None:
            return
        frames = traceback.extract_stack(frame)
        if frames and frames[-1].filename.endswith("selectors.py"):
            return  # the loop is idle, waiting for I/O: nothing blocks it
        if any(_hands_off(f) for f in frames):
            return  # the fix itself: handing work to a thread (starting one can take a while)
        if self._waiting_for_a_core():
            return  # the machine is busy, not the app: sampled again while the silence lasts
        mine = learner_frame(list(frames))
        if mine is not None:
            stall.confirmed = True
            stall.where = where(mine)

    def _loop_cpu(self) -> float | None:
        """The loop thread's CPU time so far, in seconds (None: not measurable here)."""
        if self._loop_clock is None:
            return None
        try:
            return time.clock_gettime(self._loop_clock)
        except OSError:
            return None

    def _waiting_for_a_core(self) -> bool:
        """Is the loop thread runnable but hardly running since its last tick? That is a
        busy machine's doing: an app that blocks either sleeps in a call (state 'S' or 'D')
        or computes, and then its CPU time grows past a blocking stall's worth."""
        if thread_state(self._loop_native) != "R":
            return False
        used = self._loop_cpu()
        return used is not None and used - self._cpu_at_tick < self.threshold * 0.6

    def blocking(self) -> list[Stall]:
        """Stalls longer than the threshold that were caught inside the app."""
        return [s for s in self.stalls.values() if s.confirmed and s.lag > self.threshold]
