"""Serving from the kernel: start and stop latency per engine, in-process vs loopback.

Run: ``python benchmarks/servers.py`` (add ``--full`` for larger samples).

Prints, measured side by side in one run on this machine:

1. start-to-ready and stop latency per engine (median and 90th percentile
   of ``--cycles`` runs). "Ready" means the start call has returned and the
   server answers: the first request right after it must succeed. Next to
   ours, the same figures for the packaged helper ``server-thread`` (from
   PyPI, if installed: ``pip install -r benchmarks/requirements.txt``).
2. requests per second for the same hello-world app called in-process
   (``gl.call_wsgi`` / ``gl.acall_asgi``, no socket) and over loopback
   (httpx keep-alive client to werkzeug / uvicorn), and their ratio.
3. ``import gateway_lab`` time in a fresh interpreter.

Timings on a shared machine are noisy: compare the ratios, not the absolutes.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx

import gateway_lab as gl


def hello_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]


async def hello_asgi(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")],
        }
    )
    await send({"type": "http.response.body", "body": b"hello"})


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure_cycles(
    start: Callable[[], Any],
    url_of: Callable[[Any], str],
    stop: Callable[[Any], Any],
    cycles: int,
) -> tuple[list[float], list[float]]:
    starts, stops = [], []
    with httpx.Client() as client:
        for _ in range(cycles + 2):
            t0 = time.perf_counter()
            handle = start()
            t1 = time.perf_counter()
            response = client.get(url_of(handle), headers={"Connection": "close"})
            assert response.status_code == 200, response
            t2 = time.perf_counter()
            stop(handle)
            t3 = time.perf_counter()
            starts.append(t1 - t0)
            stops.append(t3 - t2)
    return starts[2:], stops[2:]  # the first two include imports


def lifecycle_table(cycles: int) -> None:
    rows: list[tuple[str, Callable[[], Any], Callable[[Any], str], Callable[[Any], Any]]] = []
    for engine in ("werkzeug", "wsgiref", "mini"):
        rows.append(
            (
                f"gateway_lab wsgi {engine}",
                lambda e=engine: gl.serve_wsgi(hello_wsgi, name="bench", engine=e),
                lambda s: s.url,
                lambda s: s.stop(),
            )
        )
    for engine in ("uvicorn", "mini"):
        rows.append(
            (
                f"gateway_lab asgi {engine}",
                lambda e=engine: gl.serve_asgi(hello_asgi, name="bench", engine=e),
                lambda s: s.url,
                lambda s: s.stop(),
            )
        )
    try:
        from server_thread import ServerThread
    except ImportError:
        print(
            "(server-thread is not installed: pip install -r benchmarks/requirements.txt "
            "to compare with it)"
        )
    else:

        def st_start(wsgi: bool) -> Any:
            server = ServerThread(hello_wsgi if wsgi else hello_asgi, wsgi=wsgi)
            _ = server.port  # ASGI: waits until uvicorn has started
            return server

        rows.append(
            (
                "server-thread werkzeug",
                lambda: st_start(True),
                lambda s: f"http://127.0.0.1:{s.port}/",
                lambda s: s.shutdown(),
            )
        )
        rows.append(
            (
                "server-thread uvicorn",
                lambda: st_start(False),
                lambda s: f"http://127.0.0.1:{s.port}/",
                lambda s: s.shutdown(),
            )
        )

    print(f"\n1. start-to-ready and stop, ms (median / p90 of {cycles} cycles)")
    print(f"{'server':28} {'start med':>9} {'start p90':>9} {'stop med':>9} {'stop p90':>9}")
    for label, start, url_of, stop in rows:
        try:
            starts, stops = measure_cycles(start, url_of, stop, cycles)
        except Exception as exc:  # an engine not available in this checkout
            print(f"{label:28} unavailable: {type(exc).__name__}: {exc}")
            continue
        print(
            f"{label:28} {ms(statistics.median(starts)):>9} {ms(percentile(starts, 0.9)):>9}"
            f" {ms(statistics.median(stops)):>9} {ms(percentile(stops, 0.9)):>9}"
        )


def throughput_table(requests: int) -> None:
    print(f"\n2. requests per second, hello world ({requests} requests each)")

    def rate(run: Callable[[], None]) -> float:
        run()  # warm-up
        t0 = time.perf_counter()
        run()
        return requests / (time.perf_counter() - t0)

    def wsgi_direct() -> None:
        for _ in range(requests):
            environ = gl.make_environ("GET", "/")
            b"".join(hello_wsgi(environ, lambda status, headers, exc_info=None: None))

    def wsgi_call() -> None:
        for _ in range(requests):
            gl.call_wsgi(hello_wsgi)

    async def asgi_calls() -> None:
        for _ in range(requests):
            await gl.acall_asgi(hello_asgi)

    def loopback(srv: Any) -> Callable[[], None]:
        def run() -> None:
            with httpx.Client() as client:
                for _ in range(requests):
                    client.get(srv.url)

        return run

    with (
        gl.serve_wsgi(hello_wsgi, name="bench-wsgi") as wsgi_srv,
        gl.serve_asgi(hello_asgi, name="bench-asgi") as asgi_srv,
    ):
        figures = {
            "WSGI direct call (environ + app)": rate(wsgi_direct),
            "WSGI gl.call_wsgi (in-process)": rate(wsgi_call),
            "WSGI over loopback (werkzeug)": rate(loopback(wsgi_srv)),
            "ASGI gl.acall_asgi (in-process)": rate(lambda: asyncio.run(asgi_calls())),
            "ASGI over loopback (uvicorn)": rate(loopback(asgi_srv)),
        }
    for label, value in figures.items():
        print(f"{label:36} {value:10.0f} req/s")
    wsgi_ratio = (
        figures["WSGI gl.call_wsgi (in-process)"] / figures["WSGI over loopback (werkzeug)"]
    )
    asgi_ratio = (
        figures["ASGI gl.acall_asgi (in-process)"] / figures["ASGI over loopback (uvicorn)"]
    )
    print(f"in-process / loopback: WSGI {wsgi_ratio:.1f}x, ASGI {asgi_ratio:.1f}x")


def import_time(runs: int) -> None:
    code = (
        "import time; t = time.perf_counter(); import gateway_lab; print(time.perf_counter() - t)"
    )
    values = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(runs)
    ]
    print(
        f"\n3. import gateway_lab: median {ms(statistics.median(values))} ms "
        f"over {runs} fresh interpreters"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="larger samples")
    args = parser.parse_args()
    cycles, requests = (100, 5000) if args.full else (25, 1000)
    lifecycle_table(cycles)
    throughput_table(requests)
    import_time(5)


if __name__ == "__main__":
    main()
