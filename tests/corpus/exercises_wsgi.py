"""Learners' answers to the WSGI-side exercises (lessons 01 to 04), with the verdict each gets.

Each :class:`Answer` is one answer as a learner writes it: six or more wrong
ones per exercise (the mistakes of the lesson's own topic) and three or more
valid variants (a class instance, a generator, werkzeug's request and
response objects, a different but legal wire form). ``passes`` is the
verdict it must get; ``words`` are texts the feedback must contain: in a ✗
line for a wrong answer (the cause, named), anywhere in the report for a
valid one (the checks the exercise is about). CGI answers are script
sources; the others are the functions the notebook asks for.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from werkzeug.datastructures import WWWAuthenticate
from werkzeug.wrappers import Request, Response

SOLUTIONS = Path(__file__).resolve().parent.parent.parent / "notebooks" / "solutions"


@dataclass(frozen=True)
class Answer:
    """One learner's answer to ``exercise``, the verdict it must get and the words it must hear."""

    exercise: str
    name: str
    answer: Any
    passes: bool
    words: tuple[str, ...] = ()


ANSWERS: list[Answer] = []


def answer(exercise: str, passes: bool, *words: str) -> Callable[[Any], Any]:
    def mark(value: Any) -> Any:
        ANSWERS.append(Answer(exercise, value.__name__, value, passes, words))
        return value

    return mark


def _script(name: str, source: str, passes: bool, *words: str) -> None:
    ANSWERS.append(Answer("cgi-form", name, source, passes, words))


# ======================================================= 01: cgi-form
CGI_SOLUTION = (SOLUTIONS / "cgi-form.py").read_text()


def _cgi(old: str, new: str) -> str:
    assert old in CGI_SOLUTION, old
    return CGI_SOLUTION.replace(old, new)


_script(
    "no_empty_line_after_headers",
    _cgi("print()  # the empty line: headers end, body begins\n", ""),
    False,
    "the gateway had to answer for the script",
)
_script(
    "post_body_from_query_string",
    _cgi('if method == "POST":', "if False:  # looks in QUERY_STRING only"),
    False,
    "a name in the POST body",
    "arrives on stdin",
)
_script(
    "name_not_escaped",
    _cgi("{html.escape(name)}", "{name}"),
    False,
    "html.escape(name)",
)
_script(
    "plain_text_page",
    _cgi("text/html; charset=utf-8", "text/plain"),
    False,
    "Content-Type should contain 'text/html'",
)
_script(
    "splits_the_query_by_hand",
    _cgi(
        'fields = parse_qs(os.environ.get("QUERY_STRING", ""))',
        'query = os.environ.get("QUERY_STRING", "")\n'
        '    fields = {"name": [query.partition("name=")[2]]} if "name=" in query else {}',
    ),
    False,
    "a percent-encoded name",
    "parse_qs",
)
_script(
    "no_content_type_header",
    _cgi('print("Content-Type: text/html; charset=utf-8")\n', 'print("X-Script: mine")\n'),
    False,
    "printed no Content-Type header",
    "rfc3875#section-6.3.1",
)
_script(
    "greets_without_a_form",
    _cgi('name = fields.get("name", [""])[0].strip()', 'name = fields.get("name", ["World"])[0]'),
    False,
    "a <form>",
)
_script(
    "greeting_in_other_words",
    _cgi("<h1>Hello, {html.escape(name)}!</h1>", "<h1>Hello {html.escape(name)}</h1>"),
    False,
    "print exactly 'Hello, NAME!'",
)
_script(
    "parse_qs_list_printed_whole",
    _cgi('name = fields.get("name", [""])[0].strip()', 'name = str(fields.get("name", ""))'),
    False,
    "parse_qs gives a list for each name",
    "take [0]",
)
_script(
    "post_body_split_by_hand",
    _cgi(
        'fields = parse_qs(sys.stdin.buffer.read(length).decode("utf-8", "replace"))',
        'body = sys.stdin.buffer.read(length).decode("utf-8")\n'
        '    fields = {"name": [body.partition("name=")[2]]}',
    ),
    False,
    "Grace+Hopper",
    "decode it: parse_qs turns + into a space",
)
_script(
    "keyerror_in_os_environ",
    _cgi('os.environ.get("REQUEST_METHOD", "GET")', 'os.environ["X"] or "GET"'),
    False,
    'File "form_answer.py", line',
    "KeyError: 'X'",
)
_script(
    "form_in_an_html_comment",
    _cgi('"""<form method="post">', '"""<!-- <form method="post"> -->\n<p>').replace(
        "</form>", "</p>"
    ),
    False,
    "should show a <form>",
)
# From a fourth learner walk: the POST branch left unescaped (the HTML name came only as
# a GET); a wrong Content-Length, which this gateway quietly corrected; a debugging print
# before the headers, told about print() buffering it never used; os.environ's
# CONTENT_LENGTH read on a GET, which has none.
_script(
    "post_name_not_escaped",
    _cgi(
        'fields = parse_qs(sys.stdin.buffer.read(length).decode("utf-8", "replace"))',
        'fields = parse_qs(sys.stdin.buffer.read(length).decode("utf-8", "replace"))\n'
        '    print("Content-Type: text/html; charset=utf-8\\n")\n'
        '    print(f"<p>Hello, {fields[\'name\'][0]}!</p>" if "name" in fields else "")\n'
        "    sys.exit()",
    ),
    False,
    "a POST body with a name that is HTML",
    "should not contain '<script>alert(1)' as it is",
    "html.escape(name)",
)
_CGI_SIZED = _cgi(
    '    print(f"<h1>Hello, {html.escape(name)}!</h1>")\n'
    "    print('<p><a href=\"?\">Again</a></p>')\n",
    '    page = f"<h1>Hello, {html.escape(name)}!</h1>\\n"\n'
    '    sys.stdout.write(f"Content-Length: {len(page.encode()) + EXTRA}\\n\\n")\n'
    "    sys.stdout.write(page)\n",
).replace(
    'print("Content-Type: text/html; charset=utf-8")\nprint()  # the empty line: headers end, '
    "body begins\n",
    'print("Content-Type: text/html; charset=utf-8")\nif not name:\n    print()\n',
)
_script(
    "content_length_one_byte_short",
    _CGI_SIZED.replace("EXTRA", "-1"),
    False,
    "but its body is",
    "a page cut short",
)
_script(
    "content_length_five_bytes_long",
    _CGI_SIZED.replace("EXTRA", "5"),
    False,
    "but its body is",
    "waiting for bytes that never come",
)
_script(
    "debug_print_before_the_headers",
    _cgi(
        'name = fields.get("name", [""])[0].strip()\n',
        'name = fields.get("name", [""])[0].strip()\nprint("name is", name)\n',
    ),
    False,
    "the script printed b'name is Ada' before its headers",
    "print(..., file=sys.stderr)",
)
_script(
    "content_length_read_on_every_request",
    _cgi(
        'length = int(os.environ.get("CONTENT_LENGTH") or 0)',
        'length = int(os.environ["CONTENT_LENGTH"])',
    ).replace(
        'if method == "POST":',
        'length = int(os.environ["CONTENT_LENGTH"])\nif method == "POST":',
        1,
    ),
    False,
    "KeyError: 'CONTENT_LENGTH'",
    "a request with no body (a GET) has no CONTENT_LENGTH",
    "int(os.environ.get('CONTENT_LENGTH') or 0)",
)
# valid: the page's own <script> (only the visitor's must be escaped); the right
# Content-Length; 'Status: 200' with no reason phrase (a warning: RFC 3875 6.3.3 has one)
_script(
    "a_script_tag_of_the_pages_own",
    _cgi(
        "print()  # the empty line: headers end, body begins\n",
        "print()  # the empty line: headers end, body begins\n"
        "print(\"<head><script>console.log('hi')</script></head>\")\n",
    ),
    True,
    "&lt;script&gt;",
    "body has no unescaped '<script>alert(1)'",
)
_script(
    "content_length_right",
    _CGI_SIZED.replace("EXTRA", "0"),
    True,
    "Content-Length header matches its body",
)
_script(
    "status_200_without_a_reason",
    _cgi(
        'print("Content-Type: text/html; charset=utf-8")\n',
        'print("Status: 200")\nprint("Content-Type: text/html; charset=utf-8")\n',
    ),
    True,
    "no reason phrase",
    "print('Status: 200 OK')",
)
# valid variants: CRLF line ends and a lower-case header name; a Status header and
# single-quoted attributes; the reference solution itself
_script(
    "crlf_and_lower_case_header",
    _cgi(
        'print("Content-Type: text/html; charset=utf-8")\nprint()  # the empty line: headers end, '
        "body begins\n",
        'sys.stdout.write("content-type: text/html; charset=utf-8\\r\\n\\r\\n")\n'
        "sys.stdout.flush()\n",
    ),
    True,
    "a <form>",
    "reads exactly CONTENT_LENGTH bytes",
)
_script(
    "status_header_and_single_quotes",
    _cgi(
        'print("Content-Type: text/html; charset=utf-8")\n',
        'print("Status: 200 OK")\nprint("Content-Type: text/html; charset=utf-8")\n',
    ).replace('<input name="name">', "<input type='text' name='name'>"),
    True,
    "an <input> called name",
    "prints its own Content-Type header",
)
_script("reference_solution", CGI_SOLUTION, True, "&lt;script&gt;", "no CONTENT_LENGTH")
_script(
    "markup_around_the_name",
    _cgi("<h1>Hello, {html.escape(name)}!</h1>", "<H1>Hello, <B>{html.escape(name)}</B>!</H1>"),
    True,
    "page shows 'Hello, Grace Hopper!'",
    "&lt;script&gt;",
)
_script(
    "crlf_through_stdout_buffer",
    _cgi(
        'print("Content-Type: text/html; charset=utf-8")\nprint()  # the empty line: headers end, '
        "body begins\n",
        'sys.stdout.buffer.write(b"Status: 200 OK\\r\\nContent-Type: text/html\\r\\n\\r\\n")\n'
        "sys.stdout.flush()\n",
    ),
    True,
    "prints its own Content-Type header",
)
_script(
    "cgi_module_still_works_here",
    "#!/usr/bin/env python3\n"
    "import cgi\nimport html\n\n"
    "form = cgi.FieldStorage()\n"
    'name = form.getfirst("name", "").strip()\n'
    'print("Content-Type: text/html")\nprint()\n'
    'print(f"<p>Hello, {html.escape(name)}!</p>" if name else \'<form method="post">'
    '<input name="name"></form>\')\n',
    sys.version_info < (3, 13),  # on 3.13 `import cgi` fails, and the crash says why
    "the cgi module is gone from Python 3.13 (PEP 594",
)


# ======================================================= 02: wsgi-hello-name
def _greet(environ: Any) -> str:
    return parse_qs(environ.get("QUERY_STRING", "")).get("name", ["World"])[0]


def _text(start_response: Any, body: bytes, kind: str = "text/plain; charset=utf-8") -> list:
    start_response("200 OK", [("Content-Type", kind), ("Content-Length", str(len(body)))])
    return [body]


@answer("wsgi-hello-name", False, "should be exactly 'Hello, Ada!'")
def hello_ignores_the_query(environ, start_response):
    return _text(start_response, b"Hello, World!")


@answer("wsgi-hello-name", False, "Grace%20Hopper", "parse_qs")
def hello_splits_by_hand(environ, start_response):
    name = environ.get("QUERY_STRING", "").partition("name=")[2] or "World"
    return _text(start_response, f"Hello, {name}!".encode())


@answer("wsgi-hello-name", False, "the task asks for the '!'")
def hello_without_the_bang(environ, start_response):
    return _text(start_response, f"Hello, {_greet(environ)}".encode())


@answer("wsgi-hello-name", False, "wsgi.body-is-str", "encode")
def hello_returns_str(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return f"Hello, {_greet(environ)}!"


@answer("wsgi-hello-name", False, "app.raised", "KeyError")
def hello_needs_a_name(environ, start_response):
    name = parse_qs(environ["QUERY_STRING"])["name"][0]
    return _text(start_response, f"Hello, {name}!".encode())


@answer("wsgi-hello-name", False, "header Content-Type should contain 'text/plain'")
def hello_in_html(environ, start_response):
    return _text(start_response, f"Hello, {_greet(environ)}!".encode(), "text/html")


@answer("wsgi-hello-name", False, "wsgi.status-no-reason", "'200 OK'")
def hello_bare_status(environ, start_response):
    start_response("200", [("Content-Type", "text/plain")])
    return [f"Hello, {_greet(environ)}!".encode()]


@answer("wsgi-hello-name", False, "Content-Length counts bytes", "'ë' is 2 bytes", "mistake 8")
def hello_length_of_the_text(environ, start_response):
    text = f"Hello, {_greet(environ)}!"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(text)))])
    return [text.encode("utf-8")]


@answer("wsgi-hello-name", False, "GET / (no name: greet the World): header Content-Type")
def hello_html_for_the_world(environ, start_response):
    name = _greet(environ)
    kind = "text/html" if name == "World" else "text/plain"  # only the default page is HTML
    return _text(start_response, f"Hello, {name}!".encode(), kind)


class HelloApp:
    """A class whose instances are the app (PEP 3333: any callable)."""

    def __init__(self, greeting: str) -> None:
        self.greeting = greeting

    def __call__(self, environ, start_response):
        return _text(start_response, f"{self.greeting}, {_greet(environ)}!".encode())


hello_instance = HelloApp("Hello")
hello_instance.__name__ = "hello_instance"  # type: ignore[attr-defined]
answer("wsgi-hello-name", True, "Hello, Grace Hopper!")(hello_instance)


@answer("wsgi-hello-name", True, "Hello, World!", "Content-Type: text/plain")
def hello_generator(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"Hello, "
    yield f"{_greet(environ)}!".encode()


@answer("wsgi-hello-name", True, "Hello, Zoë!", "Content-Length: 11")
def hello_in_latin_1_declared(environ, start_response):
    return _text(
        start_response,
        f"Hello, {_greet(environ)}!".encode("latin-1"),
        "text/plain; charset=ISO-8859-1",
    )


@answer("wsgi-hello-name", True, "Hello, Ada!")
@Request.application
def hello_werkzeug(request: Request) -> Response:
    return Response(f"Hello, {request.args.get('name', 'World')}!", mimetype="text/plain")


@answer(
    "wsgi-hello-name",
    False,
    "should be exactly 'Hello, Ada!', got '<h1>Hello, Ada!</h1>'",
    "'<h1>' before it and '</h1>' after it",
    "Send only 'Hello, Ada!'",
)
def hello_in_an_h1(environ, start_response):
    """HTML markup in a text/plain greeting: the body holds more than the task asks."""
    return _text(start_response, f"<h1>Hello, {_greet(environ)}!</h1>".encode())


@answer("wsgi-hello-name", False, "got 'Hello, ZoÃ«!'", "mojibake", "leave out encoding='latin-1'")
def hello_decodes_latin_1(environ, start_response):
    name = parse_qs(environ.get("QUERY_STRING", ""), encoding="latin-1").get("name", ["World"])[0]
    return _text(start_response, f"Hello, {name}!".encode())


@answer("wsgi-hello-name", False, "wsgi.body-not-bytes", "but the body is empty")
def hello_str_in_a_list(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"Hello, {_greet(environ)}!"]


@answer("wsgi-hello-name", False, "'&' separates name=value pairs", "got 'Hello, en&name!'")
def hello_splits_at_equals(environ, start_response):
    query = environ["QUERY_STRING"]
    name = query.split("=")[1] if query else "World"
    return _text(start_response, f"Hello, {name}!".encode())


@answer(
    "wsgi-hello-name",
    False,
    "wsgi.header-not-str",
    "On GET /?name=Grace%20Hopper, GET /?name=Grace+Hopper: The Content-Length header says 13 "
    "bytes but the app sent 20.",
)
def hello_length_as_an_int(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", 13)])
    return [f"Hello, {_greet(environ)}!".encode()]


@answer("wsgi-hello-name", True, "body is 'Hello, Zoë!'")
def hello_with_a_newline(environ, start_response):
    """A trailing newline, as print() or a terminal-friendly app adds: still the greeting."""
    return _text(start_response, f"Hello, {_greet(environ)}!\n".encode())


# ======================================================= 02: wsgi-json-echo
def _json(start_response: Any, status: str, value: Any, extra: list | None = None) -> list:
    body = json.dumps(value).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response(status, headers + (extra or []))
    return [body]


def _size(environ: Any) -> int:
    return int(environ.get("CONTENT_LENGTH") or 0)


@answer("wsgi-json-echo", False, "must get '400 Bad Request'", "ValueError")
def echo_trusts_the_body(environ, start_response):
    if environ["REQUEST_METHOD"] != "POST":
        return _json(start_response, "405 Method Not Allowed", {}, [("Allow", "POST")])
    raw = environ["wsgi.input"].read(_size(environ))
    return _json(start_response, "200 OK", {**json.loads(raw), "size": len(raw)})


@answer("wsgi-json-echo", False, "must get '405 Method Not Allowed'", "REQUEST_METHOD")
def echo_ignores_the_method(environ, start_response):
    raw = environ["wsgi.input"].read(_size(environ))
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return _json(start_response, "400 Bad Request", {"error": "not an object"})
    return _json(start_response, "200 OK", {**data, "size": len(raw)})


@answer("wsgi-json-echo", False, "wsgi.input-past-content-length", "read(65536)")
def echo_reads_a_block(environ, start_response):
    if environ["REQUEST_METHOD"] != "POST":
        return _json(start_response, "405 Method Not Allowed", {}, [("Allow", "POST")])
    raw = environ["wsgi.input"].read(65536)
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return _json(start_response, "400 Bad Request", {"error": "not an object"})
    return _json(start_response, "200 OK", {**data, "size": len(raw)})


@answer("wsgi-json-echo", False, "'size': 32", "got {'city'")
def echo_counts_characters(environ, start_response):
    if environ["REQUEST_METHOD"] != "POST":
        return _json(start_response, "405 Method Not Allowed", {}, [("Allow", "POST")])
    text = environ["wsgi.input"].read(_size(environ)).decode("utf-8")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return _json(start_response, "400 Bad Request", {"error": "not an object"})
    return _json(start_response, "200 OK", {**data, "size": len(text)})


@answer("wsgi-json-echo", False, "must get '400 Bad Request'", "isinstance(data, dict)")
def echo_takes_any_json(environ, start_response):
    if environ["REQUEST_METHOD"] != "POST":
        return _json(start_response, "405 Method Not Allowed", {}, [("Allow", "POST")])
    raw = environ["wsgi.input"].read(_size(environ))
    try:
        data = json.loads(raw)
    except ValueError:
        return _json(start_response, "400 Bad Request", {"error": "not JSON"})
    return _json(start_response, "200 OK", {**data, "size": len(raw)})


@answer("wsgi-json-echo", False, "header Allow should contain 'POST'")
def echo_without_allow(environ, start_response):
    if environ["REQUEST_METHOD"] != "POST":
        return _json(start_response, "405 Method Not Allowed", {})
    raw = environ["wsgi.input"].read(_size(environ))
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return _json(start_response, "400 Bad Request", {"error": "not an object"})
    return _json(start_response, "200 OK", {**data, "size": len(raw)})


@answer("wsgi-json-echo", False, "wsgi.content-length-mismatch")
def echo_length_of_the_str(environ, start_response):
    if environ["REQUEST_METHOD"] != "POST":
        return _json(start_response, "405 Method Not Allowed", {}, [("Allow", "POST")])
    raw = environ["wsgi.input"].read(_size(environ))
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return _json(start_response, "400 Bad Request", {"error": "not an object"})
    text = json.dumps({**data, "size": len(raw)}, ensure_ascii=False)
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(text)))]
    )
    return [text.encode("utf-8")]


@answer("wsgi-json-echo", False, "PUT is not POST either", "not only GET")
def echo_refuses_only_get(environ, start_response):
    if environ["REQUEST_METHOD"] == "GET":
        return _json(start_response, "405 Method Not Allowed", {}, [("Allow", "POST")])
    raw = environ["wsgi.input"].read(_size(environ))
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return _json(start_response, "400 Bad Request", {"error": "not an object"})
    return _json(start_response, "200 OK", {**data, "size": len(raw)})


@answer("wsgi-json-echo", False, "spaced by hand", "encoded again with json.dumps")
def echo_sizes_a_new_encoding(environ, start_response):
    if environ["REQUEST_METHOD"] != "POST":
        return _json(start_response, "405 Method Not Allowed", {}, [("Allow", "POST")])
    raw = environ["wsgi.input"].read(_size(environ))
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return _json(start_response, "400 Bad Request", {"error": "not an object"})
    size = len(json.dumps(data, ensure_ascii=False).encode())  # the same bytes? not always
    return _json(start_response, "200 OK", {**data, "size": size})


class EchoApp:
    """A class-based echo: the instance is the app."""

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] != "POST":
            return _json(start_response, "405 Method Not Allowed", {}, [("Allow", "POST")])
        raw = environ["wsgi.input"].read(_size(environ))
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return _json(start_response, "400 Bad Request", {"error": "not an object"})
        return _json(start_response, "200 OK", {**data, "size": len(raw)})


echo_instance = EchoApp()
echo_instance.__name__ = "echo_instance"  # type: ignore[attr-defined]
answer("wsgi-json-echo", True, "'size': 45", "Allow: POST")(echo_instance)


@answer("wsgi-json-echo", True, "status 400", "status 405")
def echo_generator(environ, start_response):
    if environ["REQUEST_METHOD"] != "POST":
        start_response("405 Method Not Allowed", [("Allow", "POST"), ("Content-Length", "0")])
        return
    raw = environ["wsgi.input"].read(_size(environ))
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        start_response("400 Bad Request", [("Content-Type", "text/plain")])
        yield b"Send a JSON object."
        return
    body = json.dumps({**data, "size": len(raw)}, separators=(",", ":")).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    yield body


@answer("wsgi-json-echo", True, "Content-Length: 48")
@Request.application
def echo_werkzeug(request: Request) -> Response:
    if request.method != "POST":
        return Response(status=405, headers={"Allow": "POST"})
    raw = request.get_data()
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return Response("Send a JSON object.", status=400)
    response = Response(json.dumps({**data, "size": len(raw)}), mimetype="application/json")
    response.headers["Content-Length"] = str(len(response.get_data()))
    return response


def _echo(environ: Any, start_response: Any, raw: bytes, errors: Any = ValueError) -> list:
    """The rest of a right echo, for ``raw`` the bytes read; ``errors`` the ones it catches."""
    try:
        data = json.loads(raw)
    except errors:
        data = None
    if not isinstance(data, dict):
        return _json(start_response, "400 Bad Request", {"error": "not an object"})
    return _json(start_response, "200 OK", {**data, "size": len(raw)})


@answer(
    "wsgi-json-echo",
    False,
    "POST / (no body, so no CONTENT_LENGTH): no complete response",
    "int(environ.get('CONTENT_LENGTH') or 0)",
)
def echo_needs_content_length(environ, start_response):
    if environ["REQUEST_METHOD"] != "POST":
        return _json(start_response, "405 Method Not Allowed", {}, [("Allow", "POST")])
    return _echo(
        environ, start_response, environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    )


@answer("wsgi-json-echo", False, "CONTENT_LENGTH is '', as wsgiref", "int('') raises ValueError")
def echo_length_defaults_to_zero(environ, start_response):
    if environ["REQUEST_METHOD"] != "POST":
        return _json(start_response, "405 Method Not Allowed", {}, [("Allow", "POST")])
    size = int(environ.get("CONTENT_LENGTH", 0))  # '' is not a number
    return _echo(environ, start_response, environ["wsgi.input"].read(size))


@answer(
    "wsgi-json-echo",
    False,
    "POST / (3-byte body) (bytes that are not UTF-8)",
    "UnicodeDecodeError, a ValueError but not a json.JSONDecodeError",
)
def echo_catches_only_decode_errors(environ, start_response):
    if environ["REQUEST_METHOD"] != "POST":
        return _json(start_response, "405 Method Not Allowed", {}, [("Allow", "POST")])
    raw = environ["wsgi.input"].read(_size(environ))
    return _echo(environ, start_response, raw, json.JSONDecodeError)


@answer("wsgi-json-echo", False, "KeyError: 'CONTENT_LENGTH'", "UnicodeDecodeError")
def echo_from_a_learner_walk(environ, start_response):
    """Passed before the no-body and not-UTF-8 cases: both answer 500 on a real server."""
    if environ["REQUEST_METHOD"] != "POST":
        return _json(start_response, "405 Method Not Allowed", {}, [("Allow", "POST")])
    raw = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    return _echo(environ, start_response, raw, json.JSONDecodeError)


@answer("wsgi-json-echo", True, "bytes that are not UTF-8", "CONTENT_LENGTH is ''")
def echo_decodes_first(environ, start_response):
    """Decodes the body before parsing it: UnicodeDecodeError is a ValueError too."""
    if environ["REQUEST_METHOD"] != "POST":
        return _json(start_response, "405 Method Not Allowed", {}, [("Allow", "POST")])
    raw = environ["wsgi.input"].read(_size(environ))
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return _json(start_response, "400 Bad Request", {"error": "not an object"})
    return _json(start_response, "200 OK", {**data, "size": len(raw)})


# ======================================================= 03: wsgi-server-respond
def make_respond(
    *,
    eager_head: bool = False,
    close: bool = True,
    reraise: bool = True,
    head_every_write: bool = False,
    refuse_twice: bool = True,
    head_on_empty_chunk: bool = False,
    drop_write: bool = False,
    head_in_start_response: bool = False,
    close_twice: bool = False,
    decode: bool = False,
) -> Any:
    """A learner's respond with one chosen mistake (the defaults make a correct one)."""

    def respond(app: Any, environ: Any, send_head: Any, send_body: Any) -> None:
        state: dict[str, Any] = {"status": None, "headers": None, "sent": False}

        def send_head_once() -> None:
            if head_every_write or not state["sent"]:
                send_head(state["status"], state["headers"])
                state["sent"] = True

        def write(data: bytes) -> None:
            if data or head_on_empty_chunk:
                send_head_once()
            if data:
                send_body(data.decode("latin-1") if decode else data)

        def start_response(status: Any, headers: Any, exc_info: Any = None) -> Any:
            if exc_info is not None:
                if state["sent"] and reraise:
                    raise exc_info[1].with_traceback(exc_info[2])
            elif state["status"] is not None and refuse_twice:
                raise RuntimeError("start_response() twice")
            state["status"], state["headers"] = status, headers
            if head_in_start_response:
                send_head_once()
            return (lambda data: None) if drop_write else write

        body = app(environ, start_response)
        if eager_head:
            send_head_once()
        try:
            for chunk in body:
                write(chunk)
            if not state["sent"]:
                send_head_once()
            if close_twice and hasattr(body, "close"):
                body.close()
        finally:
            if close and hasattr(body, "close"):
                body.close()

    return respond


def _respond(name: str, passes: bool, *words: str, **mistake: bool) -> None:
    function = make_respond(**mistake)
    function.__name__ = name
    ANSWERS.append(Answer("wsgi-server-respond", name, function, passes, words))


_respond("sends_the_head_before_iterating", False, "first non-empty chunk", eager_head=True)
_respond("never_closes_the_body", False, "body.close()", close=False)
_respond("swallows_the_late_exc_info", False, "must re-raise", reraise=False)
_respond("sends_the_head_on_every_write", False, "head should be sent exactly once",
         head_every_write=True)  # fmt: skip
_respond("takes_a_second_status_quietly", False, "without exc_info is an error",
         refuse_twice=False)  # fmt: skip
_respond("sends_the_head_for_an_empty_chunk", False,
         "your server sent the head for an empty chunk", head_on_empty_chunk=True)  # fmt: skip
_respond("write_sends_nothing", False, "write()", drop_write=True)
_respond("sends_the_head_from_start_response", False, "your start_response sent the head",
         "must only remember the status and headers", head_in_start_response=True)  # fmt: skip
_respond("decodes_each_chunk", False, "respond passed send_body a str", "send_body(chunk)",
         decode=True)  # fmt: skip
_respond("closes_the_body_twice", True, "close() was called more than once", close_twice=True)
_respond("correct_with_a_dict_for_state", True, "exc_info after an empty chunk")


class RespondWithAClass:
    """A valid respond written as a class: the state lives on the instance."""

    def __init__(self, app: Any, environ: Any, send_head: Any, send_body: Any) -> None:
        self.send_head, self.send_body = send_head, send_body
        self.status: Any = None
        self.headers: Any = None
        self.head_sent = False
        body = app(environ, self.start_response)
        try:
            for chunk in body:
                self.write(chunk)
            self.head()
        finally:
            getattr(body, "close", lambda: None)()

    def head(self) -> None:
        if not self.head_sent:
            self.head_sent = True
            self.send_head(self.status, self.headers)

    def write(self, data: bytes) -> None:
        if data:
            self.head()
            self.send_body(data)

    def start_response(self, status: Any, headers: Any, exc_info: Any = None) -> Any:
        if exc_info:
            try:
                if self.head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response() called twice")
        self.status, self.headers = status, headers
        return self.write


answer("wsgi-server-respond", True, "the client hangs up")(RespondWithAClass)


@answer("wsgi-server-respond", True, "write()")
def respond_with_sys_exc_info_checks(app, environ, send_head, send_body):
    """Valid, written differently: lists hold the state, iter() over the body."""
    head: list[Any] = []
    sent = [False]

    def write(data):
        if not data:
            return
        if not sent[0]:
            send_head(*head)
            sent[0] = True
        send_body(data)

    def start_response(status, headers, exc_info=None):
        if exc_info is None and head:
            raise RuntimeError("start_response() was already called")
        if exc_info is not None and sent[0]:
            raise exc_info[1].with_traceback(exc_info[2])
        head[:] = [status, headers]
        return write

    result = app(environ, start_response)
    try:
        for chunk in iter(result):
            write(chunk)
        if not sent[0]:
            send_head(*head)
            sent[0] = True
    finally:
        if hasattr(result, "close"):
            result.close()


# ======================================================= 04: wsgi-auth-middleware
def _refuse(start_response: Any, challenge: str | None = 'Basic realm="notes"') -> list[bytes]:
    headers = [("Content-Type", "text/plain")]
    if challenge is not None:
        headers.append(("WWW-Authenticate", challenge))
    start_response("401 Unauthorized", headers)
    return [b"Please log in."]


def _credentials(environ: Any) -> tuple[str, str] | None:
    scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(token, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def _right(users: dict[str, str], given: tuple[str, str] | None) -> bool:
    if given is None or given[0] not in users:
        return False
    return hmac.compare_digest(users[given[0]].encode(), given[1].encode())


@answer(
    "wsgi-auth-middleware",
    True,
    "passed",
    "a plain `==` (or `!=`) stops at the first character that differs",
    "how long a 401 takes tells an attacker",
)
def auth_compares_with_equals(app, users):
    """Right on every request, but `!=` on the password: passes, with a timing warning."""

    def middleware(environ, start_response):
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        user, colon, password = "", "", ""
        if scheme.lower() == "basic":
            try:
                text = base64.b64decode(token, validate=True).decode()
            except ValueError:
                text = ""
            user, colon, password = text.partition(":")
        if not colon or user not in users or users[user] != password:
            return _refuse(start_response)
        environ["REMOTE_USER"] = user
        return app(environ, start_response)

    return middleware


@answer("wsgi-auth-middleware", False, "status should be 401, got 200")
def auth_lets_everyone_in(app, users):
    def middleware(environ, start_response):
        return app(environ, start_response)

    return middleware


@answer("wsgi-auth-middleware", False, "'realm' is REQUIRED")
def auth_bare_challenge(app, users):
    def middleware(environ, start_response):
        given = _credentials(environ)
        if not _right(users, given):
            return _refuse(start_response, "Basic")
        environ["REMOTE_USER"] = given[0]
        return app(environ, start_response)

    return middleware


@answer("wsgi-auth-middleware", False, "a user who is not in users", "users.get(user)")
def auth_users_brackets(app, users):
    def middleware(environ, start_response):
        given = _credentials(environ)
        if given is None or not hmac.compare_digest(users[given[0]], given[1]):
            return _refuse(start_response)
        environ["REMOTE_USER"] = given[0]
        return app(environ, start_response)

    return middleware


@answer("wsgi-auth-middleware", False, "non-ASCII letter", "Compare bytes")
def auth_compares_str(app, users):
    def middleware(environ, start_response):
        given = _credentials(environ)
        if given is None or given[0] not in users:
            return _refuse(start_response)
        if not hmac.compare_digest(users[given[0]], given[1]):
            return _refuse(start_response)
        environ["REMOTE_USER"] = given[0]
        return app(environ, start_response)

    return middleware


@answer("wsgi-auth-middleware", False, "passed the same start_response on to the app")
def auth_starts_the_response_itself(app, users):
    def middleware(environ, start_response):
        given = _credentials(environ)
        if not _right(users, given):
            return _refuse(start_response)
        environ["REMOTE_USER"] = given[0]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return app(environ, start_response)

    return middleware


@answer("wsgi-auth-middleware", False, "should contain 'Hello, ada'", "REMOTE_USER")
def auth_forgets_remote_user(app, users):
    def middleware(environ, start_response):
        if not _right(users, _credentials(environ)):
            return _refuse(start_response)
        return app(environ, start_response)

    return middleware


@answer("wsgi-auth-middleware", False, "a password with ':' in it", "status should be 200")
def auth_splits_every_colon(app, users):
    def middleware(environ, start_response):
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        try:
            parts = base64.b64decode(token, validate=True).decode().split(":")
        except (binascii.Error, UnicodeDecodeError):
            return _refuse(start_response)
        if scheme != "Basic" or len(parts) != 2 or not _right(users, (parts[0], parts[1])):
            return _refuse(start_response)
        environ["REMOTE_USER"] = parts[0]
        return app(environ, start_response)

    return middleware


class BasicAuth:
    """Valid, as a class: the middleware is an instance with __call__."""

    def __init__(self, app: Any, users: dict[str, str]) -> None:
        self.app, self.users = app, users

    def __call__(self, environ, start_response):
        given = _credentials(environ)
        if not _right(self.users, given):
            return _refuse(start_response, 'Basic realm="notes", charset="UTF-8"')
        environ["REMOTE_USER"] = given[0]
        return self.app(environ, start_response)


answer("wsgi-auth-middleware", True, "realm=", "a user who is not in users")(BasicAuth)


@answer("wsgi-auth-middleware", True, "Hello, grace", "under the Bearer scheme")
def auth_with_werkzeug(app, users):
    """Valid: werkzeug parses the Authorization header (its type is lower case)."""

    def middleware(environ, start_response):
        auth = Request(environ).authorization
        if (
            auth is None
            or auth.type != "basic"
            or not _right(users, (auth.username or "", auth.password or ""))
        ):
            response = Response("Please log in.", status=401)
            response.headers["WWW-Authenticate"] = 'Basic realm="notes"'
            return response(environ, start_response)
        environ["REMOTE_USER"] = auth.username
        return app(environ, start_response)

    return middleware


@answer("wsgi-auth-middleware", True, "under the Bearer scheme", 'realm="notes"')
def auth_exact_basic_prefix(app, users):
    """Valid: the scheme read from the header's first six characters, in any case."""

    def middleware(environ, start_response):
        header = environ.get("HTTP_AUTHORIZATION", "")
        if header[:6].lower() != "basic ":
            return _refuse(start_response)
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except ValueError:
            return _refuse(start_response)
        if not _right(users, (user, password)):
            return _refuse(start_response)
        environ["REMOTE_USER"] = user
        return app(environ, start_response)

    return middleware


@answer("wsgi-auth-middleware", False, "quoted-string", 'realm="notes"', "rfc9110#section-11.5")
def auth_werkzeug_unquoted_realm(app, users):
    """werkzeug's WWWAuthenticate writes a one-word realm as a token: realm=notes."""

    def middleware(environ, start_response):
        auth = Request(environ).authorization
        if (
            auth is None
            or auth.type != "basic"
            or not _right(users, (auth.username, auth.password))
        ):
            response = Response("Please log in.", status=401)
            response.www_authenticate = WWWAuthenticate("basic", {"realm": "notes"})
            return response(environ, start_response)
        environ["REMOTE_USER"] = auth.username
        return app(environ, start_response)

    return middleware


@answer(
    "wsgi-auth-middleware",
    False,
    "under the Bearer scheme",
    "status should be 401, got 200",
    "check the scheme",
)
def auth_ignores_the_scheme(app, users):
    """Decodes whatever follows the first space: Bearer <base64 of ada:lovelace> gets in."""

    def middleware(environ, start_response):
        _, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        try:
            user, _, password = base64.b64decode(token, validate=True).decode().partition(":")
        except ValueError:
            return _refuse(start_response)
        if not _right(users, (user, password)):
            return _refuse(start_response)
        environ["REMOTE_USER"] = user
        return app(environ, start_response)

    return middleware


@answer("wsgi-auth-middleware", True, "404")
def auth_generator_refusal(app, users):
    """Valid: the refusal is a generator that starts the response when iterated."""

    def refusal(start_response):
        start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="x"')])
        yield b"no"

    def middleware(environ, start_response):
        given = _credentials(environ)
        if not _right(users, given):
            return refusal(start_response)
        environ["REMOTE_USER"] = given[0]
        return app(environ, start_response)

    return middleware


@answer(
    "wsgi-auth-middleware",
    False,
    "the 401 came back without a WWW-Authenticate header",
    "with every 401",
    "rfc9110#section-15.5.2",
)
def auth_challenges_only_the_first_visit(app, users):
    """The challenge only when no Authorization came: a bare 401 for a wrong one."""

    def middleware(environ, start_response):
        given = _credentials(environ)
        if not _right(users, given):
            first = "HTTP_AUTHORIZATION" not in environ
            return _refuse(start_response, 'Basic realm="notes"' if first else None)
        environ["REMOTE_USER"] = given[0]
        return app(environ, start_response)

    return middleware


@answer(
    "wsgi-auth-middleware",
    False,
    "credentials with no ':' in them",
    "not enough values to unpack",
    "answer 401 when colon is ''",
)
def auth_unpacks_two_values(app, users):
    """Decodes inside try, then user, password = decoded.split(":", 1): 'ada' raises."""

    def middleware(environ, start_response):
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "basic":
            return _refuse(start_response)
        try:
            decoded = base64.b64decode(token, validate=True).decode()
        except ValueError:
            return _refuse(start_response)
        user, password = decoded.split(":", 1)
        if not _right(users, (user, password)):
            return _refuse(start_response)
        environ["REMOTE_USER"] = user
        return app(environ, start_response)

    return middleware


@answer("wsgi-auth-middleware", False, "The scheme in it is wrong", "begin it with Basic")
def auth_keeps_the_bearer_challenge(app, users):
    """Adapted from require_token, challenge and all: WWW-Authenticate: Bearer realm="notes"."""

    def middleware(environ, start_response):
        given = _credentials(environ)
        if not _right(users, given):
            return _refuse(start_response, 'Bearer realm="notes"')
        environ["REMOTE_USER"] = given[0]
        return app(environ, start_response)

    return middleware


@answer(
    "wsgi-auth-middleware",
    False,
    "grace's password is 'cobol:1959'",
    "split it at the first ':' only",
    "a user-id containing a colon character is invalid",
)
def auth_splits_at_the_last_colon(app, users):
    """rsplit(":", 1): grace:cobol:1959 becomes the user grace:cobol."""

    def middleware(environ, start_response):
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        try:
            user, password = base64.b64decode(token, validate=True).decode().rsplit(":", 1)
        except ValueError:
            return _refuse(start_response)
        if scheme.lower() != "basic" or not _right(users, (user, password)):
            return _refuse(start_response)
        environ["REMOTE_USER"] = user
        return app(environ, start_response)

    return middleware


@answer("wsgi-auth-middleware", False, "the inner app was called; decide first")
def auth_calls_the_app_first(app, users):
    """Right checks, but the inner app runs before the middleware decides."""

    def middleware(environ, start_response):
        given = _credentials(environ)
        if given is not None:
            environ["REMOTE_USER"] = given[0]
        noted = []
        body = app(environ, lambda status, headers, exc_info=None: noted.append((status, headers)))
        if not _right(users, given):
            return _refuse(start_response)
        start_response(*noted[0])
        return body

    return middleware


@answer(
    "wsgi-auth-middleware",
    False,
    "wsgi.content-length-mismatch",
    "len() of a str counts characters, not bytes",
)
def auth_counts_one_byte_too_many(app, users):
    """Its refusal is bytes, and its Content-Length one more than their length."""

    def middleware(environ, start_response):
        given = _credentials(environ)
        if not _right(users, given):
            body = b"Please log in."
            start_response(
                "401 Unauthorized",
                [
                    ("Content-Type", "text/plain"),
                    ("Content-Length", str(len(body) + 1)),
                    ("WWW-Authenticate", 'Basic realm="notes"'),
                ],
            )
            return [body]
        environ["REMOTE_USER"] = given[0]
        return app(environ, start_response)

    return middleware


# ======================================================= 04: wsgi-cookie-counter
def _visits(header: str) -> int:
    cookies = SimpleCookie()
    try:
        cookies.load(header)
    except Exception:
        return 1
    morsel = cookies.get("visits")
    return int(morsel.value) + 1 if morsel and morsel.value.isdigit() else 1


def _counter(cookie: Callable[[int], str], *, parse: Any = None, keep: bool = True) -> Any:
    def count_visits(app):
        def middleware(environ, start_response):
            count = (parse or _visits)(environ.get("HTTP_COOKIE", ""))
            environ["counter.visits"] = count

            def counting(status, headers, exc_info=None):
                kept = list(headers) if keep else []
                return start_response(status, [*kept, ("Set-Cookie", cookie(count))], exc_info)

            return app(environ, counting)

        return middleware

    return count_visits


def _count(name: str, passes: bool, factory: Any, *words: str) -> None:
    factory.__name__ = name
    ANSWERS.append(Answer("wsgi-cookie-counter", name, factory, passes, words))


def _naive(header: str) -> int:
    return int(header.split("=")[1]) + 1 if header else 1


def _single_cookie(header: str) -> int:
    return int(header.partition("visits=")[2]) + 1 if "visits=" in header else 1


_count("counter_without_path", False, _counter(lambda n: f"visits={n}"), "Path=/")
_count("counter_never_counts", False, _counter(lambda n: "visits=1; Path=/"), "Visit number 2")
_count(
    "counter_reads_the_first_cookie",
    False,
    _counter(lambda n: f"visits={n}; Path=/", parse=_naive),
    "other cookies too",
)
_count(
    "counter_crashes_on_a_word",
    False,
    _counter(lambda n: f"visits={n}; Path=/", parse=_single_cookie),
    "a cookie that is not a number",
)
_count(
    "counter_drops_the_apps_headers",
    False,
    _counter(lambda n: f"visits={n}; Path=/", keep=False),
    "the app's own headers did not come back",
)
_count(
    "counter_wrong_cookie_name",
    False,
    _counter(lambda n: f"visit={n}; Path=/"),
    "visits",
)

_count(
    "counter_expires_at_once",
    False,
    _counter(lambda n: f"visits={n}; Path=/; Max-Age=0"),
    "Max-Age=0",
    "deletes it",
    "the count is lost",
)
_count(
    "counter_expired_date",
    False,
    _counter(lambda n: f"visits={n}; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
    "a date in the past",
    "the count is lost",
)
_count(
    "counter_domain_of_another_site",
    False,
    _counter(lambda n: f"visits={n}; Path=/; Domain=example.org"),
    "Domain=example.org, but it came from 127.0.0.1",
    "leave out Domain",
)
_count(
    "counter_secure_on_loopback",
    True,
    _counter(lambda n: f"visits={n}; Path=/; Secure"),
    "the cookie has Secure. It works here because browsers treat 127.0.0.1",
)
_count(
    "counter_domain_of_this_host",
    True,
    _counter(lambda n: f"visits={n}; Path=/; Domain=127.0.0.1; SameSite=Lax"),
    "Visit number 2",
)
_count(
    "counter_path_of_its_own",
    False,
    _counter(lambda n: f"visits={n}; Path=/counter"),
    "Path=/counter; change it to Path=/",
)


@answer(
    "wsgi-cookie-counter",
    False,
    "wsgi.start-response-twice",
    "your middleware's own start_response call carried the Set-Cookie for 'visits'",
)
def counter_sets_its_own_head(app):
    def middleware(environ, start_response):
        count = _visits(environ.get("HTTP_COOKIE", ""))
        environ["counter.visits"] = count
        start_response("200 OK", [("Set-Cookie", f"visits={count}; Path=/")])
        return app(environ, start_response)

    return middleware


class CountVisits:
    """Valid, as a class: the middleware instance keeps the app."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        count = _visits(environ.get("HTTP_COOKIE", ""))
        environ["counter.visits"] = count

        def counting(status, headers, exc_info=None):
            cookie = f"visits={count}; Path=/; Max-Age=31536000; HttpOnly"
            return start_response(status, [*headers, ("Set-Cookie", cookie)], exc_info)

        return self.app(environ, counting)


answer("wsgi-cookie-counter", True, "Visit number 42")(CountVisits)


@answer("wsgi-cookie-counter", True, "Visit number 3")
def counter_with_werkzeug(app):
    """Valid: werkzeug's parse_cookie and dump_cookie."""
    from werkzeug.http import dump_cookie, parse_cookie

    def middleware(environ, start_response):
        value = parse_cookie(environ).get("visits", "")
        count = int(value) + 1 if value.isdigit() else 1
        environ["counter.visits"] = count

        def counting(status, headers, exc_info=None):
            cookie = dump_cookie("visits", str(count), path="/")
            return start_response(status, [*headers, ("Set-Cookie", cookie)], exc_info)

        return app(environ, counting)

    return middleware


@answer("wsgi-cookie-counter", True, "Visit number 1")
def counter_wraps_the_body_in_a_generator(app):
    """Valid: passes the app's body through a generator of its own (and closes it)."""

    def middleware(environ, start_response):
        count = _visits(environ.get("HTTP_COOKIE", ""))
        environ["counter.visits"] = count

        def counting(status, headers, exc_info=None):
            return start_response(status, [*headers, ("Set-Cookie", f"visits={count}; Path=/")])

        def relay(body: Any) -> Iterator[bytes]:
            try:
                yield from body
            finally:
                if hasattr(body, "close"):
                    body.close()

        return relay(app(environ, counting))

    return middleware


@answer("wsgi-cookie-counter", True, "Visit number 3")
def counter_with_a_lifetime(app):
    """Valid: werkzeug's dump_cookie with max_age writes Max-Age and an Expires in the future."""
    from werkzeug.http import dump_cookie

    def middleware(environ, start_response):
        count = _visits(environ.get("HTTP_COOKIE", ""))
        environ["counter.visits"] = count

        def counting(status, headers, exc_info=None):
            cookie = dump_cookie("visits", str(count), max_age=3600, path="/")
            return start_response(status, [*headers, ("Set-Cookie", cookie)], exc_info)

        return app(environ, counting)

    return middleware


EXERCISES = (
    "cgi-form",
    "wsgi-hello-name",
    "wsgi-json-echo",
    "wsgi-server-respond",
    "wsgi-auth-middleware",
    "wsgi-cookie-counter",
)
