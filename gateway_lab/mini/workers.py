"""Connection threads for the mini WSGI server: one thread per connection, reused.

Theory of operation: the mini WSGI server gives every connection a thread of
its own, so one slow client never holds up another. But starting a thread
costs more than answering a hello-world request (about 90 microseconds of CPU
and 250 of wall time on a small machine), and a browser or a benchmark that
opens a new connection per request would pay it every time. So a thread whose
connection has ended does not end with it: it waits up to ``IDLE_SECONDS``
for the next connection. ``submit`` hands a connection to a waiting thread
when there is one, and starts a new thread when there is not: a connection
never queues behind another.

A thread's name says what it does: ``"<name>: serving"`` while it holds a
connection, ``"<name>: idle"`` while it waits for the next one, so a lesson
(or ``threading.enumerate()`` in a debugger) can count the threads that
clients hold without reaching into the server.

``wait_idle`` lets the server's stop give connections in flight a grace
period; ``stop`` then asks every thread to end once its connection is done.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

__all__ = ["IDLE", "SERVING", "Workers"]

SERVING = ": serving"  # the end of a thread's name while it holds a connection
IDLE = ": idle"  # ... and while it waits for the next one

Work = Callable[[], None]


class Workers:
    """Threads that run one piece of work (a connection) after another."""

    IDLE_SECONDS = 5.0  # how long a thread without work waits before it ends

    def __init__(self, name: str) -> None:
        self.name = name
        self._work: queue.SimpleQueue[Work | None] = queue.SimpleQueue()
        self._changed = threading.Condition()
        self._idle = 0  # threads waiting for work that none has been promised yet
        self._busy = 0  # pieces of work submitted and not finished
        self._threads: set[threading.Thread] = set()

    def submit(self, work: Work) -> None:
        """Run ``work`` on a waiting thread, or on a new one (RuntimeError if none can start)."""
        with self._changed:
            self._busy += 1
            if self._idle:
                self._idle -= 1  # that thread is promised this work
                self._work.put(work)
                return
        thread = threading.Thread(
            target=self._run, args=(work,), name=self.name + SERVING, daemon=True
        )
        with self._changed:
            self._threads.add(thread)
        try:
            thread.start()
        except RuntimeError:  # "can't start new thread": the caller says so
            with self._changed:
                self._threads.discard(thread)
                self._busy -= 1
                self._changed.notify_all()
            raise

    def _run(self, work: Work | None) -> None:
        me = threading.current_thread()
        try:
            while work is not None:
                me.name = self.name + SERVING
                try:
                    work()
                finally:
                    me.name = self.name + IDLE
                    with self._changed:
                        self._busy -= 1
                        self._idle += 1
                        self._changed.notify_all()
                work = self._next()
        finally:
            with self._changed:
                self._threads.discard(me)

    def _next(self) -> Work | None:
        """The next piece of work, or None: stop() asked, or none came for IDLE_SECONDS."""
        while True:
            try:
                return self._work.get(timeout=self.IDLE_SECONDS)
            except queue.Empty:
                with self._changed:
                    if self._idle:  # no work is on its way to this thread: end
                        self._idle -= 1
                        return None

    def wait_idle(self, deadline: float) -> bool:
        """Wait until no work is running, at most until ``deadline`` (time.monotonic)."""
        with self._changed:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def stop(self, deadline: float) -> None:
        """Ask every thread to end after its current work; wait at most until ``deadline``."""
        with self._changed:
            threads = list(self._threads)
            self._idle = 0
        for _ in threads:
            self._work.put(None)
        for thread in threads:  # a thread stuck in the app is left to finish alone
            thread.join(max(0.0, deadline - time.monotonic()))
