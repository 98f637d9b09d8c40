# Reference solution for the exercise "asgi-no-blocking" (notebook 07).
import asyncio
import time
from urllib.parse import parse_qs


def slow_lookup(word):
    """A synchronous library call we cannot change (think: a database driver)."""
    time.sleep(0.2)
    return word.upper()


async def lookup_app(scope, receive, send):
    if scope["type"] != "http":
        # HTTP only: reject the other scope types (lifespan, websocket) by raising
        raise RuntimeError(f"unsupported scope type {scope['type']!r}")
    query = parse_qs(scope["query_string"].decode("latin-1"))
    word = query.get("word", ["hello"])[0]
    # The fix: run the blocking function in a worker thread and await the result.
    # The event loop serves other clients meanwhile.
    answer = await asyncio.to_thread(slow_lookup, word)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": answer.encode("utf-8")})
