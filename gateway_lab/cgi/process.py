"""Run one CGI script as a child process: body in, bounded output out, never stuck.

Theory of operation: a CGI request is one process. We start it with a list
``argv`` and ``shell=False`` (no shell ever parses anything), in a new
session, and one loop moves bytes in three directions at once, with
``selectors``: the request body into the script's stdin, its stdout and its
stderr out. Doing all three together matters: a script that writes a large
answer before reading a large body would block on a full stdout pipe while we
block on a full stdin pipe, and both would wait forever. The loop also
enforces the rules while reading, never after:

* stdout larger than ``max_output`` bytes: stop reading, end the script;
* stderr beyond ``stderr_cap`` is read (so the script never blocks on it)
  but not kept;
* past the deadline: end the script.

A request's life ends with its script, and nothing a script starts may
outlive its request or the kernel, whatever it does to its process group or
session (``setsid cmd &``, a double fork, ``nohup``). On Linux each script
runs under a small per-request supervisor, a child subreaper that adopts and
kills every descendant (:mod:`gateway_lab.cgi.supervisor` explains it and
why). The kernel talks to it over a socketpair: the supervisor's first line
is the script's pid; the kernel ends the request by shutting its end (or by
closing it, which also happens by itself when this function is left by an
exception, a ``KeyboardInterrupt`` at any moment included, and when the
kernel dies); the supervisor's last line is the script's exit code. The
supervisor also keeps its own deadline (the timeout plus a grace), so even a
kernel that is stuck cannot leave a script running. ``Popen`` itself runs off
the main thread (:mod:`gateway_lab.cgi.launch`), where no interrupt can land
inside the fork.

Elsewhere (macOS) the script leads its own process group, which is killed
when the request ends and when the kernel exits: that catches a background
``sleep &``, not a process that left the group.

A script that exits without closing its pipes is noticed by polling every
:data:`IDLE_POLL` seconds while no bytes flow.
"""

from __future__ import annotations

import atexit
import ctypes
import errno
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gateway_lab.cgi import supervisor
from gateway_lab.cgi.launch import Launch

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
    if not supervisor.available():
        return _run_in_group(argv, env, cwd, body, timeout, max_output, stderr_cap, on_spawn)
    outcome = ProcessOutcome(list(argv))
    started = time.perf_counter()
    kernel_end, supervisor_end = socket.socketpair()

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            shell=False,
            close_fds=True,
            start_new_session=True,
            preexec_fn=supervisor.preexec(
                argv, env, supervisor_end.fileno(), kernel_end.fileno(), timeout + supervisor.GRACE
            ),
        )

    launch = Launch(start, kernel_end, supervisor_end)
    control = supervisor.Control(kernel_end)
    spawned = started
    first = ""
    try:
        try:
            process = launch.run()
        except (OSError, subprocess.SubprocessError) as exc:
            outcome.spawn_error = _as_os_error(exc)
            outcome.spawn_ms = (time.perf_counter() - started) * 1000
            return outcome
        first = control.read_line(timeout=30.0) or ""  # the script's pid, or why not
        spawned = time.perf_counter()
        outcome.spawn_ms = (spawned - started) * 1000
        if not first.isdigit():
            outcome.spawn_error = _spawn_error(first)  # or: the supervisor was killed at once
            return outcome
        outcome.pid = int(first)
        if on_spawn is not None:
            on_spawn(outcome.pid)
        _pump(
            process,
            body,
            time.monotonic() + timeout,
            max_output,
            stderr_cap,
            outcome,
            wait_exit=control.wait_ended,
        )
    finally:
        if launch.release():  # else Popen is still running: the launch tidies up after it
            _end_request(launch.process, control, exec_failed=first.startswith("error"))
            kernel_end.close()
        if outcome.pid is not None:
            outcome.returncode = control.exit_code()
            if outcome.returncode is None:
                outcome.returncode = -signal.SIGKILL
            outcome.run_ms = (time.perf_counter() - spawned) * 1000
    return outcome


def _end_request(
    process: subprocess.Popen[bytes] | None, control: supervisor.Control, exec_failed: bool
) -> None:
    """Tell the supervisor the request is over, and wait until it has ended everything."""
    if process is None:
        return
    control.request_stop()
    process.send_signal(signal.SIGCONT)  # a script may have stopped its supervisor (SIGSTOP)
    ended = control.wait_ended(supervisor.END_WITHIN + 1)
    if control.exit_code() is None and not exec_failed:
        # the supervisor was killed (by the script?) before its last word: end what is left
        # of its session, while its pid (the session's number) is still ours, unreaped
        supervisor.end_session(process.pid)
    _close_pipes(process)  # only now: a closed pipe could end the script before its SIGKILL
    if ended:
        process.wait()  # it has closed its files: it is exiting, this is immediate


def _spawn_error(line: str) -> OSError:
    """The supervisor's ``error <errno>`` line (or silence) as an OSError."""
    code = line.removeprefix("error ").strip()
    if code.isdigit() and int(code):
        return OSError(int(code), os.strerror(int(code)))
    return OSError(
        errno.EAGAIN,
        "the gateway's supervisor process ended before it could report the start (a script "
        "that kills its parent process, the supervisor, ends its own request)",
    )


def _as_os_error(exc: OSError | subprocess.SubprocessError) -> OSError:
    """A launch failure as an OSError (a failed fork in the supervisor arrives without one)."""
    if isinstance(exc, OSError):
        return exc
    return OSError(errno.EAGAIN, f"the gateway could not start a process for it ({exc})")


def _close_pipes(process: subprocess.Popen[bytes]) -> None:
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None and not pipe.closed:
            try:
                pipe.close()
            except OSError:
                pass


def _run_in_group(
    argv: list[str],
    env: Mapping[str, str],
    cwd: str,
    body: bytes,
    timeout: float,
    max_output: int,
    stderr_cap: int,
    on_spawn: Callable[[int], None] | None,
) -> ProcessOutcome:
    """Without the supervisor (not Linux): the script leads a process group, killed at the end."""
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
        _pump(
            process,
            body,
            time.monotonic() + timeout,
            max_output,
            stderr_cap,
            outcome,
            on_exit=lambda: kill_group(process.pid),  # children holding our pipes open
        )
    finally:
        kill_group(process.pid)  # whatever the script left behind
        if process.poll() is None:  # it left its group (setsid): at least end it
            process.kill()
        _close_pipes(process)
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
    on_exit: Callable[[], None] | None = None,
    wait_exit: Callable[[float], bool] | None = None,
) -> None:
    """Feed stdin, drain stdout and stderr, until both close or a limit is hit.

    ``on_exit`` runs once when the child is seen to have exited while a pipe
    is still open (something it left behind holds it). ``wait_exit(seconds)``
    waits for the child to end once the pipes are closed, True if it did
    (default: ``process.wait``).
    """
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
                    if on_exit is not None:
                        on_exit()
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
            remaining = max(deadline - time.monotonic(), 0.001)
            if wait_exit is not None:
                outcome.timed_out = not wait_exit(remaining)
            else:
                try:
                    process.wait(timeout=remaining)
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
