# Reference solution: exercise "wsgi-hello-name"
# (check: gl.exercise("wsgi-hello-name")(hello_name))
from urllib.parse import parse_qs


def hello_name(environ, start_response):
    """Greet the name from the query string: /?name=Ada -> "Hello, Ada!"."""
    query = parse_qs(environ.get("QUERY_STRING", ""))
    name = query.get("name", ["World"])[0]
    body = f"Hello, {name}!".encode()
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
        ],
    )
    if environ["REQUEST_METHOD"] == "HEAD":
        return []
    return [body]
