"""Compare servers fairly: one client process, one connection policy, rounds in turn.

Theory of operation
-------------------
A hello-world timing from inside the kernel mixes the servers with their
client: httpx runs in the same process (one GIL for client and servers), and
each server gets whatever connections it chooses to keep. :func:`compare`
removes those two differences and says what it kept:

* **The client is another process.** Each run starts this file as a script
  (``python -I fairbench.py ARGS``), which imports only the standard library,
  sends ``requests`` sequential GETs with raw sockets to 127.0.0.1 and prints
  its per-request latencies (and how many connections it opened) as JSON.
* **One connection policy for every server.** ``"new-connection"``: connect,
  ask ``Connection: close``, read, close, for each request.
  ``"keep-alive"``: one HTTP/1.1 connection reused for every request; if the
  server closes it anyway, the client reconnects (and counts it), so a
  server that refuses keep-alive shows up in the ``connections`` column.
* **Rounds in turn.** The servers take turns round by round, the order
  reversed every other round (A B, B A, A B ...), so a slow moment of the
  machine does not land on one server only.

Asking one policy of every server does not make them *use* one:
:attr:`FairResult.like_for_like` is true only when every server took as
many connections as the others, and the table's last line says which (with
the counts) so that a ratio across different connections is not read as a
fair one. :class:`FairResult` keeps each round's latencies and reports, per
server, the median of the round medians, the **best round** (the lowest
round median), the number of samples, and a p99 only when there are at
least ``P99_MIN_SAMPLES`` (otherwise ``None`` and why).

* **The ratio is best round against best round.** A busy moment of the
  machine only ever slows a round down, so each server's fastest round is
  the one least disturbed; a ratio of medians over all rounds moves with
  however many rounds a busy moment hit (from 0.4 to 3.4 from one run to the
  next on a loaded two-core machine).
* **The spread is printed with it.** The two servers' rounds k ran one
  right after the other, so each pair gives a round ratio; the table prints
  their range and says whether every round put the servers in the same
  order. When the rounds disagree, the difference is within this machine's
  noise, and the table says so instead of letting a learner read a result
  into it.

The client is another process but not another machine: the table
says it shares this machine's cores with the servers. Every socket and every
client run has a timeout.
"""

from __future__ import annotations

import json
import math
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

POLICIES = ("new-connection", "keep-alive")
P99_MIN_SAMPLES = 100  # below this, the slowest 1 % is less than one request
SOCKET_TIMEOUT = 5.0  # seconds, per connect / send / receive
MAX_REQUESTS = 10_000
MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024


@dataclass
class ServerFigures:
    """One server's runs: a list of per-request latencies (seconds) per round."""

    name: str
    url: str
    rounds: list[list[float]] = field(default_factory=list)
    connections: list[int] = field(default_factory=list)

    @property
    def samples(self) -> int:
        return sum(len(run) for run in self.rounds)

    @property
    def round_medians(self) -> list[float]:
        """Each round's median, in seconds, in the order the rounds ran."""
        return [statistics.median(run) for run in self.rounds]

    @property
    def median(self) -> float:
        """The median of the round medians, in seconds."""
        return statistics.median(self.round_medians)

    @property
    def best(self) -> float:
        """The best round: the lowest round median, in seconds."""
        return min(self.round_medians)

    @property
    def p99(self) -> float | None:
        """The 99th percentile over all samples, or ``None`` below ``P99_MIN_SAMPLES``."""
        if self.samples < P99_MIN_SAMPLES:
            return None
        pooled = sorted(s for run in self.rounds for s in run)
        return pooled[min(len(pooled) - 1, math.ceil(0.99 * len(pooled)) - 1)]

    @property
    def p99_note(self) -> str:
        if self.p99 is not None:
            return f"{self.p99 * 1e3:.3f} ms"
        return f"withheld: {self.samples} samples < {P99_MIN_SAMPLES}"


@dataclass
class FairResult:
    """What :func:`compare` measured, and how."""

    policy: str
    requests: int
    order: list[str]
    servers: dict[str, ServerFigures]
    client_pids: list[int]

    @property
    def rounds(self) -> int:
        return max((len(s.rounds) for s in self.servers.values()), default=0)

    @property
    def connections(self) -> dict[str, int]:
        """Each server's connections over every round (warm-up requests included)."""
        return {name: sum(figures.connections) for name, figures in self.servers.items()}

    @property
    def like_for_like(self) -> bool:
        """True when every server used as many connections as the others.

        Under ``"keep-alive"`` a server that closes after each response is
        reconnected for every request, so it pays a TCP connection per request
        that the other does not: its ratio is not a like-for-like one.
        """
        return len(set(self.connections.values())) <= 1

    def like_for_like_note(self) -> str:
        """One line: whether the servers used the same connections, with the counts."""
        counts = self.connections
        if self.like_for_like:
            each = next(iter(counts.values()), 0)
            return f"like for like: every server used {each} connections"
        shown = ", ".join(f"{name} {count}" for name, count in counts.items())
        return (
            f"NOT like for like: the servers used different connections ({shown}), so the "
            "ratios also time the extra TCP connections of one side"
        )

    def _baseline(self, baseline: str | None) -> ServerFigures:
        return self.servers[baseline if baseline is not None else next(iter(self.servers))]

    def ratio(self, name: str, baseline: str | None = None) -> float:
        """``name``'s best round over ``baseline``'s (default: the first server)."""
        return self.servers[name].best / self._baseline(baseline).best

    def round_ratios(self, name: str, baseline: str | None = None) -> list[float]:
        """Round by round, ``name``'s median over ``baseline``'s (the same round: in turn)."""
        mine, base = self.servers[name].round_medians, self._baseline(baseline).round_medians
        return [a / b for a, b in zip(mine, base, strict=False)]

    def spread_note(self, name: str, baseline: str | None = None) -> str:
        """The round ratios' range, and whether every round put the two in the same order."""
        base = self._baseline(baseline).name
        ratios = self.round_ratios(name, baseline)
        if not ratios or name == base:
            return ""
        low, high = min(ratios), max(ratios)
        if high < 1:
            verdict = f"{name} was faster in every round"
        elif low > 1:
            verdict = f"{name} was slower in every round"
        else:
            verdict = (
                "the rounds disagree on which is faster, so the difference is within this "
                "machine's noise: no result"
            )
        return (
            f"round by round, {name} / {base}: {low:.2f} to {high:.2f} over "
            f"{len(ratios)} rounds: {verdict}"
        )

    def __str__(self) -> str:
        first = next(iter(self.servers), "")
        pids = sorted(set(self.client_pids))
        lines = [
            f"policy {self.policy}: {self.rounds} rounds of {self.requests} sequential GETs per "
            f"server, in turn (order reversed every other round)",
            f"client: {len(pids)} separate processes, not this one (pid {os.getpid()}), on "
            f"this machine: they share its {_cores()} CPU cores with the servers",
            f"{'server':<24} {'samples':>7} {'connections':>11} {'median':>10} "
            f"{'best round':>10} {'p99':>28}  best round / {first}'s",
        ]
        for name, figures in self.servers.items():
            lines.append(
                f"{name:<24} {figures.samples:>7} {sum(figures.connections):>11} "
                f"{figures.median * 1e3:>7.3f} ms {figures.best * 1e3:>7.3f} ms "
                f"{figures.p99_note:>28}  {self.ratio(name):.2f}"
            )
        lines += [self.spread_note(name) for name in list(self.servers)[1:]]
        lines.append(f"{self.like_for_like_note()} (connections include the warm-up requests)")
        return "\n".join(lines)


def _cores() -> int:
    """The CPU cores this process may run on (the machine's, if the OS cannot say)."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        return len(affinity(0))
    return os.cpu_count() or 1


def http_parser(server: object) -> str:
    """Which HTTP parser a ``gl.serve_asgi`` uvicorn server runs (its ``Config.http``)."""
    config = getattr(getattr(getattr(server, "_runner", None), "server", None), "config", None)
    http = getattr(config, "http", None)
    if http is None:
        return "not a uvicorn server"
    return http if isinstance(http, str) else getattr(http, "__name__", repr(http))


def schedule(names: list[str], rounds: int) -> list[str]:
    """The order of the runs: every name once per round, reversed every other round."""
    order: list[str] = []
    for number in range(rounds):
        order.extend(names if number % 2 == 0 else reversed(names))
    return order


def compare(
    urls: dict[str, str],
    *,
    requests: int = 200,
    rounds: int = 5,
    policy: str = "new-connection",
    warmup: int = 1,
    timeout: float = 30.0,
) -> FairResult:
    """Time ``requests`` GETs to each URL per round, from a client in another process."""
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, not {policy!r}")
    if not urls:
        raise ValueError("give at least one server")
    if not 1 <= requests <= MAX_REQUESTS or rounds < 1 or warmup < 0:
        raise ValueError("need 1 <= requests <= 10000, rounds >= 1 and warmup >= 0")
    for url in urls.values():
        _target(url)  # loopback only, checked before anything runs
    servers = {name: ServerFigures(name, url) for name, url in urls.items()}
    order = schedule(list(urls), rounds)
    pids: list[int] = []
    for name in order:
        report = run_client(urls[name], requests, policy, warmup=warmup, timeout=timeout)
        servers[name].rounds.append(report["latencies"])
        servers[name].connections.append(report["connections"])
        pids.append(report["pid"])
    return FairResult(policy, requests, order, servers, pids)


def run_client(
    url: str, requests: int, policy: str, *, warmup: int = 1, timeout: float = 30.0
) -> dict:
    """Run the client in a new process; its JSON report (latencies, connections, pid)."""
    _target(url)
    args = json.dumps({"url": url, "requests": requests, "policy": policy, "warmup": warmup})
    done = subprocess.run(
        [sys.executable, "-I", os.path.abspath(__file__), args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the client failed: {done.stderr.strip()[-500:]}")
    report: dict = json.loads(done.stdout)
    if len(report["latencies"]) != requests:
        raise RuntimeError(f"the client sent {len(report['latencies'])} of {requests} requests")
    return report


def _target(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
        raise ValueError(f"only http://127.0.0.1 URLs are timed, not {url!r}")
    path = parts.path or "/"
    return "127.0.0.1", parts.port or 80, path + (f"?{parts.query}" if parts.query else "")


def _read_response(sock: socket.socket, buffer: bytes) -> tuple[bool, bytes]:
    """Read one response; (the server keeps the connection open, bytes left over)."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk or len(buffer) > MAX_HEAD:
            raise ConnectionError("the connection closed before a whole response head")
        buffer += chunk
    head, _, buffer = buffer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ", 2)
    if len(status) < 2 or not status[1].startswith("2"):
        raise ConnectionError(f"not a 2xx answer: {lines[0]!r}")
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip().lower()
    keep = status[0] == "HTTP/1.1" and "close" not in fields.get("connection", "")
    if "content-length" in fields:
        length = int(fields["content-length"])
        if length > MAX_BODY:
            raise ConnectionError("body too large")
        while len(buffer) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the connection closed inside the body")
            buffer += chunk
        return keep, buffer[length:]
    while len(buffer) <= MAX_BODY:  # no length: the body ends when the server closes
        chunk = sock.recv(65536)
        if not chunk:
            return False, b""
        buffer += chunk
    raise ConnectionError("body too large")


def client(url: str, requests: int, policy: str, warmup: int = 1) -> dict:
    """Sequential GETs on raw sockets with one connection policy (runs in the client process)."""
    host, port, path = _target(url)
    close = policy == "new-connection"
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        + ("Connection: close\r\n" if close else "")
        + "\r\n"
    ).encode("ascii")
    sock: socket.socket | None = None
    buffer = b""
    connections = 0
    latencies: list[float] = []
    try:
        for number in range(warmup + requests):
            start = time.perf_counter()
            if sock is None:
                sock = socket.create_connection((host, port), timeout=SOCKET_TIMEOUT)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                connections += 1
                buffer = b""
            sock.sendall(request)
            keep, buffer = _read_response(sock, buffer)
            if close or not keep:
                sock.close()
                sock = None
            if number >= warmup:
                latencies.append(time.perf_counter() - start)
    finally:
        if sock is not None:
            sock.close()
    return {"latencies": latencies, "connections": connections, "pid": os.getpid()}


if __name__ == "__main__":
    options = json.loads(sys.argv[1])
    print(json.dumps(client(**options)))
