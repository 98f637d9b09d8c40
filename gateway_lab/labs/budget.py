"""How big a load lab should be on the machine it finds itself on.

Theory of operation
-------------------
The load labs (lessons 05, 08 and 09) send many requests and compare the
times they take. On a laptop a lab has the machine to itself. On a hub it
shares the cores with every other learner, often with a whole class starting
the same lab in the same minute; a lab sized for a laptop then does two kinds
of harm: it takes CPU time the others need, and its own comparisons drown in
the time each request spends waiting for a core.

:func:`measure` looks, in a fraction of a second, at what this kernel can
count on right now:

* **cores**: how much CPU this kernel can expect. The machine's cores (those
  this process may run on); when more tasks are runnable than there are
  cores (Linux's ``procs_running``, the median of ten looks over 0.2 s), only
  a fair share of them, cores x cores / runnable tasks; and never more than
  the container's CPU limit when there is one (cgroup v2 ``cpu.max``, or v1
  ``cpu.cfs_quota_us``: what The Littlest JupyterHub's ``limits.cpu`` and
  Zero to JupyterHub's ``singleuser.cpu.limit`` set).
* **request_s**: the median wall time of one request over loopback to a
  trivial WSGI app served in this kernel, each on a new connection, the way
  the labs send theirs. About a millisecond or two on an idle laptop; on a
  crowded machine many times more, because the client and the server each
  wait for a core.

A :class:`Budget` turns the two into sizes; each lab cell says which of its
sizes follow it:

* :meth:`Budget.count` scales a number of requests (or clients) sized for a
  laptop (``REFERENCE_REQUEST_S`` per request, at least one core): by how much
  slower a request is here, or by the share of a core this kernel can expect,
  whichever is the smaller, and never below a floor that keeps the lesson's point visible.
  Thirty learners starting the same lab together then ask for a bounded
  amount of CPU time, instead of thirty laptops' worth.
* :meth:`Budget.wait` stretches a wait that the lab's checks compare with
  (a long-poll's wait, a "slow database"): to at least ``MARGIN`` times what
  sending all the lab's requests takes here, capped at ``MAX_STRETCH`` times
  the default, so the time spent getting requests out stays small beside
  the wait it is compared with.

``Budget.laptop()`` is the budget of an idle laptop: sizes as the lesson
states them. Everything is measured in this kernel, now, on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from gateway_lab.platform import IN_BROWSER
from gateway_lab.types import Environ, StartResponse

__all__ = [
    "MARGIN",
    "MAX_STRETCH",
    "REFERENCE_REQUEST_S",
    "Budget",
    "cgroup_cpu_limit",
    "measure",
]

REFERENCE_REQUEST_S = 0.002  # one new-connection request on an idle laptop, about
MARGIN = 2.0  # a wait is at least this many times the time to send the lab's requests
MAX_STRETCH = 3.0  # ... but never more than this many times the lesson's default
SAMPLES = 15  # calibration requests (plus one to warm up)
CGROUP = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Budget:
    """What this kernel can count on now: cores, and what one request costs here."""

    cores: float  # cores this kernel can expect now (its fair share, capped by a CPU limit)
    request_s: float  # median seconds per loopback request on a new connection
    cpu_limit: float | None = None  # the container's CPU limit in cores, if any

    @classmethod
    def laptop(cls) -> Budget:
        """An idle laptop: every size as the lesson states it."""
        return cls(cores=1.0, request_s=REFERENCE_REQUEST_S)

    @property
    def factor(self) -> float:
        """How much of a laptop's lab fits here now (0.05 to 1): the scarcer of speed and cores."""
        speed = REFERENCE_REQUEST_S / self.request_s if self.request_s > 0 else 1.0
        return max(0.05, min(1.0, speed, self.cores))

    def count(self, default: int, floor: int) -> int:
        """``default`` scaled by :attr:`factor`, at least ``floor`` (and at most ``default``)."""
        if floor > default:
            raise ValueError(f"floor ({floor}) must not be above default ({default})")
        return max(floor, min(default, round(default * self.factor)))

    def wait(self, default: float, clients: int) -> float:
        """``default``, stretched so that sending ``clients`` requests stays small beside it."""
        needed = MARGIN * clients * self.request_s / min(1.0, max(self.cores, 0.05))
        return round(min(default * MAX_STRETCH, max(default, needed)), 2)

    def describe(self) -> str:
        limit = f", CPU limit {self.cpu_limit:g} cores" if self.cpu_limit is not None else ""
        share = "full size" if self.factor >= 1.0 else f"{self.factor:.0%} of full size"
        return (
            f"this machine now: {self.cores:.1f} core(s) for this kernel{limit}, "
            f"{self.request_s * 1000:.1f} ms per loopback request -> labs at {share}"
        )

    def __str__(self) -> str:
        return self.describe()


def cgroup_cpu_limit(root: Path = CGROUP) -> float | None:
    """The CPU limit of this process's container, in cores, or None if it has none.

    Reads cgroup v2 ``cpu.max`` ("max 100000" means no limit; "50000 100000"
    means half a core), or cgroup v1 ``cpu/cpu.cfs_quota_us`` (-1: no limit)
    over ``cpu.cfs_period_us``.
    """
    try:
        v2 = root / "cpu.max"
        if v2.is_file():
            quota, _, period = v2.read_text().strip().partition(" ")
            if quota == "max":
                return None
            return int(quota) / int(period or "100000")
        v1 = root / "cpu" / "cpu.cfs_quota_us"
        if v1.is_file():
            quota_us = int(v1.read_text().strip())
            if quota_us <= 0:
                return None
            return quota_us / int((root / "cpu" / "cpu.cfs_period_us").read_text().strip())
    except (OSError, ValueError):
        return None
    return None


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def _running_tasks(samples: int = 10, every: float = 0.02) -> float | None:
    """Median count of runnable tasks on the machine over ``samples`` looks (Linux)."""
    counts = []
    for _ in range(samples):
        try:
            for line in Path("/proc/stat").read_text().splitlines():
                if line.startswith("procs_running "):
                    counts.append(int(line.split()[1]))
        except (OSError, ValueError):
            break
        time.sleep(every)
    if counts:
        return float(statistics.median(counts))
    try:
        return os.getloadavg()[0]  # macOS: the one-minute average, close enough
    except (AttributeError, OSError):  # Windows
        return None


def fair_cores(usable: int, running: float | None, limit: float | None) -> float:
    """Cores this kernel can expect: its fair share when more tasks run than there are cores.

    ``running`` counts the runnable tasks (this one included); ``limit`` is a
    container's CPU limit in cores.
    """
    cores = float(usable)
    if running is not None and running > usable:
        cores = usable * usable / running
    return min(cores, limit) if limit is not None else cores


def _request_seconds() -> float:
    import httpx

    from gateway_lab.serving.registry import serve_wsgi

    def tiny(environ: Environ, start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    limits = httpx.Limits(max_keepalive_connections=0)
    with (
        serve_wsgi(tiny, name="gateway-lab budget") as server,
        httpx.Client(headers={"Connection": "close"}, limits=limits, timeout=10) as client,
    ):
        client.get(server.url)  # warm-up: not counted
        seconds = []
        for _ in range(SAMPLES):
            started = time.perf_counter()
            client.get(server.url)
            seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def measure() -> Budget:
    """Measure this machine now (well under a second) and return its :class:`Budget`.

    In a browser tab (the course's browser edition) there is no socket to time
    and the load cells are recordings, so the sizes are the laptop's, as stated.
    """
    if IN_BROWSER:
        return Budget.laptop()
    limit = cgroup_cpu_limit()
    cores = fair_cores(_usable_cores(), _running_tasks(), limit)
    return Budget(cores=cores, request_s=_request_seconds(), cpu_limit=limit)
