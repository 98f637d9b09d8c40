"""Recording costs: per request in-process and over loopback, and drawing a big flow.

Run: ``python benchmarks/trace.py`` (add ``--full`` for larger samples).

Prints, measured side by side in one run (plain and recorded alternate, so
drift on a shared machine hits both alike):

1. in-process WSGI: median time of one call (environ built beforehand, the
   body iterated and closed, as a server does), without and with
   ``record_wsgi``, and the difference (target: <= 50 us); the same through
   ``gl.call_wsgi``; and ASGI through ``gl.acall_asgi`` with ``record_asgi``.
2. loopback: median request time with an httpx keep-alive client against
   werkzeug serving the plain and the recorded app (target: <= 20 % more).
3. drawing: time to render a 1,000-event flow to HTML with every event drawn
   (target: <= 200 ms), and the summarised 10,000-event flow.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx

import gateway_lab as gl
from gateway_lab.events.flow import Flow
from gateway_lab.events.record import record_asgi, record_wsgi
from gateway_lab.views.flow import flow_html


def hello_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]


async def hello_asgi(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


def _start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
    return None


def _direct_call(app: Any) -> float:
    environ = gl.make_environ("GET", "/hello?x=1", {"Accept": "text/plain"})
    started = time.perf_counter()
    result = app(environ, _start_response)
    for _chunk in result:
        pass
    close = getattr(result, "close", None)
    if close is not None:
        close()
    return time.perf_counter() - started


def _timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def side_by_side(plain: Callable[[], float], recorded: Callable[[], float], n: int) -> tuple:
    a, b = [], []
    for _ in range(n):
        a.append(plain())
        b.append(recorded())
    return statistics.median(a), statistics.median(b)


def report(label: str, plain: float, recorded: float, unit: str = "us") -> None:
    scale = 1e6 if unit == "us" else 1e3
    extra = (recorded - plain) * scale
    print(
        f"  {label:<34} plain {plain * scale:9.2f} {unit}   recorded {recorded * scale:9.2f} {unit}"
        f"   +{extra:7.2f} {unit} ({(recorded / plain - 1) * 100:+6.1f} %)"
    )


def in_process(n: int) -> None:
    print(f"1. in-process, median of {n:,} calls each")
    recorded, flow = record_wsgi(hello_wsgi)
    report(
        "WSGI direct call", *side_by_side(lambda: _direct_call(hello_wsgi),
                                          lambda: _direct_call(recorded), n)
    )  # fmt: skip
    flow.events.clear()
    report(
        "WSGI via gl.call_wsgi",
        *side_by_side(
            lambda: _timed(lambda: gl.call_wsgi(hello_wsgi)),
            lambda: _timed(lambda: gl.call_wsgi(recorded)),
            n,
        ),
    )
    arecorded, _ = record_asgi(hello_asgi)

    async def asgi_pair() -> tuple:
        a, b = [], []
        for _ in range(n):
            started = time.perf_counter()
            await gl.acall_asgi(hello_asgi)
            a.append(time.perf_counter() - started)
            started = time.perf_counter()
            await gl.acall_asgi(arecorded)
            b.append(time.perf_counter() - started)
        return statistics.median(a), statistics.median(b)

    report("ASGI via gl.acall_asgi", *asyncio.run(asgi_pair()))


def loopback(n: int) -> None:
    print(f"2. loopback (werkzeug, httpx keep-alive), median of {n:,} requests each")
    recorded, _ = record_wsgi(hello_wsgi)
    with (
        gl.serve_wsgi(hello_wsgi, name="bench-plain") as plain_srv,
        gl.serve_wsgi(recorded, name="bench-recorded") as recorded_srv,
        httpx.Client() as client,
    ):
        for url in (plain_srv.url, recorded_srv.url):  # warm up both connections
            for _ in range(20):
                client.get(url)
        plain, traced = side_by_side(
            lambda: _timed(lambda: client.get(plain_srv.url)),
            lambda: _timed(lambda: client.get(recorded_srv.url)),
            n,
        )
    report("WSGI GET over loopback", plain, traced)


def drawing(repeats: int) -> None:
    print(f"3. drawing flows to HTML (best of {repeats})")
    stream = Flow("a 1,000-event stream")
    stream.add("server", "app", "scope", {"summary": "http GET /stream"}, 1)
    for n in range(998):
        stream.add("app", "server", "send", {"type": "http.response.body", "body": b"%d" % n,
                                             "size": 4, "truncated": False}, 1)  # fmt: skip
    stream.add("app", "server", "return", {}, 1)
    recorded, requests = record_wsgi(hello_wsgi)
    for _ in range(250):
        gl.call_wsgi(recorded, path="/page")  # 4 events each: 1,000 events, 250 connections
    big = Flow("10,000 events")
    for n in range(10_000):
        big.add("app", "server", "send", {"type": "http.response.body", "n": n}, 1)
    cases = [
        ("1,000 events, every one drawn", lambda: flow_html(stream, head=1000, tail=1000)),
        ("1,000 events in 250 requests (20 drawn)", lambda: flow_html(requests)),
        ("10,000 events, summarised", lambda: flow_html(big)),
    ]
    for label, render in cases:
        best = min(_timed(render) for _ in range(repeats))
        print(f"  {label:<42} {best * 1000:8.1f} ms   ({len(render()):,} characters of HTML)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="larger samples")
    args = parser.parse_args()
    in_process(20_000 if args.full else 3_000)
    loopback(3_000 if args.full else 500)
    drawing(10 if args.full else 3)
    gl.stop_all()


if __name__ == "__main__":
    main()
