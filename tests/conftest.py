"""Shared pytest fixtures. Each block says which test files use it."""

from __future__ import annotations

import itertools
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import h11
import pytest

import gateway_lab as gl

# -- conformance suite (tests/test_conformance_*.py) ---------------------------------
# conformance_server: start apps with gl.serve_wsgi / gl.serve_asgi, stopped after
# the test. raw_http: raw loopback sockets that send any bytes and parse answers
# with h11, all closed after the test (before the servers stop).

_server_numbers = itertools.count(1)


@pytest.fixture
def conformance_server() -> Iterator[Callable[..., Any]]:
    """``start(app, engine, interface="wsgi")`` -> a running gl.Server."""
    started: list[Any] = []

    def start(app: Any, engine: str, interface: str = "wsgi") -> Any:
        serve = gl.serve_wsgi if interface == "wsgi" else gl.serve_asgi
        name = f"conformance-{interface}-{engine}-{next(_server_numbers)}"
        srv = serve(app, name=name, engine=engine)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


@dataclass
class RawResponse:
    """One answer read off a raw socket: ``complete`` is False if it was cut short."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    complete: bool = True
    http_version: str = "1.1"

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers if k == wanted), None)


class RawHTTPConnection:
    """A client socket that sends whatever bytes a test wants, and reads answers.

    Answers are parsed with an h11 client fed a stand-in request (h11 needs to
    know the method, for HEAD); bytes after one answer are kept for the next.
    """

    def __init__(self, port: int, timeout: float) -> None:
        self.timeout = timeout
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self._leftover = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def finish_sending(self) -> None:
        """Half-close: the server reads end-of-file, and can still answer."""
        self.sock.shutdown(socket.SHUT_WR)

    def recv(self) -> bytes:
        """Some bytes, b"" at end-of-file (a reset counts as end-of-file)."""
        if self._leftover:
            data, self._leftover = self._leftover, b""
            return data
        try:
            return self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return b""

    def read_response(self, method: str = "GET", informational: bool = False) -> RawResponse | None:
        """The next answer, or None if the server closed without answering.

        With ``informational=True`` a 1xx answer is returned too (for
        ``Expect: 100-continue``); otherwise 1xx answers are skipped.
        Raises AssertionError if nothing complete arrives within the timeout.
        """
        parser = h11.Connection(h11.CLIENT)
        parser.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))
        parser.send(h11.EndOfMessage())
        response: RawResponse | None = None
        seen = b""
        while True:
            try:
                event = parser.next_event()
            except h11.RemoteProtocolError as exc:
                if response is not None:  # cut short in the middle of the body
                    response.complete = False
                    return response
                if not seen:  # closed without a single byte
                    return None
                raise AssertionError(f"unparseable answer {seen[:200]!r}: {exc}") from None
            if event is h11.NEED_DATA:
                try:
                    data = self.recv()
                except TimeoutError:
                    raise AssertionError(
                        f"no complete answer within {self.timeout} s; got {seen[:200]!r}"
                    ) from None
                seen += data
                parser.receive_data(data)
            elif isinstance(event, h11.InformationalResponse):
                if informational:
                    self._leftover = parser.trailing_data[0]
                    return RawResponse(event.status_code, _pairs(event.headers))
            elif isinstance(event, h11.Response):
                response = RawResponse(
                    event.status_code,
                    _pairs(event.headers),
                    http_version=event.http_version.decode(),
                )
            elif isinstance(event, h11.Data):
                assert response is not None
                response.body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert response is not None
                self._leftover = parser.trailing_data[0]
                return response
            elif isinstance(event, h11.ConnectionClosed):
                return response  # None: closed before any answer

    def extra_bytes(self, wait: float) -> bytes:
        """Whatever else arrives within ``wait`` seconds (stops early at end-of-file)."""
        extra, self._leftover = self._leftover, b""
        self.sock.settimeout(wait)
        try:
            while data := self.recv():
                extra += data
        except TimeoutError:
            pass
        finally:
            self.sock.settimeout(self.timeout)
        return extra

    def closed_by_server(self, wait: float) -> bool:
        """True if the server closes this connection within ``wait`` seconds."""
        self.sock.settimeout(wait)
        try:
            return self.recv() == b""
        except TimeoutError:
            return False
        finally:
            self.sock.settimeout(self.timeout)

    def close(self) -> None:
        self.sock.close()


def _pairs(headers: Any) -> list[tuple[str, str]]:
    return [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in headers]


@pytest.fixture
def raw_http(conformance_server: Any) -> Iterator[Callable[..., RawHTTPConnection]]:
    """``connect(port, timeout=3.0)`` -> a RawHTTPConnection, closed after the test.

    Depends on ``conformance_server`` so that sockets close before servers stop.
    """
    opened: list[RawHTTPConnection] = []

    def connect(port: int, timeout: float = 3.0) -> RawHTTPConnection:
        connection = RawHTTPConnection(port, timeout)
        opened.append(connection)
        return connection

    yield connect
    for connection in opened:
        connection.close()
