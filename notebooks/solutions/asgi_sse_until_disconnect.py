# Reference solution for the exercise "asgi-sse-until-disconnect" (notebook 07).
import asyncio


async def ticker(scope, receive, send):
    if scope["type"] != "http":
        # HTTP only: reject the other scope types (lifespan, websocket) by raising
        raise RuntimeError(f"unsupported scope type {scope['type']!r}")
    client_left = asyncio.Event()

    async def listen():
        # receive() gives the (empty) request body first, then waits:
        # the next message is http.disconnect, when the client hangs up.
        while (await receive())["type"] != "http.disconnect":
            pass
        client_left.set()

    listener = asyncio.create_task(listen())
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")],
        }
    )
    number = 0
    try:
        while not client_left.is_set():
            number += 1
            event = f"data: tick {number}\n\n".encode()
            await send({"type": "http.response.body", "body": event, "more_body": True})
            await asyncio.sleep(0.05)
    finally:
        listener.cancel()  # the client left (or we were cancelled): stop listening too
