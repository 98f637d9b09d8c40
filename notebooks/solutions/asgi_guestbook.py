# Reference solution: exercise "asgi-guestbook"
# (check: gl.exercise("asgi-guestbook")(guestbook_asgi)).
# It uses guestbook_page() and read_message() from the notebook, like the WSGI version.

asgi_messages = []  # this version's own store (the WSGI one has its own list)


async def guestbook_asgi(scope, receive, send):
    """The guestbook as an ASGI app: GET and HEAD show it, POST signs it, others: 405."""
    if scope["type"] != "http":
        # HTTP only: reject the other scope types (lifespan, websocket) by raising
        raise RuntimeError(f"unsupported scope type {scope['type']!r}")
    method = scope["method"]
    if method in ("GET", "HEAD"):
        status, headers, body = 200, [(b"content-type", b"text/html; charset=utf-8")], None
    elif method == "POST":
        data = b""
        more_body = True
        while more_body:  # the body may come in several http.request messages
            message = await receive()
            data += message.get("body", b"")
            more_body = message.get("more_body", False)
        text = read_message(data)  # noqa: F821 (defined in the notebook)
        if text:
            asgi_messages.append(text)
            status, headers, body = 200, [(b"content-type", b"text/html; charset=utf-8")], None
        else:
            status, headers = 400, [(b"content-type", b"text/plain; charset=utf-8")]
            body = b"Write a message first.\n"
    else:
        status, headers = 405, [(b"content-type", b"text/plain; charset=utf-8")]
        headers.append((b"allow", b"GET, HEAD, POST"))
        body = b"Only GET, HEAD and POST here.\n"
    if body is None:
        body = guestbook_page(asgi_messages)  # noqa: F821 (defined in the notebook)
    headers.append((b"content-length", str(len(body)).encode("ascii")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    if method == "HEAD":
        body = b""  # HEAD: the headers only (Content-Length still tells the page's size)
    await send({"type": "http.response.body", "body": body})
