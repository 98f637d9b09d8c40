# Reference solution: exercise "asgi-streaming-count"
# (check it with: gl.exercise("asgi-streaming-count")(count_app))
from urllib.parse import parse_qs


async def count_app(scope, receive, send):
    """Stream the lines 1 to n, one http.response.body message per line."""
    if scope["type"] != "http":
        # HTTP only: reject the other scope types (lifespan, websocket) by raising,
        # as the ASGI spec asks; a server then knows the app does not support them
        raise RuntimeError(f"unsupported scope type {scope['type']!r}")
    query = parse_qs(scope["query_string"].decode("latin-1"))  # query_string is bytes
    n = int(query.get("n", ["3"])[0])
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    for number in range(1, n + 1):
        line = f"{number}\n".encode("ascii")
        await send({"type": "http.response.body", "body": line, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})
