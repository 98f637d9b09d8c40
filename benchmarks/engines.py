"""Side by side: the mini servers against the engines they are measured by.

Run ``python benchmarks/engines.py`` (about 50 s; ``--rounds`` and
``--seconds`` change that). It prints figures; it asserts nothing.

Theory of operation: two pairs serve the same "Hello, world!" app, so the
difference is the engine's alone.

* **mini WSGI vs wsgiref** (the standard library's reference server);
* **mini ASGI vs uvicorn**, with uvicorn told ``http="h11"``, so both sides
  parse HTTP with h11 (uvicorn picks httptools when it is installed; the run
  prints which protocol class uvicorn actually loaded).

The load comes from **one separate client process** (this file with
``--client``), started once and given one job per round on a pipe, so the
client never shares the servers' GIL. It speaks HTTP/1.1 on raw loopback
sockets with one of two **connection policies**, the same for both sides:

``keep-alive``
    one connection, request after request; it reconnects only when the
    server closes. wsgiref closes after every response, so for the WSGI pair
    this row is not like for like, and says so;
``new-connection``
    connect, send the request with ``Connection: close``, read the response,
    close: both servers do exactly the same work. The fair policy for WSGI.

A comparison is **several alternating rounds** (mini, other, mini, ...),
each on a freshly started server (only the measured one runs) after a short
warm-up the client does not count. Many short rounds (9 of 0.5 s) rather
than a few long ones: on a shared machine other load comes and goes, and
alternating often lets both sides meet the same conditions, while the
median drops the rounds a burst spoiled. Per pair and policy it prints each
round's requests/s, the medians, the **ratio of the medians**, the per-round
ratios, the server's CPU time per request (this process's CPU over every
request: less moved by other load than requests/s), and how many cores the
rest of the machine used meanwhile (``/proc/stat``, including "steal", time
a virtual machine's host took away), with the load average before and after.

Each engine serves the bare app; ``--guarded`` wraps it in the guard that
``gl.serve_wsgi`` / ``gl.serve_asgi`` add, as a learner's server has.
``--profile ENGINE`` runs one round of one engine under cProfile (every
thread the server starts) and prints where its time went.
``benchmarks/gateways.py`` reuses the client and ``start_side``. It is one
file (over 400 lines) on purpose: the client process runs this same file, so
what the client sends and what the tables say cannot drift apart.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import json
import os
import pstats
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, TextIO

from ceilings import CEILINGS  # benchmarks/ceilings.py, next to this file

from gateway_lab.serving.engines import runner_class
from gateway_lab.serving.engines.base import EngineRunner
from gateway_lab.serving.log import ServerLog
from gateway_lab.serving.loopback import LOOPBACK, bind_loopback

__all__ = ["PAIRS", "POLICIES", "LoadClient", "Pair", "Round", "Settings", "Side", "main"]

HELLO = b"Hello, world!"
KEEP_ALIVE, NEW_CONNECTION = "keep-alive", "new-connection"
POLICIES = (KEEP_ALIVE, NEW_CONNECTION)
FAIR = (NEW_CONNECTION,)  # wsgiref closes after every response, whatever the client asks
REQUESTS = {
    KEEP_ALIVE: b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    NEW_CONNECTION: b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
}


def hello_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "13")])
    return [HELLO]


async def hello_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"13")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": HELLO})


# -- the client: runs in its own process -----------------------------------------------


def read_response(sock: socket.socket, buffer: bytes) -> tuple[bytes, bool]:
    """Read one 200 response; returns the bytes after it and whether the server closes."""
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection mid-answer")
        buffer += data
    head, _, buffer = buffer.partition(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    if lines[0].split(b" ")[1:2] != [b"200"]:
        raise ConnectionError(f"the server answered {lines[0]!r}")
    sizes = [int(v) for k, _, v in (x.partition(b":") for x in lines) if k == b"content-length"]
    if not sizes:  # no length: the body ends when the server closes
        while sock.recv(65536):
            pass
        return b"", True
    while len(buffer) < sizes[0]:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection mid-body")
        buffer += data
    return buffer[sizes[0] :], b"connection: close" in lines or head.startswith(b"HTTP/1.0")


def load(
    port: int, seconds: float, warmup: float, policy: str, connections: int = 1
) -> dict[str, Any]:
    """GET / from ``connections`` threads for ``warmup`` + ``seconds``; count after warm-up."""
    request = REQUESTS[policy]
    counted, total, reconnects = [0] * connections, [0] * connections, [0] * connections
    errors: list[str] = []
    cpu = time.process_time()
    warmup_end = time.perf_counter() + warmup
    end = warmup_end + seconds

    def worker(number: int) -> None:
        sock: socket.socket | None = None
        buffer = b""
        while time.perf_counter() < end and len(errors) < 100:
            try:
                if sock is None:
                    sock = socket.create_connection((LOOPBACK, port), timeout=10)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    buffer = b""
                    reconnects[number] += time.perf_counter() >= warmup_end
                sock.sendall(request)
                buffer, closes = read_response(sock, buffer)
            except OSError as exc:  # ConnectionError included: note it, start afresh
                errors.append(f"{type(exc).__name__}: {exc}")
                closes = True
            else:
                total[number] += 1
                counted[number] += time.perf_counter() >= warmup_end
            if (closes or policy == NEW_CONNECTION) and sock is not None:
                sock.close()
                sock = None
        if sock is not None:
            sock.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "rate": sum(counted) / max(1e-9, time.perf_counter() - warmup_end),
        "all_requests": sum(total),
        "reconnects": sum(reconnects),
        "errors": [f"{len(errors)} errors, e.g. {errors[0]}"] if errors else [],
        "client_cpu": time.process_time() - cpu,
    }


def client_main(jobs: TextIO, results: TextIO) -> None:
    """One JSON job per line in, one JSON result per line out, until the pipe closes."""
    for line in jobs:
        results.write(json.dumps(load(**json.loads(line))) + "\n")
        results.flush()


class LoadClient:
    """The client process, started once: ``run`` gives it a job and waits for the result."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--client"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(
        self, port: int, seconds: float, warmup: float, policy: str, connections: int
    ) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        job = {"port": port, "seconds": seconds, "warmup": warmup, "policy": policy}
        self.process.stdin.write(json.dumps(job | {"connections": connections}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the load client process ended; its error is above")
        return json.loads(line)

    def __enter__(self) -> LoadClient:
        return self

    def __exit__(self, *exc: object) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()
        self.process.wait(timeout=10)


# -- the servers ------------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One engine serving the hello app: ``interface`` is "wsgi" or "asgi"."""

    label: str
    interface: str
    engine: str


@dataclass(frozen=True)
class Pair:
    """A mini server and the engine it is measured against, with the target ratio."""

    mini: Side
    other: Side
    target: float
    fair: tuple[str, ...]  # the policies under which both sides do the same work
    ceilings: tuple[Side, ...] = ()  # measured too, under the fair policies only


PAIRS = {
    "asgi": Pair(
        Side("mini ASGI", "asgi", "mini"), Side("uvicorn (h11)", "asgi", "uvicorn"), 1.0, POLICIES
    ),
    "wsgi": Pair(
        Side("mini WSGI", "wsgi", "mini"),
        Side("wsgiref", "wsgi", "wsgiref"),
        1.5,
        (NEW_CONNECTION,),
        tuple(Side(f"ceiling: {name}", "wsgi", name) for name in CEILINGS),
    ),
}
SIDES = {f"{s.engine}-{s.interface}": s for p in PAIRS.values() for s in (p.mini, p.other)}


def _runner_class(side: Side) -> type[EngineRunner]:
    if side.engine in CEILINGS:
        return CEILINGS[side.engine]
    base = runner_class(side.interface, side.engine)
    if side.engine != "uvicorn":
        return base

    class H11Uvicorn(base):  # type: ignore[valid-type,misc]
        """uvicorn told to parse with h11, whatever the engine's own default is."""

        def prepare(self) -> None:
            super().prepare()
            self.server.config.http = "h11"

    return H11Uvicorn


def start_side(side: Side, guarded: bool = False) -> EngineRunner:
    """A running server for ``side`` on a fresh loopback port (``runner.sock``); stop() it."""
    log = ServerLog(f"bench-{side.interface}-{side.engine}")
    app: Any = hello_wsgi if side.interface == "wsgi" else hello_asgi
    if guarded:
        from gateway_lab.serving.asgi_guard import ASGIGuard
        from gateway_lab.serving.wsgi_guard import WSGIGuard

        app = WSGIGuard(app, log) if side.interface == "wsgi" else ASGIGuard(app, log)
    runner = _runner_class(side)(app, bind_loopback(0), log)
    runner.start()
    return runner


def uvicorn_http() -> str:
    """What a started uvicorn side parses HTTP with, and whether httptools exists."""
    runner = start_side(PAIRS["asgi"].other)
    try:
        config = runner.server.config  # type: ignore[attr-defined]
        protocol = getattr(config.http_protocol_class, "__qualname__", config.http_protocol_class)
    finally:
        runner.stop()
    installed = "httptools is not installed"
    if importlib.util.find_spec("httptools") is not None:
        installed = "httptools is installed (uvicorn's default, http='auto', would pick it)"
    return f"uvicorn forced to http={config.http!r} (protocol class {protocol}); {installed}"


# -- measuring --------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    seconds: float = 0.5
    warmup: float = 0.15
    connections: int = 1
    guarded: bool = False


@dataclass
class Round:
    """One side's figures in one round."""

    rate: float  # requests per second after the warm-up
    server_cpu_us: float  # this process's CPU time per request, warm-up included
    others: float | None  # cores the rest of the machine used (steal included)
    reconnects: int
    errors: list[str]


def machine_busy() -> float | None:
    """CPU-seconds the whole machine has been busy (stolen time included), from /proc/stat."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def measure(client: LoadClient, side: Side, policy: str, settings: Settings) -> Round:
    runner = start_side(side, settings.guarded)
    try:
        port = runner.sock.getsockname()[1]
        busy, ours, wall = machine_busy(), time.process_time(), time.perf_counter()
        s = settings
        result = client.run(port, s.seconds, s.warmup, policy, s.connections)
        ours, wall = time.process_time() - ours, time.perf_counter() - wall
        busy_after = machine_busy()
    finally:
        runner.stop(timeout=2.0)
    others = None
    if busy is not None and busy_after is not None:
        others = max(0.0, busy_after - busy - ours - result["client_cpu"]) / wall
    return Round(
        rate=result["rate"],
        server_cpu_us=ours / max(1, result["all_requests"]) * 1e6,
        others=others,
        reconnects=result["reconnects"],
        errors=result["errors"],
    )


def compare(
    client: LoadClient, pair: Pair, policy: str, rounds: int, settings: Settings
) -> tuple[list[Round], list[Round], dict[Side, list[Round]]]:
    """``rounds`` alternating rounds: mini, other, (ceilings,) mini, other, ...

    The pair's ceilings join the alternation under its fair policies only.
    """
    minis: list[Round] = []
    others: list[Round] = []
    ceilings: dict[Side, list[Round]] = {
        side: [] for side in (pair.ceilings if policy in pair.fair else ())
    }
    for _ in range(rounds):
        minis.append(measure(client, pair.mini, policy, settings))
        others.append(measure(client, pair.other, policy, settings))
        for side, measured in ceilings.items():
            measured.append(measure(client, side, policy, settings))
    return minis, others, ceilings


def profile(
    client: LoadClient, side: Side, policy: str, settings: Settings, top: int, cpu: bool
) -> str:
    """One round of ``side`` with every thread started meanwhile under cProfile.

    ``cpu``: time each thread's CPU (``time.thread_time``), not the wall clock, so
    waiting (for the GIL, for the client, for a new thread) is left out.
    """
    profiles: list[cProfile.Profile] = []
    original = threading.Thread.run

    def profiled_run(thread: threading.Thread) -> None:
        profiler = cProfile.Profile(time.thread_time) if cpu else cProfile.Profile()
        profiler.enable()
        try:
            original(thread)
        finally:
            profiler.disable()
            profiles.append(profiler)

    threading.Thread.run = profiled_run  # type: ignore[method-assign]
    try:
        result = measure(client, side, policy, settings)
    finally:
        threading.Thread.run = original  # type: ignore[method-assign]
    text = io.StringIO()
    stats = pstats.Stats(*profiles, stream=text)  # type: ignore[arg-type]
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    clock = "thread CPU time" if cpu else "wall-clock time"
    title = f"{side.label}, {policy}, under cProfile ({clock}): {result.rate:,.0f} req/s"
    return f"{title}\n{text.getvalue()}"


# -- printing ---------------------------------------------------------------------------


def _median(values: list[float]) -> float:
    return statistics.median(values)


def describe(
    pair: Pair,
    policy: str,
    minis: list[Round],
    others: list[Round],
    ceilings: dict[Side, list[Round]] | None = None,
) -> str:
    """The table printed for one pair under one policy (with its ceilings, if measured)."""
    ceilings = ceilings or {}
    fair = policy in pair.fair
    note = "" if fair else f" (not like for like: {pair.other.label} closes every connection)"
    rows = [["round", *(str(n + 1) for n in range(len(minis))), "median", "CPU us/req", "others"]]
    for side, rounds in ((pair.mini, minis), (pair.other, others), *ceilings.items()):
        busy = [r.others for r in rounds if r.others is not None]
        rows.append(
            [side.label, *(f"{r.rate:,.0f}" for r in rounds)]
            + [f"{_median([r.rate for r in rounds]):,.0f}"]
            + [f"{_median([r.server_cpu_us for r in rounds]):,.0f}"]
            + [f"{_median(busy):.2f}" if busy else "-"]
        )
    ratio = _median([r.rate for r in minis]) / _median([r.rate for r in others])
    paired = [f"{a.rate / b.rate:.2f}" for a, b in zip(minis, others, strict=True)]
    cpu = _median([r.server_cpu_us for r in others]) / _median([r.server_cpu_us for r in minis])
    rows.append([f"{pair.mini.label} / other", *paired, f"{ratio:.2f}", f"{cpu:.2f}", ""])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"\n{pair.mini.label} vs {pair.other.label}, {policy}{note}: requests/s"]
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  " + "  ".join(cells))
    lines += [f"  {e}" for e in sorted({e for r in minis + others for e in r.errors})]
    lines.append(
        f"  ratio of medians {ratio:.2f}x (target {pair.target:g}x"
        f"{'' if fair else ', judged on the fair policy'}); by server CPU per request {cpu:.2f}x"
        f" (other's / mini's); reconnects per round: mini"
        f" {_median([r.reconnects for r in minis]):,.0f}, other"
        f" {_median([r.reconnects for r in others]):,.0f}"
    )
    if ceilings:
        other = _median([r.rate for r in others])
        shares = [
            f"{side.engine} {_median([r.rate for r in rounds]) / other:.2f}x"
            for side, rounds in ceilings.items()
        ]
        lines.append(
            f"  ceilings, by ratio of medians to {pair.other.label}: {', '.join(shares)}"
            f" (one thread, no app: a server that parses with h11 cannot pass 'h11 alone')"
        )
    busy = [r.others for r in minis + others if r.others is not None]
    if busy and _median(busy) > 0.25 * (os.cpu_count() or 1):
        lines.append(
            f"  NOISY: the rest of the machine kept {_median(busy):.1f} of {os.cpu_count()} cores"
            " busy meanwhile: requests/s swing with it (a threaded server gets more of the"
            " machine than a one-thread one); the CPU ratio is steadier. Run again when quiet"
        )
    return "\n".join(lines)


def load_average() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None, out: TextIO | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds (default 9)")
    parser.add_argument("--seconds", type=float, default=0.5, help="counted seconds per round")
    parser.add_argument("--warmup", type=float, default=0.15, help="uncounted seconds per round")
    parser.add_argument("--connections", type=int, default=1, help="client connections")
    parser.add_argument("--pairs", nargs="+", choices=sorted(PAIRS), default=["asgi", "wsgi"])
    parser.add_argument("--policies", nargs="+", choices=POLICIES, default=list(POLICIES))
    parser.add_argument("--guarded", action="store_true", help="serve the app inside the guard")
    parser.add_argument("--profile", choices=sorted(SIDES), help="profile one engine instead")
    parser.add_argument("--top", type=int, default=30, help="functions shown by --profile")
    parser.add_argument("--cpu", action="store_true", help="--profile: CPU time, not wall")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        client_main(sys.stdin, sys.stdout)
        return
    out = out or sys.stdout
    started = time.perf_counter()
    settings = Settings(args.seconds, args.warmup, args.connections, args.guarded)
    print(
        f"Hello world side by side: Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        + (
            f"one round of {args.seconds:g} s under cProfile "
            if args.profile
            else f"{args.rounds} alternating rounds of {args.seconds:g} s "
        )
        + f"(+{args.warmup:g} s warm-up), "
        f"{args.connections} client connection(s), {'guarded' if args.guarded else 'bare'} "
        f"app; load average {load_average()}",
        file=out,
    )
    if ("asgi" in args.pairs and not args.profile) or args.profile == "uvicorn-asgi":
        print(uvicorn_http(), file=out)
    print(
        ""
        if args.profile
        else "Columns: requests/s per round; CPU us/req = server CPU per request (median); "
        "others = cores the rest of the machine used meanwhile (median, steal included)",
        file=out,
    )
    with LoadClient() as client:
        if args.profile:
            for policy in args.policies:
                side = SIDES[args.profile]
                print(profile(client, side, policy, settings, args.top, args.cpu), file=out)
        else:
            for name in args.pairs:
                for policy in args.policies:
                    pair = PAIRS[name]
                    minis, others, ceilings = compare(client, pair, policy, args.rounds, settings)
                    print(describe(pair, policy, minis, others, ceilings), file=out)
    print(
        f"\nload average {load_average()}; done in {time.perf_counter() - started:.0f} s", file=out
    )


if __name__ == "__main__":
    main()
