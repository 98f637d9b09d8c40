"""benchmarks/engines.py: one tiny run has the promised shape; the ratio is of the medians.

These tests check the script's output and arithmetic, never the speed: the
figures themselves depend on the machine.
"""

from __future__ import annotations

import importlib.util
import io
import re
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "engines.py"


@pytest.fixture(scope="module")
def engines() -> Iterator[ModuleType]:
    sys.path.insert(0, str(PATH.parent))  # it imports ceilings.py, next to it
    spec = importlib.util.spec_from_file_location("benchmarks_engines", PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(PATH.parent))


def test_one_tiny_round_prints_every_pair_and_policy(engines: ModuleType) -> None:
    out = io.StringIO()
    engines.main(["--rounds", "1", "--seconds", "0.1", "--warmup", "0.05"], out=out)
    text = out.getvalue()
    assert re.search(r"load average [\d.]+, [\d.]+, [\d.]+", text.splitlines()[0])
    assert "uvicorn forced to http='h11' (protocol class H11Protocol)" in text
    titles = re.findall(r"^(mini \w+) vs (.+?), ([\w-]+)", text, re.MULTILINE)
    assert titles == [
        ("mini ASGI", "uvicorn (h11)", "keep-alive"),
        ("mini ASGI", "uvicorn (h11)", "new-connection"),
        ("mini WSGI", "wsgiref", "keep-alive"),
        ("mini WSGI", "wsgiref", "new-connection"),
    ]
    assert "keep-alive (not like for like: wsgiref closes every connection)" in text
    ratios = re.findall(r"ratio of medians (\d+\.\d\d)x \(target (\S+)x", text)
    assert [target for _, target in ratios] == ["1", "1", "1.5", "1.5"]
    assert all(float(ratio) > 0 for ratio, _ in ratios)
    rows = re.findall(
        r"^  (mini ASGI|uvicorn \(h11\)|mini WSGI|wsgiref) +([\d,]+) +([\d,]+) ", text, re.M
    )
    assert len(rows) == 8 and all(int(a.replace(",", "")) > 0 for _, a, _ in rows)
    # the fair WSGI table also measures the two ceilings, and says what they mean
    ceilings = re.findall(r"^  ceiling: (no parsing|h11 alone) +([\d,]+) ", text, re.M)
    assert [name for name, _ in ceilings] == ["no parsing", "h11 alone"]
    assert all(int(rate.replace(",", "")) > 0 for _, rate in ceilings)
    assert re.search(
        r"ceilings, by ratio of medians to wsgiref: no parsing \d+\.\d\dx, h11 alone \d+\.\d\dx",
        text,
    )
    assert "errors" not in text  # every request was answered 200
    assert re.search(r"done in \d+ s$", text.strip())


def test_the_ratio_is_of_the_medians_not_the_median_of_the_ratios(engines: ModuleType) -> None:
    def rounds(*rates: float) -> list:
        return [engines.Round(rate, 100.0, None, 0, []) for rate in rates]

    pair = engines.PAIRS["asgi"]
    # medians 200 / 100 = 2.00; the per-round ratios 1, 4 and 1.5 have the median 1.5
    text = engines.describe(pair, "keep-alive", rounds(100, 400, 200), rounds(100, 100, 300))
    assert "ratio of medians 2.00x (target 1x)" in text
    assert re.search(r"mini ASGI / other +1\.00 +4\.00 +0\.67 +2\.00", text)
    # no /proc/stat figure was given: the column says so instead of inventing one
    assert re.search(r"mini ASGI +100 +400 +200 +200 +100 +-$", text, re.MULTILINE)


def test_the_client_reads_lengths_and_closes(engines: ModuleType) -> None:
    server, client = socket.socketpair()
    with server, client:
        server.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.0 200 OK\r\n")
        server.sendall(b"Content-Length: 0\r\n\r\n")
        rest, closes = engines.read_response(client, b"")
        assert (rest, closes) == (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", False)
        assert engines.read_response(client, rest) == (b"", True)
        server.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
        with pytest.raises(ConnectionError, match="500"):
            engines.read_response(client, b"")


@pytest.mark.parametrize("name", ["no parsing", "h11 alone"])
def test_each_ceiling_answers_hello_world_and_stops(engines: ModuleType, name: str) -> None:
    runner = engines.start_side(engines.Side(f"ceiling: {name}", "wsgi", name))
    try:
        port = runner.sock.getsockname()[1]
        for _ in range(3):  # one connection per request, as the fair policy sends them
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(engines.REQUESTS["new-connection"])
                assert engines.read_response(sock, b"") == (b"", True)
    finally:
        assert runner.stop(timeout=2.0)
