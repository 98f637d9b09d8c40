"""gateway_lab.serving.loopback: loopback sockets and browser URLs."""

from __future__ import annotations

import socket

import pytest

from gateway_lab.errors import PortInUseError
from gateway_lab.serving.loopback import bind_loopback, browser_url_for


def test_bind_loopback_listens_on_127_0_0_1_with_nodelay():
    sock = bind_loopback(0)
    try:
        host, port = sock.getsockname()
        assert host == "127.0.0.1" and port > 0
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
    finally:
        sock.close()


def test_port_in_use_names_the_holder():
    first = bind_loopback(0)
    port = first.getsockname()[1]
    try:
        with pytest.raises(PortInUseError, match="'lesson'"):
            bind_loopback(port, holder_of=lambda p: "lesson" if p == port else None)
        with pytest.raises(PortInUseError, match="another program"):
            bind_loopback(port)
    finally:
        first.close()


@pytest.mark.parametrize(
    "prefix, expected",
    [
        (None, "http://127.0.0.1:8123/"),
        ("", "http://127.0.0.1:8123/"),
        ("/user/ada/", "/user/ada/proxy/8123/"),
        ("/user/ada", "/user/ada/proxy/8123/"),
        ("user/ada/", "/user/ada/proxy/8123/"),
    ],
)
def test_browser_url(prefix, expected):
    environ = {} if prefix is None else {"JUPYTERHUB_SERVICE_PREFIX": prefix}
    assert browser_url_for(8123, environ) == expected
