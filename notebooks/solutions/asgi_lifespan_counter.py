# Reference solution: exercise "asgi-lifespan-counter"
# (check it with: gl.exercise("asgi-lifespan-counter")(counter_app))


async def counter_app(scope, receive, send):
    """Count requests in the state that lifespan startup prepares."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # A dict, not an int: each request gets a shallow copy of the state,
                # so only changes made *inside* a shared object survive the request.
                scope["state"]["counter"] = {"count": 0}
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    elif scope["type"] == "http":
        counter = scope["state"]["counter"]
        counter["count"] += 1
        body = str(counter["count"]).encode("ascii")
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": body})
    else:
        raise ValueError(f"this app does not handle {scope['type']!r} connections")
