# Reference solution: exercise "asgi-to-wsgi-bridge"
# (check: gl.exercise("asgi-to-wsgi-bridge")(asgi_to_wsgi))
import asyncio
from http import HTTPStatus


def scope_from(environ):
    """The ASGI http scope for a WSGI environ (given in the notebook: the dull part)."""
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:]
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            name = key
        else:
            continue
        headers.append((name.replace("_", "-").lower().encode("latin-1"), value.encode("latin-1")))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": environ.get("SERVER_PROTOCOL", "HTTP/1.1").partition("/")[2] or "1.1",
        "method": environ["REQUEST_METHOD"],
        "scheme": environ.get("wsgi.url_scheme", "http"),
        "path": environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace"),
        "query_string": environ.get("QUERY_STRING", "").encode("latin-1"),
        "root_path": environ.get("SCRIPT_NAME", ""),
        "headers": headers,
        "server": (environ.get("SERVER_NAME", "127.0.0.1"), int(environ.get("SERVER_PORT", 80))),
        "client": None,
    }


def asgi_to_wsgi(asgi_app):
    """Wrap an ASGI app as a WSGI app: one asyncio.run per request, everything buffered."""

    def wsgi_app(environ, start_response):
        # 1. The whole request body, read at once.
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""

        # 2. receive(): the body as one message, then "the client has gone".
        incoming = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive():
            if incoming:
                return incoming.pop(0)
            return {"type": "http.disconnect"}

        # 3. send(): keep every message the app sends.
        sent = []

        async def send(message):
            sent.append(message)

        # 4. Run the app on a fresh event loop in this (server) thread.
        asyncio.run(asgi_app(scope_from(environ), receive, send))

        # 5. Turn the messages into a WSGI response.
        start = next(m for m in sent if m["type"] == "http.response.start")
        status = HTTPStatus(start["status"])
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in start.get("headers", [])
        ]
        start_response(f"{status.value} {status.phrase}", headers)
        return [m.get("body", b"") for m in sent if m["type"] == "http.response.body"]

    return wsgi_app
