"""A server's memory: its requests, the app's exceptions, the engine's chatter.

Theory of operation: servers in a notebook must not print. A server thread
that writes to stderr lands its text in whichever cell happens to be running,
which confuses everyone. So every engine's logging is routed here, onto the
server handle, and shown only when asked (``srv.log``, ``srv.errors``).

Three bounded lists (oldest dropped first, so a long-running server cannot
grow the kernel's memory): ``requests`` (one line per request: method, path,
status, time taken), ``errors`` (an exception or a gateway failure, with the
traceback as text and the request that caused it), and ``messages`` (what
the engine itself said, with any terminal colour codes taken out). All
appends take a lock: engines log from many threads.
"""

from __future__ import annotations

import html
import io
import re
import threading
import time
import traceback as tb
from collections import deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RequestTimer", "ErrorRecord", "LogStream", "RequestRecord", "ServerLog"]

# Terminal colour codes (ECMA-48 "CSI" sequences, such as werkzeug's "\x1b[33m"):
# meaningless in a notebook, so they never reach the log.
_TERMINAL_CODES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it."""

    method: str
    path: str
    status: int | None
    duration_ms: float
    bytes_sent: int = 0
    error: str | None = None
    at: float = field(default_factory=time.time)

    def line(self) -> str:
        status = self.status if self.status is not None else "---"
        tail = f"  ! {self.error}" if self.error else ""
        return (
            f"{time.strftime('%H:%M:%S', time.localtime(self.at))} {self.method} "
            f"{self.path} -> {status} ({self.duration_ms:.1f} ms, "
            f"{self.bytes_sent} bytes){tail}"
        )


@dataclass(frozen=True)
class ErrorRecord:
    """Something that went wrong, kept with its explanation."""

    summary: str
    traceback: str = ""
    request: str = ""
    where: str = "app"
    at: float = field(default_factory=time.time)

    def __str__(self) -> str:
        where = f" during {self.request}" if self.request else ""
        text = f"[{self.where}] {self.summary}{where}"
        return f"{text}\n{self.traceback}" if self.traceback else text


class ServerLog:
    """Bounded, thread-safe record of what a server did."""

    def __init__(self, name: str = "", maxlen: int = 1000) -> None:
        self.name = name
        self.requests: deque[RequestRecord] = deque(maxlen=maxlen)
        self.errors: deque[ErrorRecord] = deque(maxlen=maxlen)
        self.messages: deque[str] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def request(self, record: RequestRecord) -> None:
        with self._lock:
            self.requests.append(record)

    def error(
        self,
        summary: str,
        *,
        exc: BaseException | None = None,
        request: str = "",
        where: str = "app",
    ) -> ErrorRecord:
        text = "".join(tb.format_exception(exc)) if exc is not None else ""
        record = ErrorRecord(summary, text, request, where)
        with self._lock:
            self.errors.append(record)
        return record

    def message(self, text: str) -> None:
        text = _TERMINAL_CODES.sub("", text).rstrip("\n")
        if text:
            with self._lock:
                self.messages.append(text)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self.errors.clear()
            self.messages.clear()

    def counts(self) -> str:
        """ "3 requests, 1 error": the log's two counts, in words."""
        return f"{_count(len(self.requests), 'request')}, {_count(len(self.errors), 'error')}"

    def __repr__(self) -> str:
        lines = [f"log of server {self.name!r}: {self.counts()}"]
        lines += ["  " + r.line() for r in list(self.requests)[-20:]]
        for error in list(self.errors)[-5:]:
            lines.append("  error: " + str(error).replace("\n", "\n    "))
        for message in list(self.messages)[-10:]:
            lines.append("  engine: " + message)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(r.method)}</td><td><code>{html.escape(r.path)}"
            f"</code></td><td>{r.status if r.status is not None else '&mdash;'}</td>"
            f"<td>{r.duration_ms:.1f} ms</td><td>{r.bytes_sent}</td>"
            f"<td>{html.escape(r.error or '')}</td></tr>"
            for r in list(self.requests)[-50:]
        )
        errors = "".join(
            f"<details><summary>{html.escape(e.summary)}"
            f"{' during ' + html.escape(e.request) if e.request else ''}</summary>"
            f"<pre>{html.escape(e.traceback)}</pre></details>"
            for e in list(self.errors)[-10:]
        )
        return (
            f"<div><b>Server {html.escape(self.name)!s}</b>: "
            f"{self.counts()}"
            "<table><tr><th>method</th><th>path</th><th>status</th><th>time</th>"
            f"<th>bytes</th><th>problem</th></tr>{rows}</table>{errors}</div>"
        )


class LogStream(io.TextIOBase):
    """A writable text stream whose every write lands in a server log (``wsgi.errors``)."""

    def __init__(self, log: ServerLog) -> None:
        self._log = log

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._log.message(text)
        return len(text)


def status_code(status: Any) -> int | None:
    try:
        return int(str(status).split(" ", 1)[0])
    except ValueError:
        return None


class RequestTimer:
    """What a guard learned about one request: label, status, bytes, error, time."""

    __slots__ = ("label", "started", "status", "start_called", "sent", "error", "recorded")

    def __init__(self, label: str) -> None:
        self.label = label
        self.started = time.perf_counter()
        self.status: int | None = None
        self.start_called = False  # the app called start_response (status may be unreadable)
        self.recorded = False
        self.sent = 0
        self.error: str | None = None

    def record(self, log: ServerLog) -> None:
        """Add this request to ``log`` (once: later calls do nothing)."""
        if self.recorded:
            return
        self.recorded = True
        method, _, path = self.label.partition(" ")
        log.request(
            RequestRecord(
                method,
                path,
                self.status,
                (time.perf_counter() - self.started) * 1000,
                self.sent,
                self.error,
            )
        )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
