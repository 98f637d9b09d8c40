"""How long a full check of a simple app takes (target: at most 1 s).

Runs ``gl.check_wsgi`` and ``gl.check_asgi`` with their default battery on a
hello-world app several times and prints the median and the worst time, and
the same for an exercise check. Usage: ``python benchmarks/check.py [runs]``.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import gateway_lab as gl

TARGET = 1.0


def wsgi_hello(environ: Any, start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, World"]


async def asgi_hello(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": b"Hello, World"})


def wsgi_hello_name(environ: Any, start_response: Any) -> Any:
    from urllib.parse import parse_qs

    name = parse_qs(environ.get("QUERY_STRING", "")).get("name", ["World"])[0]
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [f"Hello, {name}!".encode()]


def measure(label: str, run: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    median, worst = statistics.median(times), max(times)
    verdict = "ok" if worst <= TARGET else "OVER TARGET"
    print(
        f"{label:<42} median {median * 1000:8.2f} ms   worst {worst * 1000:8.2f} ms   "
        f"({verdict}, target {TARGET:g} s)"
    )
    return worst


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    print(f"full check of a simple app, {runs} runs each")
    measure("check_wsgi(hello), default battery", lambda: gl.check_wsgi(wsgi_hello), runs)
    measure("check_asgi(hello), default battery", lambda: gl.check_asgi(asgi_hello), runs)
    hello_name = gl.exercise("wsgi-hello-name")
    measure(
        "exercise wsgi-hello-name (quiet)",
        lambda: hello_name.check(wsgi_hello_name, quiet=True),
        runs,
    )


if __name__ == "__main__":
    main()
