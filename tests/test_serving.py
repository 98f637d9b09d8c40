"""gateway_lab.serving.registry: serving learners' apps from the kernel, and every bad start."""

from __future__ import annotations

import os
import socket
import threading
import time

import httpx
import pytest

import gateway_lab as gl
from gateway_lab import errors
from gateway_lab.serving.registry import servers

WSGI_ENGINES = ["werkzeug", "wsgiref"]
ASGI_ENGINES = ["uvicorn"]


def hello_wsgi(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello ", environ["PATH_INFO"].encode("latin-1")]


async def hello_asgi(scope, receive, send):
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": b"hello " + scope["path"].encode()})


@pytest.fixture(autouse=True)
def _no_leftover_servers():
    yield
    gl.stop_all()


def settled(srv, count: int) -> list:
    """The server's request log once it holds ``count`` records.

    A request is logged when the server closes the app's body, a moment after
    the client already has the response, so tests wait briefly for it.
    """
    deadline = time.monotonic() + 2
    while len(srv.requests) < count and time.monotonic() < deadline:
        time.sleep(0.005)
    return srv.requests


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("engine", WSGI_ENGINES)
def test_wsgi_engine_serves_on_loopback(engine):
    with gl.serve_wsgi(hello_wsgi, engine=engine) as srv:
        assert srv.url == f"http://127.0.0.1:{srv.port}/"
        assert srv.running
        response = httpx.get(srv.url + "there")
        assert response.status_code == 200
        assert response.text == "hello /there"
        assert settled(srv, 1)[-1].status == 200
        assert srv.requests[-1].path == "/there"
    assert not srv.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(srv.url, timeout=1)


@pytest.mark.parametrize("engine", ASGI_ENGINES)
def test_asgi_engine_serves_on_loopback(engine):
    with gl.serve_asgi(hello_asgi, engine=engine) as srv:
        response = httpx.get(srv.url + "there")
        assert response.status_code == 200
        assert response.text == "hello /there"
    assert not srv.running


def test_server_binds_loopback_only():
    srv = gl.serve_wsgi(hello_wsgi)
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # Not reachable on another local address of the machine (if it has one).
        addresses = {
            info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
        }
        for address in addresses - {"127.0.0.1"}:
            if address.startswith("127."):
                continue
            with pytest.raises(OSError):
                listening.settimeout(0.5)
                listening.connect((address, srv.port))
    except socket.gaierror:
        pass
    finally:
        listening.close()
    assert srv._runner.sock.getsockname()[0] == "127.0.0.1"


def test_servers_registry_and_stop_all():
    a = gl.serve_wsgi(hello_wsgi, name="a")
    b = gl.serve_asgi(hello_asgi, name="b")
    table = servers()
    assert set(table) == {"a", "b"}
    assert "a" in table._repr_html_() and "b" in table._repr_html_()
    assert gl.stop_all() == 2
    assert not a.running and not b.running
    assert servers() == {}
    assert "No gateway-lab servers" in servers()._repr_html_()


@pytest.mark.parametrize(
    "serve, app, engine",
    [(gl.serve_wsgi, hello_wsgi, e) for e in WSGI_ENGINES]
    + [(gl.serve_asgi, hello_asgi, e) for e in ASGI_ENGINES],
)
def test_rerun_by_name_replaces_and_keeps_the_port(serve, app, engine):
    first = serve(app, name="lesson", engine=engine)
    second = serve(app, name="lesson", engine=engine)
    assert not first.running
    assert second.running
    assert second.port == first.port  # the link shown earlier keeps working
    assert list(servers()) == ["lesson"]
    assert httpx.get(second.url).status_code == 200


def test_rerun_by_name_with_explicit_port():
    first = gl.serve_wsgi(hello_wsgi, name="fixed")
    port = first.port
    second = gl.serve_wsgi(hello_wsgi, name="fixed", port=port)
    assert second.port == port and second.running and not first.running


def test_default_name_is_the_app_name():
    srv = gl.serve_wsgi(hello_wsgi)
    assert srv.name == "hello_wsgi"
    assert "hello_wsgi" in servers()


@pytest.mark.parametrize("engine", WSGI_ENGINES + ASGI_ENGINES)
def test_lifecycle_leaves_no_threads_or_descriptors(engine):
    serve, app = (
        (gl.serve_asgi, hello_asgi) if engine in ASGI_ENGINES else (gl.serve_wsgi, hello_wsgi)
    )
    # Warm up: first use imports the engine and may open lasting descriptors.
    with serve(app, name="warm", engine=engine) as srv:
        with httpx.Client() as client:
            client.get(srv.url)
    time.sleep(0.05)
    threads, fds = threading.active_count(), fd_count()
    for i in range(200):
        srv = serve(app, name=f"cycle{i % 3}", engine=engine)
        if i % 20 == 0:
            with httpx.Client() as client:
                assert client.get(srv.url).status_code == 200
        srv.stop()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and (threading.active_count() > threads or fd_count() > fds):
        time.sleep(0.02)  # handler threads end once their clients have closed
    assert threading.active_count() <= threads
    assert fd_count() <= fds


def test_port_held_by_our_server_names_it():
    holder = gl.serve_wsgi(hello_wsgi, name="holder")
    with pytest.raises(errors.PortInUseError) as caught:
        gl.serve_wsgi(hello_wsgi, name="other", port=holder.port)
    message = str(caught.value)
    assert str(holder.port) in message and "'holder'" in message
    assert "port=0" in message
    assert caught.value.holder == "holder"
    assert isinstance(caught.value, OSError)
    assert holder.running  # the holder is untouched


def test_port_held_by_another_program():
    other = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    other.bind(("127.0.0.1", 0))
    other.listen()
    port = other.getsockname()[1]
    try:
        with pytest.raises(errors.PortInUseError) as caught:
            gl.serve_asgi(hello_asgi, port=port)
        assert f"Port {port}" in str(caught.value)
        assert "another program" in str(caught.value)
        assert servers() == {}
    finally:
        other.close()


@pytest.mark.parametrize("bad_port", [-1, 70000, "8000", 1.5])
def test_bad_port_values(bad_port):
    with pytest.raises(errors.GatewayLabError, match="0 to 65535"):
        gl.serve_wsgi(hello_wsgi, port=bad_port)


@pytest.mark.parametrize(
    "thing, words",
    [
        ("hello", "cannot be called"),
        ([b"hello"], "result"),
        (42, "cannot be called"),
    ],
)
def test_not_callable_is_refused(thing, words):
    with pytest.raises(errors.NotAnAppError, match=words):
        gl.serve_wsgi(thing)
    with pytest.raises(errors.NotAnAppError):
        gl.serve_asgi(thing)


def test_async_app_given_to_serve_wsgi():
    with pytest.raises(errors.WrongInterfaceError) as caught:
        gl.serve_wsgi(hello_asgi)
    assert "ASGI" in str(caught.value) and "serve_asgi(hello_asgi)" in str(caught.value)


def test_two_argument_function_given_to_serve_asgi():
    with pytest.raises(errors.WrongInterfaceError) as caught:
        gl.serve_asgi(hello_wsgi)
    assert "WSGI" in str(caught.value) and "serve_wsgi(hello_wsgi)" in str(caught.value)


def test_three_argument_sync_function_given_to_serve_wsgi():
    def app(scope, receive, send):
        return None

    with pytest.raises(errors.WrongInterfaceError, match="two arguments"):
        gl.serve_wsgi(app)


def test_unknown_engine():
    with pytest.raises(errors.UnknownEngineError) as caught:
        gl.serve_wsgi(hello_wsgi, engine="gunicorn")
    assert "'werkzeug'" in str(caught.value)
    with pytest.raises(errors.UnknownEngineError, match="serve_asgi"):
        gl.serve_wsgi(hello_wsgi, engine="uvicorn")
    assert servers() == {}


def test_bad_start_leaves_nothing_behind():
    fds = fd_count()
    for _ in range(5):
        with pytest.raises(errors.GatewayLabError):
            gl.serve_wsgi(hello_asgi)
        with pytest.raises(errors.GatewayLabError):
            gl.serve_wsgi(hello_wsgi, engine="nope")
    assert fd_count() <= fds


def test_errors_render_without_full_traceback_in_ipython():
    error = errors.WrongInterfaceError("use serve_asgi")
    assert error._render_traceback_() == ["WrongInterfaceError: use serve_asgi"]


@pytest.mark.parametrize("engine", WSGI_ENGINES)
def test_wsgi_app_that_raises_gets_500_and_server_keeps_serving(engine, capfd):
    def broken(environ, start_response):
        if environ["PATH_INFO"] == "/boom":
            raise ValueError("the learner's bug")
        return hello_wsgi(environ, start_response)

    with gl.serve_wsgi(broken, engine=engine) as srv:
        response = httpx.get(srv.url + "boom")
        assert response.status_code == 500
        assert "ValueError: the learner's bug" in response.text
        assert httpx.get(srv.url + "fine").status_code == 200
        assert len(srv.errors) == 1
        assert "Traceback" in srv.errors[0].traceback
        assert "the learner's bug" in srv.errors[0].traceback
        assert srv.errors[0].request == "GET /boom"
        assert [r.status for r in settled(srv, 2)] == [500, 200]
    out, err = capfd.readouterr()
    assert err == "" and out == ""  # nothing sprayed into the cell


@pytest.mark.parametrize("engine", WSGI_ENGINES)
def test_generator_that_raises_midway_before_any_body(engine):
    def broken(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        raise KeyError("missing")
        yield b"never"

    with gl.serve_wsgi(broken, engine=engine) as srv:
        assert httpx.get(srv.url).status_code == 500
        assert "KeyError" in srv.errors[0].summary
        assert httpx.get(srv.url).status_code == 500


@pytest.mark.parametrize(
    "body, words",
    [
        ("hello", "returned a str"),
        (b"hello", "Wrap it in a list"),
        (None, "return statement"),
        (["hello"], "str chunk"),
    ],
)
def test_wrong_body_types_are_explained(body, words):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body

    with gl.serve_wsgi(app) as srv:
        response = httpx.get(srv.url)
        assert response.status_code == 500
        assert words in response.text
        assert words in srv.errors[0].summary


def test_asgi_app_that_raises_gets_500_and_server_keeps_serving(capfd):
    async def broken(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/boom":
            raise ValueError("async bug")
        await hello_asgi(scope, receive, send)

    with gl.serve_asgi(broken) as srv:
        response = httpx.get(srv.url + "boom")
        assert response.status_code == 500
        assert "ValueError: async bug" in response.text
        assert httpx.get(srv.url).status_code == 200
        assert len(srv.errors) == 1 and "async bug" in srv.errors[0].traceback
    out, err = capfd.readouterr()
    assert err == "" and out == ""


def test_asgi_app_that_raises_after_starting_closes_the_connection():
    async def broken(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        raise RuntimeError("half way")

    with gl.serve_asgi(broken) as srv:
        with pytest.raises(httpx.HTTPError):
            httpx.get(srv.url)
        assert any("half way" in e.summary for e in srv.errors)
        assert srv.running


@pytest.mark.parametrize("engine", WSGI_ENGINES)
def test_hanging_wsgi_app_cannot_block_stop(engine):
    release = threading.Event()

    def hang(environ, start_response):
        release.wait(30)
        return hello_wsgi(environ, start_response)

    srv = gl.serve_wsgi(hang, engine=engine)
    client = threading.Thread(target=_quiet_get, args=(srv.url,), daemon=True)
    client.start()
    time.sleep(0.2)  # the request is now inside the app
    started = time.monotonic()
    srv.stop(timeout=0.5)
    assert time.monotonic() - started < 3
    assert not srv.running
    # The port is free again.
    again = gl.serve_wsgi(hello_wsgi, port=srv.port)
    assert httpx.get(again.url).status_code == 200
    release.set()
    client.join(5)


def test_hanging_asgi_app_cannot_block_stop():
    import asyncio

    async def hang(scope, receive, send):
        if scope["type"] == "http":
            await asyncio.sleep(30)

    srv = gl.serve_asgi(hang)
    client = threading.Thread(target=_quiet_get, args=(srv.url,), daemon=True)
    client.start()
    time.sleep(0.2)
    started = time.monotonic()
    assert srv.stop(timeout=2)
    assert time.monotonic() - started < 3
    client.join(5)


def _quiet_get(url: str) -> None:
    try:
        httpx.get(url, timeout=5)
    except httpx.HTTPError:
        pass


def test_lifespan_startup_failure_is_a_clear_start_error():
    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.failed", "message": "no database"})
            return
        await hello_asgi(scope, receive, send)

    with pytest.raises(errors.ServerStartError) as caught:
        gl.serve_asgi(app)
    assert "lifespan" in str(caught.value)
    assert "The app said: no database" in str(caught.value)
    assert servers() == {}
    # The kernel (here: the test process) is fine, and a good app still serves.
    with gl.serve_asgi(hello_asgi) as srv:
        assert httpx.get(srv.url).status_code == 200


def test_asgi_app_without_lifespan_support_still_serves():
    async def app(scope, receive, send):
        assert scope["type"] == "http", "only http here"
        await hello_asgi(scope, receive, send)

    with gl.serve_asgi(app) as srv:
        assert httpx.get(srv.url).status_code == 200
        assert srv.errors == []


def test_browser_url_on_a_laptop(monkeypatch):
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    with gl.serve_wsgi(hello_wsgi) as srv:
        assert srv.browser_url == srv.url


def test_browser_url_under_a_hub(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    with gl.serve_wsgi(hello_wsgi) as srv:
        assert srv.browser_url == f"/user/ada/proxy/{srv.port}/"
        assert srv.url.startswith("http://127.0.0.1:")
        assert f"/user/ada/proxy/{srv.port}/" in srv._repr_html_()


def test_handle_shows_itself():
    srv = gl.serve_wsgi(hello_wsgi, name="shown")
    httpx.get(srv.url)
    settled(srv, 1)
    assert "running" in repr(srv) and "1 request," in repr(srv)
    page = srv._repr_html_()
    assert f'href="{srv.browser_url}"' in page and "running" in page
    srv.stop()
    assert "stopped" in srv._repr_html_() and "href" not in srv._repr_html_()
    assert "GET / -> 200" in repr(srv.log)
    assert "<td>200</td>" in srv.log._repr_html_()


def test_stop_twice_is_harmless():
    srv = gl.serve_wsgi(hello_wsgi)
    assert srv.stop()
    assert srv.stop()


def test_stopping_an_old_handle_does_not_stop_its_replacement():
    old = gl.serve_wsgi(hello_wsgi, name="same")
    new = gl.serve_wsgi(hello_wsgi, name="same")
    old.stop()
    assert new.running and "same" in servers()
