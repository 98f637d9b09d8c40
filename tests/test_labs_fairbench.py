"""gateway_lab.labs.fairbench: the client's connection policy, p99 withheld, turns."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator

import pytest

from gateway_lab.labs import fairbench
from gateway_lab.labs.fairbench import FairResult, ServerFigures, compare, run_client, schedule

BODY = b"Hello, world!"


class CountingServer:
    """A tiny HTTP/1.1 server on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self, honour_keep_alive: bool = True) -> None:
        self.honour_keep_alive = honour_keep_alive
        self.accepted = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hello"
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.accept, daemon=True)
        self.thread.start()

    def accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self.answer, args=(conn,), daemon=True).start()

    def answer(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        buffer = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                close = b"connection: close" in head.lower() or not self.honour_keep_alive
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s"
                    % (len(BODY), b"Connection: close\r\n" if close else b"", BODY)
                )
                if close:
                    return

    def stop(self) -> None:
        self.stopping.set()
        self.listener.close()
        self.thread.join(2)


@pytest.fixture
def server() -> Iterator[CountingServer]:
    running = CountingServer()
    yield running
    running.stop()


def test_new_connection_opens_one_connection_per_request(server):
    report = run_client(server.url, 12, "new-connection", warmup=0)
    assert len(report["latencies"]) == 12
    assert report["connections"] == 12
    assert server.accepted == 12


def test_keep_alive_uses_one_connection(server):
    report = run_client(server.url, 12, "keep-alive", warmup=0)
    assert len(report["latencies"]) == 12
    assert report["connections"] == 1
    assert server.accepted == 1


def test_keep_alive_reconnects_when_the_server_closes():
    closing = CountingServer(honour_keep_alive=False)
    try:
        report = run_client(closing.url, 5, "keep-alive", warmup=1)
    finally:
        closing.stop()
    assert report["connections"] == 6 == closing.accepted


def test_the_client_is_another_process(server):
    result = compare({"a": server.url}, requests=3, rounds=2, warmup=0)
    assert os.getpid() not in result.client_pids
    assert len(result.client_pids) == 2


def test_p99_is_withheld_below_100_samples():
    few = ServerFigures("few", "http://127.0.0.1:1/", rounds=[[0.001] * 50, [0.002] * 49])
    assert few.samples == 99
    assert few.p99 is None
    assert "withheld" in few.p99_note and "99 samples" in few.p99_note
    enough = ServerFigures("enough", "http://127.0.0.1:1/", rounds=[[0.001] * 99 + [0.5]])
    assert enough.p99 == 0.001
    enough.rounds[0].append(0.5)
    assert enough.p99 == 0.5


def test_median_of_round_medians_and_ratio():
    a = ServerFigures("a", "u", rounds=[[1.0, 2.0, 3.0], [2.0], [10.0, 20.0, 30.0]])
    b = ServerFigures("b", "u", rounds=[[4.0], [4.0], [4.0]])
    result = FairResult("keep-alive", 3, ["a", "b"], {"a": a, "b": b}, [1, 2])
    assert a.median == 2.0
    assert result.ratio("b") == 2.0
    assert result.ratio("a", "b") == 0.5
    text = str(result)
    assert "keep-alive" in text and "3 rounds" in text and "separate process" in text


def _result(policy: str, connections: dict[str, list[int]]) -> FairResult:
    servers = {
        name: ServerFigures(name, "u", rounds=[[0.001] * 3] * len(counts), connections=counts)
        for name, counts in connections.items()
    }
    return FairResult(policy, 3, list(servers), servers, [1, 2])


def test_like_for_like_only_when_every_server_used_as_many_connections():
    same = _result("new-connection", {"a": [4, 4], "b": [4, 4]})
    assert same.like_for_like and same.connections == {"a": 8, "b": 8}
    assert "like for like: every server used 8 connections" in str(same)
    closing = _result("keep-alive", {"werkzeug": [31] * 5, "uvicorn": [1] * 5})
    assert not closing.like_for_like
    assert closing.connections == {"werkzeug": 155, "uvicorn": 5}
    text = str(closing)
    assert "NOT like for like" in text and "werkzeug 155, uvicorn 5" in text
    assert text.splitlines()[-1].startswith("NOT like for like")


def test_the_table_says_the_client_shares_the_machines_cores():
    text = str(_result("keep-alive", {"a": [1], "b": [1]}))
    client = next(line for line in text.splitlines() if line.startswith("client:"))
    assert f"share its {fairbench._cores()} CPU cores with the servers" in client
    assert fairbench._cores() >= 1


def test_keep_alive_against_a_closing_server_is_not_like_for_like(server):
    closing = CountingServer(honour_keep_alive=False)
    try:
        result = compare(
            {"keeps": server.url, "closes": closing.url}, requests=4, rounds=2, policy="keep-alive"
        )
    finally:
        closing.stop()
    assert result.connections == {"keeps": 2, "closes": 10}
    assert not result.like_for_like


def test_servers_take_turns_reversed_every_other_round():
    assert schedule(["a", "b"], 4) == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert schedule(["a", "b", "c"], 2) == ["a", "b", "c", "c", "b", "a"]


def test_compare_runs_in_the_scheduled_order(monkeypatch):
    calls: list[str] = []

    def fake(url, requests, policy, *, warmup, timeout):
        calls.append(url)
        return {"latencies": [0.001] * requests, "connections": 1, "pid": 1}

    monkeypatch.setattr(fairbench, "run_client", fake)
    result = compare({"a": "http://127.0.0.1:1/", "b": "http://127.0.0.1:2/"}, rounds=3)
    assert calls == [
        "http://127.0.0.1:1/",
        "http://127.0.0.1:2/",
        "http://127.0.0.1:2/",
        "http://127.0.0.1:1/",
        "http://127.0.0.1:1/",
        "http://127.0.0.1:2/",
    ]
    assert result.order == ["a", "b", "b", "a", "a", "b"]
    assert result.servers["a"].samples == 600


def test_only_loopback_and_known_policies():
    with pytest.raises(ValueError):
        compare({"x": "http://example.com/"}, requests=1, rounds=1)
    with pytest.raises(ValueError):
        compare({"x": "http://127.0.0.1:1/"}, policy="pipelined")


def _pair(a: list[float], b: list[float]) -> FairResult:
    """Two servers whose round k medians are a[k] and b[k]."""
    servers = {
        "a": ServerFigures("a", "u", rounds=[[x] for x in a]),
        "b": ServerFigures("b", "u", rounds=[[x] for x in b]),
    }
    return FairResult("new-connection", 1, schedule(["a", "b"], len(a)), servers, [1])


def test_the_ratio_is_best_round_against_best_round():
    """A busy moment slows a round: the best rounds set the ratio, not how many were hit."""
    result = _pair([1.0, 1.0, 1.0], [1.0, 3.0, 3.0])  # b's last two rounds hit by a busy moment
    assert result.servers["b"].median == 3.0 and result.servers["b"].best == 1.0
    assert result.ratio("b") == 1.0
    assert result.round_ratios("b") == [1.0, 3.0, 3.0]


def test_the_spread_says_whether_the_rounds_agree():
    faster = _pair([2.0, 2.0, 2.0], [1.0, 1.5, 1.9])
    assert "b was faster in every round" in faster.spread_note("b")
    assert "0.50 to 0.95 over 3 rounds" in faster.spread_note("b")
    slower = _pair([1.0, 1.0], [1.1, 1.2])
    assert "b was slower in every round" in slower.spread_note("b")
    mixed = _pair([1.0, 1.0, 1.0], [0.8, 3.1, 0.96])
    note = mixed.spread_note("b")
    assert "the rounds disagree on which is faster" in note and "no result" in note
    assert "0.80 to 3.10" in note
    text = str(mixed)
    assert "round by round, b / a: 0.80 to 3.10" in text and "best round" in text
    assert mixed.spread_note("a") == ""


def test_the_best_round_ratio_lies_within_the_round_ratios():
    result = _pair([1.0, 4.0, 2.0, 3.0], [2.5, 1.0, 3.0, 2.0])
    ratios = result.round_ratios("b")
    assert min(ratios) <= result.ratio("b") <= max(ratios)
