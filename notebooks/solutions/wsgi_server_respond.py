# Reference solution: exercise "wsgi-server-respond"
# (check: gl.exercise("wsgi-server-respond")(respond_complete))


def respond_complete(app, environ, send_head, send_body):
    """Call a WSGI app and send its response: the server's half of PEP 3333."""
    status = headers = None
    head_sent = False

    def send_head_once():
        nonlocal head_sent
        if not head_sent:
            send_head(status, headers)
            head_sent = True

    def write(data):
        if data:  # the head goes out just before the first body bytes
            send_head_once()
            send_body(data)

    def start_response(new_status, new_headers, exc_info=None):
        nonlocal status, headers
        if exc_info is not None:
            try:
                if head_sent:  # too late to change the status: give up loudly
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # do not keep the traceback alive
        elif status is not None:
            raise RuntimeError("start_response() was called twice without exc_info")
        status, headers = new_status, new_headers
        return write

    body = app(environ, start_response)
    try:
        for chunk in body:
            write(chunk)
        send_head_once()  # an empty body: the head goes now
    finally:
        if hasattr(body, "close"):
            body.close()
