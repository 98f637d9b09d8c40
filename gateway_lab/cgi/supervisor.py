"""A per-request supervisor that ends every descendant of a CGI script, whatever it does.

Theory of operation: a process group is not a leash. A script that runs
``setsid cmd &``, double-forks or calls ``nohup`` leaves its group, so killing
the group (what the gateway did first) misses it, and it outlives its request
and the kernel. What a descendant cannot leave is the *tree*: on Linux, a
process marked a **child subreaper** (``prctl(PR_SET_CHILD_SUBREAPER)``,
Linux 3.4+, no privileges needed) adopts every orphan among its descendants,
instead of init. See ``man 2 prctl``.

So each request gets a small supervisor process between the kernel and the
script. ``subprocess.Popen`` forks a child and calls its ``preexec_fn``
(:func:`preexec`) in it just before it would ``exec``; this one never
returns. The child marks itself a subreaper, closes every file it inherited
but the script's three pipes and its end of a socketpair to the kernel (the
*control* socket), and starts the script with ``os.posix_spawn`` (a
``vfork``-like start: no second copy of the kernel's memory map), in a process
group of its own, with default signal handling. Then it is the supervisor
(:func:`_supervise`), which

1. tells the kernel the script's pid (or why it could not start: the
   ``errno`` of ``exec``) on the control socket, and points its own copies
   of the script's pipes at ``/dev/null``;
2. waits (``select``, woken by ``SIGCHLD``) for the first of: the script
   exits; the kernel closes its end of the control socket (the request is
   over, because of a timeout, an output cap, an interrupt, or the kernel
   itself ended: a process's files close when it dies, however it dies); or
   its own deadline, the request's timeout plus :data:`GRACE`, which holds
   even if the kernel is stuck;
3. then kills the script's group, and kills every child it has until it has
   none: each killed process's own children are orphaned, so they become
   the supervisor's children and are killed in the next round. It reaps as
   it goes, so nothing is left, not even a zombie;
4. sends the script's exit status on the control socket and exits.

Why this and not another mechanism: a cgroup would do the same job but needs
a delegated cgroup tree, which a notebook user rarely has; tracking
descendants through ``/proc`` from the kernel misses a process that forks and
exits between two looks (its child is orphaned to init, out of sight). And
the kernel itself does not become a subreaper, which would make every orphan
of anything a learner starts (``subprocess``, ``os.system``) a zombie child
of the kernel that ``subprocess`` does not expect.

The supervisor is a fork of the kernel: Python code in a forked child of a
process with threads must touch nothing another thread might have held
locked. It only calls ``os``, ``select`` and ``signal``, with garbage
collection off (no finalizer of the kernel's objects runs in it), writes
nothing to stdout or stderr, and always leaves through ``os._exit``. It
ignores ``SIGINT``, ``SIGTERM``, ``SIGHUP`` and ``SIGQUIT``, so a script
cannot end it with a plain ``kill $PPID``. ``kill -KILL $PPID`` still can;
the kernel then sees the control socket close with no exit code and kills
every process left in the supervisor's session (:func:`end_session`), but a
process the script had moved to a session of its own survives: no
unprivileged mechanism prevents that.

Cost, measured with ``gl.run_cgi`` (best of 9 rounds of 30 requests,
alternating with the group-kill version, on a busy 2-core machine): a shell
script 4.3 ms a request instead of 3.6 (its start 3.0 ms instead of 2.4), a
Python script 27.3 ms instead of 26.7: the supervisor's own start-up runs
before the script's. On other systems :func:`available` is False and the
gateway keeps the process-group method.
"""

from __future__ import annotations

import ctypes
import gc
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping

__all__ = ["END_WITHIN", "GRACE", "Control", "available", "end_session", "preexec"]

GRACE = 1.0  # seconds the supervisor waits past the request's timeout for the kernel's word
END_WITHIN = 5.0  # seconds the supervisor spends at most ending the descendants
POLL = 0.5  # seconds between looks for ended children if SIGCHLD cannot wake the supervisor
PR_SET_CHILD_SUBREAPER = 36
IGNORED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGPIPE)
RESET_IN_SCRIPT = (*IGNORED, signal.SIGXFSZ, signal.SIGCHLD)  # the script starts with defaults


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


_PRCTL = _load_prctl()


def available() -> bool:
    """Whether this system can run the supervisor (Linux, with ``prctl``)."""
    return _PRCTL is not None


def preexec(
    argv: list[str], env: Mapping[str, str], control: int, other_end: int, lifetime: float
) -> Callable[[], None]:
    """The ``preexec_fn`` that turns ``Popen``'s child into the supervisor of ``argv``.

    ``control`` is the supervisor's end of the control socket, ``other_end``
    the kernel's (closed in the supervisor at once), ``lifetime`` the
    supervisor's own deadline in seconds from its start. The function never
    returns: the child runs the supervisor and leaves through ``os._exit``.
    """
    prctl = _PRCTL
    assert prctl is not None, "the supervisor needs Linux"
    environment = dict(env)

    def become_supervisor() -> None:
        deadline = time.monotonic() + lifetime
        status = 1
        try:
            prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
            status = _supervise(argv, environment, control, other_end, deadline)
        finally:
            os._exit(status)  # never return into Popen: it would exec the script itself

    return become_supervisor


def _supervise(
    argv: list[str], env: dict[str, str], control: int, other_end: int, deadline: float
) -> int:
    """The supervisor's whole life (see the module notes); returns its exit status."""
    gc.disable()
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # a write to a gone kernel must not end us
    _keep_only({control}, other_end)  # the kernel's Popen returns now; the script gets 0, 1, 2
    try:
        script = os.posix_spawn(
            argv[0], argv, env, setpgroup=0, setsigmask=(), setsigdef=RESET_IN_SCRIPT
        )
    except OSError as exc:  # not executable, no interpreter, ...: the kernel explains it
        _say(control, f"error {exc.errno or 0}")
        return 0
    _say(control, str(script))
    exited: dict[int, int] = {}
    wake: int | None = None
    try:
        null = os.open(os.devnull, os.O_RDWR)  # our copies of the script's pipes go
        for number in (0, 1, 2):
            os.dup2(null, number)
        os.close(null)
        for number in IGNORED:
            signal.signal(number, signal.SIG_IGN)
        wake = _wake_on_sigchld()
        while script not in exited:
            _reap(exited)
            remaining = deadline - time.monotonic()
            if script in exited or remaining <= 0:
                break
            watched = [control] if wake is None else [control, wake]
            ready, _, _ = select.select(watched, [], [], min(remaining, POLL))
            if control in ready:  # the kernel shut its end, or died: the request is over
                break
            if wake is not None:
                _drain(wake)
    finally:
        _end_descendants(script, exited, wake)
    _say(control, str(os.waitstatus_to_exitcode(exited[script])) if script in exited else "?")
    return 0


def _say(control: int, line: str) -> None:
    try:
        os.write(control, f"{line}\n".encode())
    except OSError:
        pass  # the kernel is gone: nobody to tell


def _wake_on_sigchld() -> int | None:
    """The read end of a pipe that gets a byte whenever a child ends, or None."""
    read_end, write_end = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        signal.set_wakeup_fd(write_end)
        signal.signal(signal.SIGCHLD, _ignore)
    except (ValueError, OSError):  # not the main thread after all: poll instead
        os.close(read_end)
        os.close(write_end)
        return None
    return read_end


def _ignore(number: int, frame: object) -> None:
    """A SIGCHLD handler that does nothing: its wake-up byte is what matters."""


def _keep_only(keep: set[int], other_end: int) -> None:
    """Close every inherited file but ``keep`` and 0, 1, 2 (the script's pipes)."""
    os.close(other_end)
    keep = keep | {0, 1, 2}
    try:
        names = os.listdir(f"/proc/{os.getpid()}/fd")
    except OSError:
        names = [str(number) for number in range(3, 1024)]
    for name in names:
        number = int(name)
        if number not in keep:
            try:
                os.close(number)
            except OSError:
                pass  # the listing's own descriptor, closed already


def _reap(exited: dict[int, int]) -> None:
    """Collect every child that has ended (``exited``: pid -> wait status)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        exited[pid] = status


def _drain(wake: int) -> None:
    try:
        while os.read(wake, 512):
            pass
    except BlockingIOError:
        pass


def _children() -> list[int]:
    """The supervisor's live children (the script, and every orphan it adopted)."""
    me = os.getpid()
    try:
        with open(f"/proc/{me}/task/{me}/children", encoding="ascii") as listing:
            return [int(pid) for pid in listing.read().split()]
    except OSError:
        pass
    found = []  # a kernel without /proc/<pid>/task/<tid>/children: look at every process
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == me:
                        found.append(int(name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _end_descendants(script: int, exited: dict[int, int], wake: int | None) -> None:
    """SIGKILL the script's group, then every child, round after round, until none is left.

    The group is killed in one call only while the script is not yet reaped:
    until then its pid (the group's number) cannot be reused by an unrelated
    process. Once reaped, the rounds below find its group's members anyway:
    every one of them is a descendant, and becomes a child when its parent dies.
    """
    if script not in exited:
        for kill in (os.killpg, os.kill):
            try:
                kill(script, signal.SIGKILL)
            except OSError:
                pass  # gone already, or it left the group
    give_up = time.monotonic() + END_WITHIN
    while time.monotonic() < give_up:
        _reap(exited)
        try:
            os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return  # no child at all, living or dead: everything has ended
        for child in _children():
            try:
                os.kill(child, signal.SIGKILL)
            except OSError:
                pass
        if wake is None:
            time.sleep(0.01)
        else:
            select.select([wake], [], [], 0.05)  # until a child ends (SIGCHLD), briefly
            _drain(wake)


def end_session(session: int) -> None:
    """The kernel's last resort: SIGKILL every process of the supervisor's ``session``.

    For a supervisor killed before its last word. The session's number is the
    supervisor's pid, which cannot be reused while the kernel has not reaped
    it: call this before ``wait()``.
    """
    for _ in range(3):
        found = False
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as stat:
                    in_session = int(stat.read().rsplit(")", 1)[1].split()[3]) == session
            except (OSError, IndexError, ValueError):
                continue
            if in_session:
                found = True
                try:
                    os.kill(int(name), signal.SIGKILL)
                except OSError:
                    pass
        if not found:
            return
        time.sleep(0.01)


class Control:
    """The kernel's end of the control socket: lines from the supervisor, and the stop word.

    The supervisor's end closes only when it exits, so an end of file on this
    socket means the supervisor has finished (or been killed): waiting for it
    needs no polling.
    """

    def __init__(self, end: socket.socket) -> None:
        self.end = end
        self._buffer = b""
        self.ended = False

    def _receive(self, timeout: float) -> bool:
        """Read what arrives within ``timeout``; False if nothing came in time."""
        self.end.settimeout(max(timeout, 0.0))
        try:
            piece = self.end.recv(256)
        except OSError:  # includes the timeout
            return False
        if piece:
            self._buffer += piece
        else:
            self.ended = True
        return True

    def read_line(self, timeout: float) -> str | None:
        """The supervisor's next line (first, the script's pid), or None."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer and not self.ended:
            if not self._receive(deadline - time.monotonic()):
                return None
        if b"\n" not in self._buffer:
            return None
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("ascii", "replace").strip()

    def wait_ended(self, timeout: float) -> bool:
        """Wait until the supervisor has exited; False if it is still running after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not self.ended:
            if not self._receive(deadline - time.monotonic()):
                return False
        return True

    def exit_code(self) -> int | None:
        """The script's exit code, as the supervisor's last line gave it (negative: a signal)."""
        lines = self._buffer.decode("ascii", "replace").split()
        try:
            return int(lines[-1]) if lines else None
        except ValueError:
            return None

    def request_stop(self) -> None:
        """The request is over: the supervisor ends everything, reports, and exits."""
        try:
            self.end.shutdown(socket.SHUT_WR)
        except OSError:
            pass
