"""Valid but unusual WSGI apps: none of them may get an error finding.

Most of them are the *near miss* of one or more rules (:func:`near`): an app
that comes as close to the mistake as a valid app can, which must not get
that rule at all, at any severity. ``docs/rules.md`` lists them beside the
rule (``tools/rules_doc.py`` reads the ``near(...)`` marks).
"""

from __future__ import annotations

import io
import sys
from urllib.parse import parse_qs

from . import collect, expect, near

TEXT = [("Content-Type", "text/plain; charset=utf-8")]


@near("wsgi.body-is-bytes", "wsgi.body-is-str", "wsgi.body-on-head")
def hello(environ, start_response):
    """The plain hello world, HEAD-aware."""
    body = b"Hello, World"
    start_response("200 OK", TEXT + [("Content-Length", str(len(body)))])
    return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]


@near("wsgi.body-before-start-response", "wsgi.no-start-response")
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


@near("wsgi.write-not-bytes", "wsgi.write-in-iterable", "wsgi.write-before-start-response")
def uses_write(environ, start_response):
    """The legacy write() callable (only an info)."""
    write = start_response("200 OK", TEXT)
    write(b"Hello, ")
    return [b"World"]


@near("wsgi.start-response-twice", "wsgi.exc-info-trapped", "wsgi.exc-info-form")
def exc_info_before_body(environ, start_response):
    """Starts a 200, hits an error, and replaces it with a 500 using exc_info."""
    start_response("200 OK", TEXT)
    try:
        raise ValueError("no database")
    except ValueError:
        start_response("500 Internal Server Error", TEXT, sys.exc_info())
        return [b"Sorry"]


@near("wsgi.exc-info-outside-handler", "app.raised")
def exc_info_first_call(environ, start_response):
    """Passes exc_info on the first and only call (allowed)."""
    try:
        {}["missing"]
    except KeyError:
        start_response("500 Internal Server Error", TEXT, sys.exc_info())
    return [b"Sorry"]


@near("wsgi.body-on-no-content", "wsgi.no-content-type")
def no_content(environ, start_response):
    """A 204 with no body and no Content-Type."""
    start_response("204 No Content", [])
    return []


@near("wsgi.body-on-no-content")
def not_modified(environ, start_response):
    """A 304 with no body."""
    start_response("304 Not Modified", [("ETag", '"v1"')])
    return [b""]


@near("wsgi.body-not-bytes")
def streamed(environ, start_response):
    """A streamed response: many chunks, some empty, no Content-Length."""
    start_response("200 OK", TEXT)
    for number in range(20):
        yield f"line {number}\n".encode()
        yield b""


@near("wsgi.content-length-mismatch", "wsgi.input-past-content-length", "wsgi.readline-size")
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


@near("wsgi.body-not-iterable", "wsgi.header-not-tuple")
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


@near("wsgi.close-raised", "wsgi.write-after-close")
def iterable_with_close(environ, start_response):
    """Returns an iterable whose close() releases something."""
    start_response("200 OK", TEXT)
    return _Body()


@near("wsgi.body-is-none", "wsgi.content-length-invalid")
def empty_200(environ, start_response):
    """A 200 with an empty body."""
    start_response("200 OK", [("Content-Length", "0")])
    return []


@near("wsgi.header-repeated")
def two_cookies_and_list_fields(environ, start_response):
    """Two Set-Cookie lines, and list fields (Vary, Cache-Control) sent on two lines each."""
    headers = TEXT + [
        ("Set-Cookie", "a=1; Path=/"),
        ("Set-Cookie", "b=2; Path=/"),
        ("Vary", "Accept-Encoding"),
        ("Vary", "Cookie"),
        ("Cache-Control", "no-cache"),
        ("Cache-Control", "private"),
    ]
    start_response("200 OK", headers)
    return [b"Hello"]


@near("wsgi.header-not-latin1")
def latin1_header(environ, start_response):
    """A header using latin-1 characters (allowed by PEP 3333)."""
    start_response("200 OK", TEXT + [("X-Greeting", "Grüß dich")])
    return [b"Hello"]


@near("wsgi.errors-not-str", "wsgi.stream-closed")
def file_wrapper_and_log(environ, start_response):
    """Logs to wsgi.errors and sends a file through wsgi.file_wrapper (with a fallback)."""
    from wsgiref.util import FileWrapper

    print("serving a file", file=environ["wsgi.errors"])
    wrapper = environ.get("wsgi.file_wrapper", FileWrapper)
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return wrapper(io.BytesIO(b"file contents" * 100), 256)


@near("wsgi.status-form", "wsgi.status-no-reason")
def status_own_reason(environ, start_response):
    """A reason phrase of its own, and a code no RFC names (both legal)."""
    start_response("299 Froody", TEXT)
    return [b"Hello"]


@near("wsgi.status-not-latin1", "wsgi.status-control")
def status_latin1_reason(environ, start_response):
    """A reason phrase with latin-1 letters (allowed)."""
    start_response("200 Très bien", TEXT)
    return [b"Hello"]


@near("wsgi.status-not-str", "wsgi.start-response-args")
def status_from_httpstatus(environ, start_response):
    """Builds the status from http.HTTPStatus and passes exc_info=None explicitly."""
    from http import HTTPStatus

    start_response(f"{HTTPStatus.OK.value} {HTTPStatus.OK.phrase}", TEXT, None)
    return [b"Hello"]


@near("wsgi.header-name-invalid", "wsgi.header-status", "wsgi.header-crlf")
def unusual_header_names(environ, start_response):
    """Header names with every token character, one called X-Status, a tab in a value."""
    start_response("200 OK", TEXT + [("X-Odd_Name!#$%&'*+.^`|~", "1"), ("X-Status", "a\tb")])
    return [b"Hello"]


@near("wsgi.hop-by-hop-header")
def gzipped(environ, start_response):
    """A Content-Encoding the app applies itself (a content coding, not a transport one)."""
    import gzip

    body = gzip.compress(b"Hello" * 100)
    headers = TEXT + [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
    start_response("200 OK", headers + [("Content-Length", str(len(body)))])
    return [body]


@near("wsgi.headers-not-list", "wsgi.header-not-str")
def headers_built_from_a_dict(environ, start_response):
    """Headers kept in a dict, passed as list(d.items()) (a list of str tuples)."""
    headers = {"Content-Type": "text/plain", "Content-Length": str(len(b"Hello"))}
    start_response("200 OK", list(headers.items()))
    return [b"Hello"]


class _Counted:
    def __init__(self, parts):
        self.parts = parts

    def __iter__(self):
        return iter(self.parts)

    def __len__(self):
        return len(self.parts)


@near("wsgi.len-inaccurate")
def accurate_length(environ, start_response):
    """A body class whose __len__ is exact."""
    start_response("200 OK", TEXT)
    return _Counted([b"Hello, ", b"World"])


@near("wsgi.stream-closed", "wsgi.input-past-content-length")
def closes_its_own_copy(environ, start_response):
    """Reads exactly the body into its own BytesIO and closes that (not wsgi.input)."""
    size = int(environ.get("CONTENT_LENGTH") or 0)
    with io.BytesIO(environ["wsgi.input"].read(size)) as copy:
        body = copy.read()
    start_response("200 OK", TEXT)
    return [body]


@near("wsgi.environ-key-missing", "app.raised")
def falls_back_on_missing_variables(environ, start_response):
    """Uses environ.get with a default for every variable a request may lack."""
    size = int(environ.get("CONTENT_LENGTH") or 0)
    kind = environ.get("CONTENT_TYPE", "")
    agent = environ.get("HTTP_X_NOT_SENT", "nobody")
    body = environ["wsgi.input"].read(size)
    start_response("200 OK", TEXT)
    return [f"{len(body)} {kind} {agent}".encode()]


@near("wsgi.input-past-content-length")
def reads_lines_of_a_body_that_has_them(environ, start_response):
    """readline() on a body that ends with a newline, and read(0) when there is none."""
    size = int(environ.get("CONTENT_LENGTH") or 0)
    stream = environ["wsgi.input"]
    lines = []
    if size:
        lines.append(stream.readline(size))
    else:
        stream.read(0)
    start_response("200 OK", TEXT)
    return lines


@near("wsgi.body-on-head", "wsgi.write-used", "wsgi.head-length-zero", "wsgi.head-length-differs")
def skips_the_body_on_head(environ, start_response):
    """A large generated body on GET, none on HEAD, the same headers for both."""
    body_size = 100_000
    start_response("200 OK", TEXT + [("Content-Length", str(body_size))])
    if environ["REQUEST_METHOD"] == "HEAD":
        return []
    return [b"x" * body_size]


@near("wsgi.exc-info-trapped", "wsgi.start-response-twice")
def error_after_body_lets_it_propagate(environ, start_response):
    """Fails before any byte, answers 500 with exc_info in its handler, no try around it."""
    try:
        start_response("200 OK", TEXT)
        raise LookupError("no such page")
    except LookupError:
        start_response("404 Not Found", TEXT, sys.exc_info())
        return [b"Not here"]


APPS = collect(globals())
