# Reference solution: exercise "wsgi-json-echo"
# (check: gl.exercise("wsgi-json-echo")(json_echo))
import json


def json_echo(environ, start_response):
    """Answer a JSON POST with the same object plus "size", the body's length in bytes."""
    if environ["REQUEST_METHOD"] != "POST":
        start_response("405 Method Not Allowed", [("Allow", "POST"), ("Content-Length", "0")])
        return []
    size = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(size)  # exactly the body, never more
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        body = b'Send a JSON object, such as {"name": "Ada"}.\n'
        start_response(
            "400 Bad Request",
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]
    data["size"] = size
    body = json.dumps(data).encode("utf-8")
    start_response(
        "200 OK",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]
