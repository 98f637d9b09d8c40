"""WSGI apps with exactly one mistake each, and the rule that must name it."""

from __future__ import annotations

import sys
import time

from . import collect, expect

TEXT = [("Content-Type", "text/plain; charset=utf-8")]


@expect("wsgi.body-is-str")
def returns_str(environ, start_response):
    """Returns the body as a str instead of a list of bytes."""
    start_response("200 OK", TEXT)
    return "Hello"


@expect("wsgi.body-is-bytes", wsgiref=False)
def returns_bytes(environ, start_response):
    """Returns bytes directly: works one byte at a time (wsgiref accepts it)."""
    start_response("200 OK", TEXT)
    return b"Hello"


@expect("wsgi.body-is-none")
def returns_none(environ, start_response):
    """Forgets the return statement."""
    start_response("200 OK", TEXT)


@expect("wsgi.body-not-iterable")
def returns_number(environ, start_response):
    """Returns a number."""
    start_response("200 OK", TEXT)
    return 42


@expect("wsgi.body-not-bytes")
def yields_str(environ, start_response):
    """A generator that yields str chunks."""
    start_response("200 OK", TEXT)
    yield "Hello, "
    yield "World"


@expect("wsgi.body-not-bytes")
def list_of_str(environ, start_response):
    """A list holding a str."""
    start_response("200 OK", TEXT)
    return ["Hello"]


@expect("wsgi.body-not-bytes")
def bytearray_chunk(environ, start_response):
    """A bytearray chunk: bytes-like, but not bytes."""
    start_response("200 OK", TEXT)
    return [bytearray(b"Hello")]


@expect("wsgi.no-start-response")
def never_starts(environ, start_response):
    """Never calls start_response."""
    return [b"Hello"]


@expect("wsgi.body-before-start-response")
def yields_before_start(environ, start_response):
    """A generator that yields body bytes before calling start_response."""
    yield b"Hello"
    start_response("200 OK", TEXT)
    yield b", World"


@expect("wsgi.start-response-twice", wsgiref=False)
def starts_twice(environ, start_response):
    """Calls start_response twice without exc_info (wsgiref's validator lets it pass)."""
    start_response("200 OK", TEXT)
    start_response("404 Not Found", TEXT)
    return [b"Hello"]


@expect("wsgi.start-response-args")
def start_without_headers(environ, start_response):
    """Calls start_response with the status only."""
    start_response("200 OK")
    return [b"Hello"]


@expect("wsgi.exc-info-form")
def exc_info_true(environ, start_response):
    """Passes exc_info=True instead of sys.exc_info()."""
    start_response("200 OK", TEXT, True)
    return [b"Hello"]


@expect("wsgi.status-not-str")
def status_int(environ, start_response):
    """The status is an int."""
    start_response(200, TEXT)
    return [b"Hello"]


@expect("wsgi.status-form")
def status_reversed(environ, start_response):
    """The status puts the reason first."""
    start_response("OK 200", TEXT)
    return [b"Hello"]


@expect("wsgi.status-form")
def status_too_low(environ, start_response):
    """A status code below 100."""
    start_response("099 Too Low", TEXT)
    return [b"Hello"]


@expect("wsgi.status-no-reason")
def status_without_reason(environ, start_response):
    """The status has no reason phrase (PEP 3333: a code, one space, a reason)."""
    start_response("200", TEXT)
    return [b"Hello"]


@expect("wsgi.status-not-latin1", wsgiref=False)
def status_beyond_latin1(environ, start_response):
    """A reason phrase with a character latin-1 cannot hold."""
    start_response("200 OK \u2713", TEXT)
    return [b"Hello"]


@expect("wsgi.status-form", wsgiref=False)
def status_trailing_space(environ, start_response):
    """The status ends with a space ("no surrounding whitespace")."""
    start_response("200 OK ", TEXT)
    return [b"Hello"]


@expect("wsgi.status-control", wsgiref=False)
def status_with_crlf(environ, start_response):
    """The status ends with a line break."""
    start_response("200 OK\r\n", TEXT)
    return [b"Hello"]


@expect("wsgi.exc-info-outside-handler", "warning", wsgiref=False)
def exc_info_outside_handler(environ, start_response):
    """Passes sys.exc_info() where no exception is being handled."""
    start_response("200 OK", TEXT, sys.exc_info())
    return [b"Hello"]


@expect("wsgi.exc-info-trapped", wsgiref=False)
def traps_the_reraise(environ, start_response):
    """Catches the exception start_response re-raises once the head is out."""
    start_response("200 OK", TEXT)
    yield b"Hello"
    try:
        raise ValueError("the database went away")
    except ValueError:
        try:
            start_response("500 Internal Server Error", TEXT, sys.exc_info())
        except ValueError:
            pass  # the mistake: this exception must reach the server
    yield b" and goodbye"


@expect("wsgi.write-in-iterable", wsgiref=False)
def writes_from_the_iterable(environ, start_response):
    """Calls write() from inside the generator it returned."""
    write = start_response("200 OK", TEXT)
    yield b"Hello, "
    write(b"World")


class _LyingLength:
    def __iter__(self):
        yield b"Hello"

    def __len__(self):
        return 3


@expect("wsgi.len-inaccurate", wsgiref=False)
def length_lies(environ, start_response):
    """A body whose __len__ says 3 items while it yields one."""
    start_response("200 OK", TEXT)
    return _LyingLength()


@expect("wsgi.stream-closed")
def closes_input(environ, start_response):
    """Closes wsgi.input after reading it (the stream is the server's)."""
    stream = environ["wsgi.input"]
    body = stream.read(int(environ.get("CONTENT_LENGTH") or 0))
    stream.close()
    start_response("200 OK", TEXT)
    return [body]


@expect("wsgi.stream-closed")
def closes_errors(environ, start_response):
    """Logs, then closes wsgi.errors."""
    environ["wsgi.errors"].write("seen\n")
    environ["wsgi.errors"].close()
    start_response("200 OK", TEXT)
    return [b"Hello"]


@expect("wsgi.environ-key-missing", "warning")
def needs_content_length(environ, start_response):
    """Reads environ['CONTENT_LENGTH'], absent on a GET: KeyError, no fallback."""
    body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    start_response("200 OK", TEXT)
    return [body]


@expect("wsgi.headers-not-list")
def headers_tuple(environ, start_response):
    """Headers given as a tuple of tuples."""
    start_response("200 OK", (("Content-Type", "text/plain"),))
    return [b"Hello"]


@expect("wsgi.headers-not-list")
def headers_dict(environ, start_response):
    """Headers given as a dict."""
    start_response("200 OK", {"Content-Type": "text/plain"})
    return [b"Hello"]


@expect("wsgi.header-not-tuple")
def header_as_list(environ, start_response):
    """Each header is a list, not a tuple."""
    start_response("200 OK", [["Content-Type", "text/plain"]])
    return [b"Hello"]


@expect("wsgi.header-not-str")
def header_value_int(environ, start_response):
    """Content-Length given as an int."""
    body = b"Hello"
    start_response("200 OK", TEXT + [("Content-Length", len(body))])
    return [body]


@expect("wsgi.header-not-str")
def header_bytes(environ, start_response):
    """Header name and value given as bytes (the ASGI habit)."""
    start_response("200 OK", [(b"Content-Type", b"text/plain")])
    return [b"Hello"]


@expect("wsgi.header-not-latin1", wsgiref=False)
def header_not_latin1(environ, start_response):
    """A header value with characters beyond latin-1."""
    start_response("200 OK", TEXT + [("X-Greeting", "こんにちは")])
    return [b"Hello"]


@expect("wsgi.header-crlf")
def header_crlf(environ, start_response):
    """A header value with a line break (header injection)."""
    start_response("200 OK", TEXT + [("X-Name", "Ada\r\nSet-Cookie: evil=1")])
    return [b"Hello"]


@expect("wsgi.header-name-invalid")
def header_name_space(environ, start_response):
    """A header name with a space in it."""
    start_response("200 OK", TEXT + [("X Name", "Ada")])
    return [b"Hello"]


@expect("wsgi.header-status")
def header_status(environ, start_response):
    """Puts the status in a header, CGI style."""
    start_response("200 OK", TEXT + [("Status", "200 OK")])
    return [b"Hello"]


@expect("wsgi.hop-by-hop-header", wsgiref=False)
def sets_connection(environ, start_response):
    """Sets Connection: keep-alive (the connection is the server's business)."""
    start_response("200 OK", TEXT + [("Connection", "keep-alive")])
    return [b"Hello"]


@expect("wsgi.hop-by-hop-header", wsgiref=False)
def sets_transfer_encoding(environ, start_response):
    """Sets Transfer-Encoding: chunked itself."""
    start_response("200 OK", TEXT + [("Transfer-Encoding", "chunked")])
    return [b"Hello"]


@expect("wsgi.no-content-type", "warning")
def no_content_type(environ, start_response):
    """A body without a Content-Type."""
    start_response("200 OK", [])
    return [b"Hello"]


@expect("wsgi.content-length-mismatch", wsgiref=False)
def length_of_str(environ, start_response):
    """Content-Length from len() of the str, not of the encoded bytes."""
    text = "Grüße"
    start_response("200 OK", TEXT + [("Content-Length", str(len(text)))])
    return [text.encode("utf-8")]


@expect("wsgi.content-length-mismatch", wsgiref=False)
def length_too_big(environ, start_response):
    """Promises more bytes than it sends."""
    start_response("200 OK", TEXT + [("Content-Length", "100")])
    return [b"Hello"]


@expect("wsgi.content-length-invalid", wsgiref=False)
def length_not_a_number(environ, start_response):
    """A Content-Length that is not a number."""
    start_response("200 OK", TEXT + [("Content-Length", "five")])
    return [b"Hello"]


@expect("wsgi.header-repeated", wsgiref=False)
def two_content_types(environ, start_response):
    """A middleware-style second Content-Type appended after the app's own."""
    start_response("200 OK", TEXT + [("Content-Type", "text/html; charset=utf-8")])
    return [b"Hello"]


@expect("wsgi.header-repeated", wsgiref=False)
def two_equal_lengths(environ, start_response):
    """The same Content-Length twice (one from the app, one added again)."""
    start_response("200 OK", TEXT + [("Content-Length", "5"), ("content-length", "5")])
    return [b"Hello"]


@expect("wsgi.head-length-zero", wsgiref=False)
def head_length_zero(environ, start_response):
    """Leaves the body out for HEAD first, then counts it: Content-Length 0 on HEAD."""
    body = b"" if environ["REQUEST_METHOD"] == "HEAD" else b"Hello"
    start_response("200 OK", TEXT + [("Content-Length", str(len(body)))])
    return [body]


@expect("wsgi.head-length-differs", "warning", wsgiref=False)
def head_length_of_another_page(environ, start_response):
    """Declares, for HEAD, the length of a shorter page than GET sends."""
    head = environ["REQUEST_METHOD"] == "HEAD"
    start_response("200 OK", TEXT + [("Content-Length", "2" if head else "5")])
    return [] if head else [b"Hello"]


@expect("wsgi.body-on-no-content")
def body_on_204(environ, start_response):
    """A 204 No Content response with a body (and a Content-Type for it)."""
    start_response("204 No Content", TEXT)
    return [b"Nothing to see"]


@expect("wsgi.body-on-head", "info", wsgiref=False)
def body_on_head(environ, start_response):
    """Builds a 100 KiB body on HEAD too (servers drop it: wasted work, a note)."""
    body = b"x" * 100_000
    start_response("200 OK", TEXT + [("Content-Length", str(len(body)))])
    return [body]


@expect("wsgi.input-past-content-length", "warning", wsgiref=False)
def reads_too_much(environ, start_response):
    """Reads a fixed 1 MiB from wsgi.input, past CONTENT_LENGTH."""
    body = environ["wsgi.input"].read(1024 * 1024)
    start_response("200 OK", TEXT)
    return [body]


@expect("wsgi.input-past-content-length", "warning", wsgiref=False)
def reads_a_block(environ, start_response):
    """Reads a fixed 65536-byte block (the same mistake as read() with no size)."""
    body = environ["wsgi.input"].read(65536)
    start_response("200 OK", TEXT)
    return [body]


@expect("wsgi.input-past-content-length", "warning", wsgiref=False)
def reads_a_line_without_newline(environ, start_response):
    """readline() on a form body that has no newline: on a socket it waits for one."""
    line = environ["wsgi.input"].readline() if environ.get("CONTENT_LENGTH") else b""
    start_response("200 OK", TEXT)
    return [line]


@expect("wsgi.readline-size", "warning", wsgiref=False)
def reads_a_line_with_a_size(environ, start_response):
    """readline(size): a size PEP 3333 lets servers leave unsupported."""
    size = int(environ.get("CONTENT_LENGTH") or 0)
    line = environ["wsgi.input"].readline(size) if size else b""
    start_response("200 OK", TEXT)
    return [line]


@expect("wsgi.input-past-content-length", "warning", wsgiref=False)
def reads_until_empty(environ, start_response):
    """Reads in a loop until an empty read: the last read asks past the end."""
    parts = []
    while True:
        part = environ["wsgi.input"].read(4)
        if not part:
            break
        parts.append(part)
    start_response("200 OK", TEXT)
    return [b"".join(parts)]


@expect("wsgi.input-past-content-length", "warning")
def reads_without_size(environ, start_response):
    """Reads wsgi.input with read() and no size."""
    body = environ["wsgi.input"].read()
    start_response("200 OK", TEXT)
    return [body]


@expect("wsgi.write-not-bytes")
def writes_str(environ, start_response):
    """Passes a str to write()."""
    write = start_response("200 OK", TEXT)
    write("Hello")
    return []


@expect("wsgi.errors-not-str")
def logs_bytes(environ, start_response):
    """Writes bytes to wsgi.errors, a text stream."""
    environ["wsgi.errors"].write(b"request seen\n")
    start_response("200 OK", TEXT)
    return [b"Hello"]


class _ClosingBody:
    def __iter__(self):
        yield b"Hello"

    def close(self):
        raise RuntimeError("already closed")


@expect("wsgi.close-raised", wsgiref=False)
def close_raises(environ, start_response):
    """The body's close() raises."""
    start_response("200 OK", TEXT)
    return _ClosingBody()


@expect("app.raised")
def raises(environ, start_response):
    """Divides by zero."""
    start_response("200 OK", TEXT)
    return [str(1 / 0).encode()]


@expect("app.raised")
def raises_in_generator(environ, start_response):
    """Raises while the body is being produced."""
    start_response("200 OK", TEXT)
    yield b"Hello"
    raise KeyError("name")


@expect("app.timeout", wsgiref=False, timeout=0.3)
def hangs(environ, start_response):
    """Never finishes in time (sleeps longer than the check waits)."""
    start_response("200 OK", TEXT)
    time.sleep(0.6)
    return [b"late"]


APPS = collect(globals())
