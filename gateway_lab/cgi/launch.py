"""Start a CGI script's supervisor so that no interrupt can land inside the fork.

Theory of operation: ``subprocess.Popen`` forks, and around the fork Python
runs the *at-fork hooks* that libraries register (``logging`` takes its lock
before the fork and releases it after). A ``KeyboardInterrupt`` is raised in
the main thread between two bytecodes, so one can land inside such a hook;
Python then drops it ("Exception ignored in: <function _releaseLock>") and,
worse, the hook never finished: ``logging``'s lock stays held, and the next
fork from any other thread (every request of ``serve_cgi``) waits for it
forever. Python runs signal handlers in the main thread only, so the cure is
to call ``Popen`` somewhere else: from the main thread, :class:`Launch` starts
it in a short-lived helper thread and waits; from any other thread it simply
calls it.

An interrupt can still land in the main thread's wait. Then the launch is
*abandoned*: whoever finishes last tidies up. If ``Popen`` has returned, the
caller does its usual clean-up; if not, the helper thread does it when
``Popen`` returns: it closes the kernel's end of the control socket (so the
supervisor ends everything), the pipes, and waits (bounded) for the
supervisor to exit. Neither end of the control socket is closed while a fork
may still copy it: a closed descriptor's number could be reused by an
unrelated file, which the supervisor would then write to.
"""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Callable

from gateway_lab.cgi.supervisor import END_WITHIN

__all__ = ["Launch"]

Starter = Callable[[], "subprocess.Popen[bytes]"]


class Launch:
    """One ``Popen`` call, run where no interrupt can reach it, and its tidy-up if abandoned."""

    def __init__(self, start: Starter, kernel_end: socket.socket, child_end: socket.socket):
        self._start = start
        self.kernel_end = kernel_end
        self._child_end = child_end
        self._lock = threading.Lock()
        self._done = False
        self._abandoned = False
        self.process: subprocess.Popen[bytes] | None = None
        self.error: BaseException | None = None

    def run(self) -> subprocess.Popen[bytes]:
        """Start the child and return it (raises what ``Popen`` raised)."""
        if threading.current_thread() is threading.main_thread():
            helper = threading.Thread(target=self._call, name="gateway-lab-cgi-launch", daemon=True)
            helper.start()
            helper.join()
        else:
            self._call()
        if self.error is not None:
            raise self.error
        assert self.process is not None
        return self.process

    def release(self) -> bool:
        """The caller is leaving. True: ``Popen`` is over, the caller tidies up; False: not."""
        with self._lock:
            if not self._done:
                self._abandoned = True
            return self._done

    def _call(self) -> None:
        process: subprocess.Popen[bytes] | None = None
        error: BaseException | None = None
        try:
            process = self._start()
        except BaseException as exc:  # handed to the caller (or tidied up, if it has left)
            error = exc
        finally:
            self._child_end.close()  # the fork is over: its copy lives in the supervisor
        with self._lock:
            self.process, self.error, self._done = process, error, True
            abandoned = self._abandoned
        if abandoned:
            self._tidy()

    def _tidy(self) -> None:
        """Abandoned: the supervisor ends everything when the kernel's end closes."""
        self.kernel_end.close()
        process = self.process
        if process is None:
            return
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass
        try:
            process.wait(timeout=END_WITHIN + 1)
        except subprocess.TimeoutExpired:
            pass
