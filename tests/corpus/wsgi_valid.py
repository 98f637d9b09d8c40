"""Valid but unusual WSGI apps: none of them may get an error finding."""

from __future__ import annotations

import io
import sys
from urllib.parse import parse_qs

from . import collect, expect

TEXT = [("Content-Type", "text/plain; charset=utf-8")]


@expect(None)
def hello(environ, start_response):
    """The plain hello world, HEAD-aware."""
    body = b"Hello, World"
    start_response("200 OK", TEXT + [("Content-Length", str(len(body)))])
    return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]


@expect(None)
def late_start_generator(environ, start_response):
    """A generator calls start_response just before its first yield."""
    start_response("200 OK", TEXT)
    yield b"Hello"


@expect(None)
def start_after_work(environ, start_response):
    """A generator does work first, then calls start_response and yields."""
    parts = [b"a", b"b"]
    start_response("200 OK", TEXT)
    yield from parts


@expect(None)
def uses_write(environ, start_response):
    """The legacy write() callable (only an info)."""
    write = start_response("200 OK", TEXT)
    write(b"Hello, ")
    return [b"World"]


@expect(None)
def exc_info_before_body(environ, start_response):
    """Starts a 200, hits an error, and replaces it with a 500 using exc_info."""
    start_response("200 OK", TEXT)
    try:
        raise ValueError("no database")
    except ValueError:
        start_response("500 Internal Server Error", TEXT, sys.exc_info())
        return [b"Sorry"]


@expect(None)
def exc_info_first_call(environ, start_response):
    """Passes exc_info on the first and only call (allowed)."""
    try:
        {}["missing"]
    except KeyError:
        start_response("500 Internal Server Error", TEXT, sys.exc_info())
    return [b"Sorry"]


@expect(None)
def no_content(environ, start_response):
    """A 204 with no body and no Content-Type."""
    start_response("204 No Content", [])
    return []


@expect(None)
def not_modified(environ, start_response):
    """A 304 with no body."""
    start_response("304 Not Modified", [("ETag", '"v1"')])
    return [b""]


@expect(None)
def streamed(environ, start_response):
    """A streamed response: many chunks, some empty, no Content-Length."""
    start_response("200 OK", TEXT)
    for number in range(20):
        yield f"line {number}\n".encode()
        yield b""


@expect(None)
def echo_with_length(environ, start_response):
    """Reads exactly CONTENT_LENGTH bytes, then echoes them with a Content-Length."""
    size = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(size)
    start_response("200 OK", TEXT + [("Content-Length", str(len(body)))])
    return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]


@expect(None)
def form_reader(environ, start_response):
    """Parses a form body, reading it line by line."""
    size = int(environ.get("CONTENT_LENGTH") or 0)
    data = b"".join(environ["wsgi.input"].readlines()) if size else b""
    names = parse_qs(data.decode()).get("name", ["nobody"])
    start_response("200 OK", TEXT)
    return [f"Hello, {names[0]}".encode()]


@expect(None)
def tuple_body_and_cookies(environ, start_response):
    """A tuple body and repeated Set-Cookie headers."""
    start_response("200 OK", TEXT + [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
    return (b"Hello, ", b"cookies")


class _Body:
    def __init__(self):
        self.closed = False

    def __iter__(self):
        yield b"Hello"

    def close(self):
        self.closed = True


@expect(None)
def iterable_with_close(environ, start_response):
    """Returns an iterable whose close() releases something."""
    start_response("200 OK", TEXT)
    return _Body()


@expect(None)
def empty_200(environ, start_response):
    """A 200 with an empty body."""
    start_response("200 OK", [("Content-Length", "0")])
    return []


@expect(None)
def latin1_header(environ, start_response):
    """A header using latin-1 characters (allowed by PEP 3333)."""
    start_response("200 OK", TEXT + [("X-Greeting", "Grüß dich")])
    return [b"Hello"]


@expect(None)
def file_wrapper_and_log(environ, start_response):
    """Logs to wsgi.errors and sends a file through wsgi.file_wrapper (with a fallback)."""
    from wsgiref.util import FileWrapper

    print("serving a file", file=environ["wsgi.errors"])
    wrapper = environ.get("wsgi.file_wrapper", FileWrapper)
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return wrapper(io.BytesIO(b"file contents" * 100), 256)


APPS = collect(globals())
