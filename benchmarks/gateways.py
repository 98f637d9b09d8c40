"""What one request costs through each gateway, and how many each server serves.

Run ``python benchmarks/gateways.py`` (about half a minute) or add ``--full``
for longer runs and more connections. It prints figures; it asserts nothing.

Theory of operation: three measurements, each against the same tiny
"Hello, world!" app, so that the differences are the gateway's alone.

1. **CGI, per request.** ``gl.run_cgi`` starts one process per request and
   times it in parts: ``spawn_ms`` (until the child exists), ``run_ms`` (until
   it has answered and exited), ``parse_ms`` (reading its headers). Four
   scripts separate the cost of starting a process from the script's own
   work: an *empty* shell script and an *empty* Python script (headers only)
   against a shell and a Python *hello* that reads the query string. Plain
   ``subprocess.run`` of ``true`` and ``python -c pass`` give the floor
   without any gateway.
2. **WSGI, per request**, three ways: a bare call (environ built once, a
   do-nothing ``start_response``), ``gl.call_wsgi`` (the course's in-process
   server: a fresh environ, checks, ``close()``), and over loopback with an
   httpx client that keeps connections alive.
3. **Requests per second** of every engine, one round each: mini WSGI,
   wsgiref, werkzeug, mini ASGI, uvicorn (told ``http="h11"``), under both
   connection policies (one kept-alive connection; a new connection per
   request). The client process and the server starter are
   ``benchmarks/engines.py``'s; that script is the one for the ratios (the
   mini servers against wsgiref and uvicorn, several alternating rounds, the
   ratio of the medians). This table is the overview, one noisy round each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import engines  # benchmarks/engines.py, next to this file
import httpx
from engines import hello_asgi, hello_wsgi

import gateway_lab as gl

__all__ = ["main"]

SCRIPTS = {
    "empty.sh": "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\n",
    "hello.sh": (
        "#!/bin/sh\n"
        'name="${QUERY_STRING#name=}"\n'
        "printf 'Content-Type: text/plain\\r\\n\\r\\n'\n"
        'printf "Hello, %s!\\n" "${name:-world}"\n'
    ),
    "empty.py": (
        "#!/usr/bin/env python3\n"
        "import sys\n"
        "sys.stdout.write('Content-Type: text/plain\\r\\n\\r\\n')\n"
    ),
    "hello.py": (
        "#!/usr/bin/env python3\n"
        "import os\n"
        "from urllib.parse import parse_qs\n"
        "name = parse_qs(os.environ.get('QUERY_STRING', '')).get('name', ['world'])[0]\n"
        "print('Content-Type: text/plain; charset=utf-8')\n"
        "print()\n"
        "print(f'Hello, {name}!')\n"
    ),
}


# -- printing ---------------------------------------------------------------------------


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    print(f"\n{title}")
    print("  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  " + "  ".join("-" * w for w in widths))
    for row in rows:
        print("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


def per_call_us(func: Callable[[], Any], seconds: float) -> float:
    """Median microseconds per call over five rounds of about ``seconds`` / 5."""
    timer = timeit.Timer(func)
    number, taken = timer.autorange()  # enough calls for at least 0.2 s
    count = max(1, int(number * (seconds / 5) / taken))
    return statistics.median(timer.repeat(repeat=5, number=count)) / count * 1e6


# -- 1. CGI -------------------------------------------------------------------------


def spawn_floor_ms(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def bench_cgi(repeat: int) -> None:
    rows = []
    true = shutil.which("true") or "true"
    rows.append(["(no gateway) true", f"{spawn_floor_ms([true], repeat):.2f}", "", "", ""])
    python_floor = spawn_floor_ms([sys.executable, "-c", "pass"], repeat)
    rows.append(["(no gateway) python -c pass", f"{python_floor:.2f}", "", "", ""])
    with tempfile.TemporaryDirectory() as folder:
        for name, source in SCRIPTS.items():
            path = Path(folder, name)
            path.write_text(source)
            path.chmod(0o755)
        medians: dict[str, dict[str, float]] = {}
        for name in SCRIPTS:
            timings: dict[str, list[float]] = {}
            for _ in range(repeat):
                result = gl.run_cgi(os.path.join(folder, name), path="/?name=Ada")
                if result.status != 200:
                    raise SystemExit(f"{name} failed: {result.status} {result.text}")
                for key, value in result.timings.items():
                    timings.setdefault(key, []).append(value)
            medians[name] = {key: statistics.median(v) for key, v in timings.items()}
            m = medians[name]
            rows.append(
                [
                    f"run_cgi {name}",
                    f"{m['total_ms']:.2f}",
                    f"{m['spawn_ms']:.2f}",
                    f"{m['run_ms']:.2f}",
                    f"{m['parse_ms']:.3f}",
                ]
            )
        with gl.serve_cgi(folder, name="bench-cgi") as srv, httpx.Client() as client:
            url = srv.url + "hello.py?name=Ada"
            client.get(url)
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                client.get(url).raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
            rows.append(
                ["serve_cgi hello.py (httpx)", f"{statistics.median(times):.2f}"] + [""] * 3
            )
    table(
        f"1. CGI: milliseconds per request (median of {repeat})",
        ["how", "total", "spawn", "run", "parse"],
        rows,
    )
    for kind in ("sh", "py"):
        empty, hello = medians[f"empty.{kind}"], medians[f"hello.{kind}"]
        print(
            f"  {kind}: starting the process costs {empty['total_ms']:.1f} ms; the hello "
            f"script's own work adds {hello['total_ms'] - empty['total_ms']:+.1f} ms"
        )


# -- 2. WSGI per request -------------------------------------------------------------


def bench_wsgi_calls(seconds: float) -> None:
    environ = gl.make_environ("GET", "/")

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        return None

    rows = [
        [
            "bare call: b''.join(app(environ, start_response))",
            per_call_us(lambda: b"".join(hello_wsgi(environ, start_response)), seconds),
        ],
        ["gl.call_wsgi(app)", per_call_us(lambda: gl.call_wsgi(hello_wsgi), seconds)],
    ]
    with httpx.Client(transport=httpx.WSGITransport(app=hello_wsgi)) as client:
        rows.append(
            [
                "httpx WSGITransport (no socket)",
                per_call_us(lambda: client.get("http://app/"), seconds),
            ]
        )

    async def asgi_round(count: int) -> float:
        started = time.perf_counter()
        for _ in range(count):
            await gl.acall_asgi(hello_asgi)
        return (time.perf_counter() - started) / count * 1e6

    rows.append(["gl.acall_asgi(app), for comparison", asyncio.run(asgi_round(2000))])
    for engine in ("werkzeug", "mini"):
        with gl.serve_wsgi(hello_wsgi, name=f"bench-loopback-{engine}", engine=engine) as srv:
            with httpx.Client() as client:
                client.get(srv.url)
                rows.append(
                    [
                        f"over loopback: httpx keep-alive to {engine}",
                        per_call_us(lambda: client.get(srv.url), seconds),
                    ]  # noqa: B023
                )
    table(
        "2. One request, in process and over loopback: microseconds",
        ["how", "us"],
        [[how, f"{us:,.1f}"] for how, us in rows],
    )


# -- 3. requests per second ------------------------------------------------------------


def bench_throughput(seconds: float, connection_counts: list[int]) -> None:
    sides = [
        engines.Side("mini", "wsgi", "mini"),
        engines.Side("wsgiref", "wsgi", "wsgiref"),
        engines.Side("werkzeug", "wsgi", "werkzeug"),
        engines.Side("mini", "asgi", "mini"),
        engines.Side("uvicorn (h11)", "asgi", "uvicorn"),
    ]
    with engines.LoadClient() as client:
        for connections in connection_counts:
            settings = engines.Settings(seconds=seconds, warmup=0.3, connections=connections)
            rows = []
            for side in sides:
                row = [side.interface.upper(), side.label]
                for policy in engines.POLICIES:
                    result = engines.measure(client, side, policy, settings)
                    row += [f"{result.rate:,.0f}", f"{result.server_cpu_us:,.0f}"]
                    row[-1] += " (errors!)" if result.errors else ""
                    if policy == engines.KEEP_ALIVE and result.reconnects > 1:
                        row[-2] += " (closes)"
                rows.append(row)
            table(
                f"3. Hello-world requests/s, {connections} connection(s), one round of "
                f"{seconds:g} s each (CPU: server CPU microseconds per request)",
                ["", "engine", "kept alive", "CPU", "new connection each", "CPU"],
                rows,
            )
    print(
        "  (closes): the server closed the connection after every answer anyway.\n"
        "  One round is noisy: for the ratios run benchmarks/engines.py (alternating rounds)."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="longer runs, more connections")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print(
        f"gateway-lab benchmarks ({'full' if args.full else 'quick'} run), "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    try:
        bench_cgi(repeat=100 if args.full else 15)
        bench_wsgi_calls(seconds=2.0 if args.full else 0.5)
        bench_throughput(
            seconds=3.0 if args.full else 1.0, connection_counts=[1, 8] if args.full else [1]
        )
    finally:
        gl.stop_all()
    print(f"\n(done in {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
