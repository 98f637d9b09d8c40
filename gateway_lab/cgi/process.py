"""Run one CGI script as a child process: body in, bounded output out, never stuck.

Theory of operation: a CGI request is one process. We start it with a list
``argv`` and ``shell=False`` (no shell ever parses anything), in a new
session (``start_new_session=True``), so the script and everything it starts
share one process group that we can stop with a single ``os.killpg``.

Then one loop moves bytes in three directions at once, with ``selectors``:
the request body into the script's stdin, its stdout and its stderr out.
Doing all three together matters: a script that writes a large answer before
reading a large body would block on a full stdout pipe while we block on a
full stdin pipe, and both would wait forever. The loop also enforces the
rules while reading, never after:

* stdout larger than ``max_output`` bytes: stop reading, kill the group;
* stderr beyond ``stderr_cap`` is read (so the script never blocks on it)
  but not kept;
* past the deadline: kill the group (the script *and* its children).

When the script exits, anything it left running in its group (a background
``sleep &`` holding stdout open, say) is killed too: a request's life ends
with its script. And a script must not outlive the kernel that started it
(a kernel restart mid-lesson): every live group is killed when the kernel
exits, and on Linux each child also asks the kernel to send it SIGKILL if
its parent dies first (``PR_SET_PDEATHSIG``), which covers a killed kernel.
A script that exits without closing its pipes is noticed by polling every
:data:`IDLE_POLL` seconds while no bytes flow.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["IDLE_POLL", "STDERR_CAP", "ProcessOutcome", "kill_group", "run_process"]

STDERR_CAP = 64 * 1024
IDLE_POLL = 0.05
CHUNK = 64 * 1024


@dataclass
class ProcessOutcome:
    """What happened to one child process."""

    argv: list[str]
    pid: int | None = None
    stdout: bytes = b""
    stderr: bytes = b""
    stderr_size: int = 0
    returncode: int | None = None  # negative: killed by that signal
    timed_out: bool = False
    over_cap: bool = False
    spawn_error: OSError | None = None
    spawn_ms: float = 0.0
    run_ms: float = 0.0

    @property
    def signal(self) -> int | None:
        """The signal that ended the process, if one did."""
        if self.returncode is not None and self.returncode < 0:
            return -self.returncode
        return None


_live_groups: set[int] = set()
_live_lock = threading.Lock()


def _kill_live_groups() -> None:
    with _live_lock:
        groups = list(_live_groups)
    for pid in groups:
        kill_group(pid)


atexit.register(_kill_live_groups)


def _die_with_parent_hook() -> Callable[[], None] | None:
    """On Linux, a pre-exec step that makes the child die with its parent."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def die_with_parent() -> None:
        prctl(pr_set_pdeathsig, signal.SIGKILL)

    return die_with_parent


_DIE_WITH_PARENT = _die_with_parent_hook()


def kill_group(pid: int) -> None:
    """SIGKILL every process in the group ``pid`` leads (quietly if it is gone)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_process(
    argv: list[str],
    env: Mapping[str, str],
    cwd: str,
    body: bytes,
    *,
    timeout: float,
    max_output: int,
    stderr_cap: int = STDERR_CAP,
    on_spawn: Callable[[int], None] | None = None,
) -> ProcessOutcome:
    """Run ``argv`` with ``body`` on stdin; collect its output within the limits."""
    outcome = ProcessOutcome(list(argv))
    started = time.perf_counter()
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            shell=False,
            close_fds=True,
            start_new_session=True,
            preexec_fn=_DIE_WITH_PARENT,
        )
    except OSError as exc:
        outcome.spawn_error = exc
        outcome.spawn_ms = (time.perf_counter() - started) * 1000
        return outcome
    spawned = time.perf_counter()
    with _live_lock:
        _live_groups.add(process.pid)
    outcome.pid = process.pid
    outcome.spawn_ms = (spawned - started) * 1000
    try:
        if on_spawn is not None:
            on_spawn(process.pid)
        _pump(process, body, time.monotonic() + timeout, max_output, stderr_cap, outcome)
    finally:
        kill_group(process.pid)  # whatever the script left behind
        if process.poll() is None:  # it left its group (setsid): at least end it
            process.kill()
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe is not None and not pipe.closed:
                try:
                    pipe.close()
                except OSError:
                    pass
        process.wait()
        with _live_lock:
            _live_groups.discard(process.pid)
        outcome.returncode = process.returncode
        outcome.run_ms = (time.perf_counter() - spawned) * 1000
    return outcome


def _pump(
    process: subprocess.Popen[bytes],
    body: bytes,
    deadline: float,
    max_output: int,
    stderr_cap: int,
    outcome: ProcessOutcome,
) -> None:
    """Feed stdin, drain stdout and stderr, until both close or a limit is hit."""
    assert process.stdin and process.stdout and process.stderr
    stdout = bytearray()
    stderr = bytearray()
    pending = memoryview(body)
    exited = False
    with selectors.DefaultSelector() as selector:
        if pending:
            os.set_blocking(process.stdin.fileno(), False)
            selector.register(process.stdin, selectors.EVENT_WRITE)
        else:
            process.stdin.close()
        selector.register(process.stdout, selectors.EVENT_READ)
        selector.register(process.stderr, selectors.EVENT_READ)
        try:
            while selector.get_map():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    outcome.timed_out = True
                    return
                events = selector.select(min(remaining, IDLE_POLL))
                if not events and not exited and process.poll() is not None:
                    exited = True
                    kill_group(process.pid)  # children holding our pipes open
                for key, _ in events:
                    if key.fileobj is process.stdin:
                        pending = _write_some(selector, process, pending)
                        continue
                    data = os.read(key.fd, CHUNK)
                    if not data:
                        selector.unregister(key.fileobj)
                    elif key.fileobj is process.stdout:
                        stdout += data
                        if len(stdout) > max_output:
                            outcome.over_cap = True
                            return
                    else:
                        outcome.stderr_size += len(data)
                        stderr += data[: max(0, stderr_cap - len(stderr))]
            remaining = deadline - time.monotonic()
            try:
                process.wait(timeout=max(remaining, 0.001))
            except subprocess.TimeoutExpired:
                outcome.timed_out = True
        finally:
            outcome.stdout = bytes(stdout[:max_output])
            outcome.stderr = bytes(stderr)


def _write_some(
    selector: selectors.BaseSelector, process: subprocess.Popen[bytes], pending: memoryview
) -> memoryview:
    """Write what the stdin pipe takes now; close it when done or refused."""
    assert process.stdin is not None
    try:
        written = os.write(process.stdin.fileno(), pending[:CHUNK])
    except BlockingIOError:
        return pending
    except BrokenPipeError:  # the script stopped reading its input: its choice
        written = len(pending)
    pending = pending[written:]
    if not pending:
        selector.unregister(process.stdin)
        process.stdin.close()
    return pending
