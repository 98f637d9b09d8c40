"""Real frameworks' apps on every engine: Flask and werkzeug (WSGI), Starlette (ASGI)."""

from __future__ import annotations

import httpx
import pytest

import gateway_lab as gl


@pytest.fixture(autouse=True)
def _stop_servers():
    yield
    gl.stop_all()


def flask_app():
    flask = pytest.importorskip("flask")
    app = flask.Flask("lesson")

    @app.get("/hello/<name>")
    def hello(name: str):
        return {"hello": name, "agent": flask.request.headers.get("User-Agent", "")}

    @app.post("/echo")
    def echo():
        return flask.request.get_data()

    return app


def werkzeug_app():
    from werkzeug.wrappers import Request, Response

    @Request.application
    def app(request: Request) -> Response:
        return Response(f"{request.method} {request.path} {request.args.get('q', '')}")

    return app


def starlette_app():
    pytest.importorskip("starlette")
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route, WebSocketRoute

    async def hello(request):
        return JSONResponse({"hello": request.path_params["name"]})

    async def stream(request):
        async def parts():
            for i in range(3):
                yield f"part {i}\n".encode()

        return StreamingResponse(parts(), media_type="text/plain")

    async def echo(websocket):
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())
        await websocket.close()

    return Starlette(
        routes=[
            Route("/hello/{name}", hello),
            Route("/stream", stream),
            WebSocketRoute("/ws", echo),
        ]
    )


@pytest.mark.parametrize("engine", ["mini", "werkzeug", "wsgiref"])
def test_flask_app(engine):
    srv = gl.serve_wsgi(flask_app(), engine=engine)
    with httpx.Client() as client:
        reply = client.get(srv.url + "hello/Ada", headers={"User-Agent": "lab"})
        assert reply.json() == {"hello": "Ada", "agent": "lab"}
        assert client.post(srv.url + "echo", content=b"x" * 5000).content == b"x" * 5000
        assert client.get(srv.url + "missing").status_code == 404
    assert srv.errors == []


@pytest.mark.parametrize("engine", ["mini", "werkzeug", "wsgiref"])
def test_werkzeug_app(engine):
    srv = gl.serve_wsgi(werkzeug_app(), engine=engine)
    assert httpx.get(srv.url + "p?q=1").text == "GET /p 1"


@pytest.mark.parametrize("engine", ["mini", "uvicorn"])
def test_starlette_app(engine):
    srv = gl.serve_asgi(starlette_app(), engine=engine)
    with httpx.Client() as client:
        assert client.get(srv.url + "hello/Ada").json() == {"hello": "Ada"}
        assert client.get(srv.url + "stream").text == "part 0\npart 1\npart 2\n"
    assert srv.errors == []


def test_in_process_calls_with_frameworks():
    assert gl.call_wsgi(flask_app(), path="/hello/Bo").json()["hello"] == "Bo"
    assert gl.call_asgi(starlette_app(), path="/hello/Bo").json() == {"hello": "Bo"}
