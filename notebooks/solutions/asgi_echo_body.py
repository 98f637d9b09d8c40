# Reference solution: exercise "asgi-echo-body"
# (check it with: gl.exercise("asgi-echo-body")(echo_app))


async def echo_app(scope, receive, send):
    """Answer a request with its own body, however many messages it arrives in."""
    if scope["type"] != "http":
        # HTTP only: reject the other scope types (lifespan, websocket) by raising,
        # as the ASGI spec asks; a server then knows the app does not support them
        raise RuntimeError(f"unsupported scope type {scope['type']!r}")
    body = b""
    more_body = True
    while more_body:
        message = await receive()
        body += message.get("body", b"")
        more_body = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/octet-stream"),
                (b"content-length", str(len(body)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


app = echo_app  # the name the course's shared exercise tests load
