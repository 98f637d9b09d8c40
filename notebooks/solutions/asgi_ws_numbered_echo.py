# Reference solution for the exercise "asgi-ws-numbered-echo" (notebook 07).
async def numbered_echo(scope, receive, send):
    if scope["type"] != "websocket":
        # WebSocket only: reject the other scope types (http, lifespan) by raising
        raise RuntimeError(f"unsupported scope type {scope['type']!r}")
    count = 0  # one counter per connection: each call of the app is one connection
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif message["type"] == "websocket.receive":
            text = message.get("text") or ""
            if text == "bye":
                await send({"type": "websocket.send", "text": "goodbye"})
                await send({"type": "websocket.close", "code": 1000})
                return
            count += 1
            await send({"type": "websocket.send", "text": f"{count}: {text}"})
        elif message["type"] == "websocket.disconnect":
            return  # the client left: nothing more to do
