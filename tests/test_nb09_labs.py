"""Notebook 09 (labs): the guestbook exercise, its solution, the three versions, the shape."""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

import gateway_lab as gl
from gateway_lab.course.labs import ASGI_GUESTBOOK, excerpt
from gateway_lab.exercises.result import ExerciseResult

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOK = NOTEBOOKS / "09-labs.ipynb"
SOLUTION = NOTEBOOKS / "solutions" / "asgi_guestbook.py"


def notebook_cells() -> dict[str, dict]:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    return {cell["id"]: cell for cell in cells}


def cell_source(cell_id: str) -> str:
    source = notebook_cells()[cell_id]["source"]
    return "".join(source) if isinstance(source, list) else source


@pytest.fixture
def namespace() -> dict:
    """The notebook's shared guestbook helpers, its WSGI version, and the reference ASGI one."""
    names: dict = {"gl": gl}
    exec("from urllib.parse import parse_qs", names)
    exec(cell_source("guestbook-helpers"), names)
    exec(cell_source("wsgi-version"), names)
    exec(SOLUTION.read_text(encoding="utf-8"), names)
    return names


def failed_lines(result) -> list[str]:
    return [text for mark, text in result.lines if mark == "✗"]


def test_the_exercise_is_registered():
    assert gl.exercise("asgi-guestbook") is ASGI_GUESTBOOK


def test_the_reference_solution_passes(namespace):
    result = ASGI_GUESTBOOK.evaluate(namespace["guestbook_asgi"])
    assert result.passed, str(result)
    assert not failed_lines(result)
    again = ASGI_GUESTBOOK.evaluate(namespace["guestbook_asgi"])  # a second run still passes
    assert again.passed, str(again)


def test_the_reference_solution_passes_the_full_checker(namespace):
    assert gl.check_asgi(namespace["guestbook_asgi"]).ok


def test_the_scaffold_is_unfinished_not_an_error():
    names: dict = {}
    exec(cell_source("exercise"), names)
    result = ASGI_GUESTBOOK.evaluate(names["guestbook_asgi"])
    assert not result.passed and "NotImplementedError" in result.unfinished


@pytest.mark.parametrize("answer", [None, ...])
def test_nothing_yet_is_unfinished(answer):
    result = ASGI_GUESTBOOK.evaluate(answer)
    assert not result.passed and result.unfinished


def test_a_wsgi_answer_is_told_to_be_async(namespace):
    result = ASGI_GUESTBOOK.evaluate(namespace["guestbook_wsgi"])
    assert not result.passed and "async def" in result.unfinished


def make_variant(
    namespace,
    *,
    whole_body=True,
    escape=True,
    refuse_empty=True,
    allow=True,
    head=True,
    str_headers=False,
    only_delete=False,
    length=None,
    returns_body=False,
):
    """A guestbook with one typical mistake switched on.

    ``length``: None (no content-length), "bytes" or "characters" (len() of the page's text).
    """
    page, read_message = namespace["guestbook_page"], namespace["read_message"]
    messages: list[str] = []

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        status, headers = 200, [(b"content-type", b"text/html; charset=utf-8")]
        if str_headers:
            headers = [("content-type", "text/html; charset=utf-8")]
        if scope["method"] == "POST":
            data, more = b"", True
            while more:
                message = await receive()
                data += message.get("body", b"")
                more = whole_body and message.get("more_body", False)
            text = read_message(data)
            if text or not refuse_empty:
                messages.append(text)
            else:
                status = 400
        elif (
            scope["method"] not in ("GET", "HEAD")
            and allow
            and (scope["method"] == "DELETE" or not only_delete)
            or (scope["method"], head)
            == (
                "HEAD",
                False,
            )
        ):
            status = 405
            headers.append((b"allow", b"GET, HEAD, POST" if head else b"GET, POST"))
        if escape:
            body = page(messages)
        else:
            items = "".join(f"<li>{m}</li>" for m in messages)
            body = f"<h1>Guestbook</h1><ul>{items}</ul>".encode()
        if length is not None:
            size = len(body) if length == "bytes" else len(body.decode())
            headers.append((b"content-length", str(size).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if returns_body:
            return [body]  # the WSGI habit
        head_only = scope["method"] == "HEAD" and status == 200
        await send({"type": "http.response.body", "body": b"" if head_only else body})
        return None

    return app


@pytest.mark.parametrize(
    ("mistake", "says"),
    [
        ({"whole_body": False}, "body comes in two http.request messages"),
        ({"escape": False}, "HTML in a message is escaped"),
        ({"refuse_empty": False}, "an empty message is refused"),
        ({"allow": False}, "other methods are not allowed"),
        ({"head": False}, "HEAD is answered like GET"),
    ],
)
def test_typical_mistakes_get_the_right_feedback(namespace, mistake, says):
    result = ASGI_GUESTBOOK.evaluate(make_variant(namespace, **mistake))
    assert not result.passed
    failures = failed_lines(result)
    assert failures and says in failures[0], failures  # the first failure names the mistake


def test_str_headers_point_at_the_real_cause(namespace):
    """A header sent as str is not "missing": the ✗ line names asgi.header-not-bytes."""
    result = ASGI_GUESTBOOK.evaluate(make_variant(namespace, str_headers=True))
    failures = failed_lines(result)
    assert not result.passed
    assert "asgi.header-not-bytes" in failures[0] and "got None" not in failures[0], failures
    assert any(line.startswith("asgi.header-not-bytes") for line in failures)


def test_a_body_read_once_shows_the_list_and_counts_every_flagged_line(namespace):
    """Only one receive(): the ✗ shows the page's <ul>, and the headline counts what is flagged."""
    result = ASGI_GUESTBOOK.evaluate(make_variant(namespace, whole_body=False))
    failures = failed_lines(result)
    assert "<ul><li>Hello</li></ul>" in failures[0], failures
    assert any(line.startswith("asgi.body-partly-read") for line in failures), result.lines
    flagged = [mark for mark, _ in result.lines if mark == "✗"]
    checks = [mark for mark, _ in result.lines if mark in "✓✗"]
    assert f"{len(flagged)} of {len(checks)} checks to fix" in result.headline, str(result)


def test_the_headline_names_warnings_apart(namespace):
    result = ExerciseResult("g", False, [("✓", "a"), ("✗", "b"), ("!", "c"), ("i", "d")])
    assert "1 of 2 checks to fix, and 1 warning (!) to read" in result.headline


@pytest.mark.parametrize(
    ("page", "wanted", "shown"),
    [
        ("<h1>G</h1><ul><li>Hi</li></ul><form>", "<li>Hello</li>", "'<ul><li>Hi</li></ul>'"),
        ("x" * 300 + "<p>Hell</p>" + "y" * 300, "<p>Hello</p>", "<p>Hell"),
        ("short", "<li>Hello</li>", "'short'"),
    ],
)
def test_the_excerpt_shows_where_the_page_parts_from_the_wanted_text(page, wanted, shown):
    text = excerpt(page, wanted)
    assert shown in text and len(text) < 160, text


def test_the_correct_variant_passes(namespace):
    assert ASGI_GUESTBOOK.evaluate(make_variant(namespace)).passed


def test_an_app_that_never_answers_is_reported(namespace):
    async def silent(scope, receive, send):
        return None

    result = ASGI_GUESTBOOK.evaluate(silent)
    assert not result.passed
    assert any("no complete response" in line for line in failed_lines(result))


def test_the_three_versions_answer_alike_in_process(namespace, tmp_path):
    """The capstone's claim, without sockets: CGI, WSGI and ASGI give identical answers."""
    source = cell_source("cgi-version").split("\n", 1)[1]  # drop the %%writefile line
    script = tmp_path / "guestbook.py"
    script.write_text(source, encoding="utf-8")
    os.chmod(script, 0o755)
    namespace["wsgi_messages"].clear()  # the notebook cell's own check_wsgi signed it
    namespace["asgi_messages"].clear()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    steps = [
        ("GET", b""),
        ("POST", b"message=Hi"),
        ("POST", b"message=%3Ci%3E"),
        ("POST", b"message="),
        ("PUT", b""),
        ("HEAD", b""),
    ]
    for method, body in steps:
        cgi = gl.run_cgi(script, method, "/", form, body)
        wsgi = gl.call_wsgi(namespace["guestbook_wsgi"], method, "/", form, body)
        asgi = gl.call_asgi(namespace["guestbook_asgi"], method, "/", form, body)
        assert cgi.problem is None, cgi.problem
        assert cgi.status == wsgi.status == asgi.status, method
        assert cgi.header("Content-Type") == wsgi.header("Content-Type"), method
        assert cgi.body == wsgi.body == asgi.body, method
    assert b"&lt;i&gt;" in wsgi.body or method == "HEAD"
    assert json.loads((tmp_path / "messages.json").read_text()) == ["Hi", "<i>"]


def test_the_notebook_shape():
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert cells["metadata"]["kernelspec"]["name"] == "python3"
    ids = [cell["id"] for cell in cells["cells"]]
    assert len(ids) == len(set(ids))
    first = cell_source(ids[0])
    assert "What you will learn" in first and "Time:" in first
    assert "gl.stop_all()" in cell_source(ids[-1])
    for cell in cells["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, cell["id"]
    assert "%load solutions/asgi_guestbook.py" in cell_source("exercise-md")
    assert "FULL_RUN = False" in cell_source("sizes")


def test_the_side_by_side_script_sends_head():
    """The comparison covers HEAD, so an app that refuses HEAD cannot look identical."""
    assert '("HEAD", "")' in cell_source("side-run")


# -- issue 12: the guestbook's verdicts ------------------------------------------------------
SOLUTIONS_DIR = Path(__file__).resolve().parent.parent / "notebooks" / "solutions"


def _guestbook_with_head_body() -> Any:
    namespace: dict[str, Any] = {
        "guestbook_page": lambda messages: b"<h1>Guestbook</h1><ul></ul>",
        "read_message": lambda data: data.decode().partition("=")[2],
    }
    source = (SOLUTIONS_DIR / "asgi_guestbook.py").read_text(encoding="utf-8")
    exec(source.replace('body = b""  # HEAD', "pass  # HEAD"), namespace)
    return namespace["guestbook_asgi"]


def test_guestbook_body_on_head_fails() -> None:
    """Reproduces issue 12: a body sent on HEAD passed although the line says 'without'."""
    result = gl.exercise("asgi-guestbook").evaluate(_guestbook_with_head_body())
    assert not result.passed
    assert any(
        m == "✗" and "HEAD" in t and "a HEAD response has no body" in t for m, t in result.lines
    )


def test_guestbook_fallback_never_execs_over_the_learners_names() -> None:
    notebook = json.loads((SOLUTIONS_DIR.parent / "09-labs.ipynb").read_text(encoding="utf-8"))
    cells = {c.get("id"): "".join(c["source"]) for c in notebook["cells"]}
    fallback = cells["fallback"]
    assert "exec(file.read(), reference)" in fallback and "exec(file.read())" not in fallback
    assert "guestbook_asgi =" not in fallback
    assert "capstone_asgi" in cells["side-serve"] and "capstone_messages" in cells["side-run"]


def _starlette_guestbook(namespace: dict) -> Any:
    """A valid variant built with Starlette's request and response objects."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, PlainTextResponse, Response
    from starlette.routing import Route

    messages: list[str] = []
    page, read = namespace["guestbook_page"], namespace["read_message"]

    async def book(request: Request) -> Response:
        if request.method == "POST":
            text = read(await request.body())
            if not text:
                return PlainTextResponse("Write a message first.\n", status_code=400)
            messages.append(text)
        html = page(messages)
        if request.method == "HEAD":  # the length GET would send (RFC 9110 8.6), no body
            length = str(len(html))
            return Response(
                headers={"content-type": "text/html; charset=utf-8", "content-length": length}
            )
        return HTMLResponse(html)

    async def other(request: Request) -> Response:
        return PlainTextResponse(
            "Only GET, HEAD and POST here.\n", 405, {"allow": "GET, HEAD, POST"}
        )

    routes = [Route("/", book, methods=["GET", "HEAD", "POST"])]
    app = Starlette(routes=routes)
    app.add_route("/", other, methods=["DELETE", "PUT", "PATCH"])
    return app


class _ClassGuestbook:
    """A valid variant: a class instance keeping its messages on itself."""

    def __init__(self, namespace: dict) -> None:
        self.inner = make_variant(namespace)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.inner(scope, receive, send)


def test_guestbook_valid_variants_pass(namespace):
    valid = [namespace["guestbook_asgi"], make_variant(namespace), _ClassGuestbook(namespace)]
    for app in [*valid, _starlette_guestbook(namespace)]:
        result = ASGI_GUESTBOOK.evaluate(app)
        assert result.passed, str(result)
        assert len(str(result).splitlines()) <= 12, str(result)


def test_the_fair_comparison_follows_the_unfair_one():
    ids = list(notebook_cells())
    at = ids.index("loopback")
    assert ids[at + 1 : at + 4] == ["fair-md", "fair", "check-fair"]
    cells = notebook_cells()
    for cell_id in ("fair", "check-fair"):
        assert "lite-recorded" in cells[cell_id]["metadata"].get("tags", [])
    assert cell_source("check-fair").startswith("# Quiet checks")
    assert "unfair version, measured" in cell_source("loopback-md")
    assert cell_source("bench-says").startswith("**What makes a benchmark fair.**")


# -- a learner's walk of lesson 09: the HEAD row, rejecting scopes, CRLF rows, the prose -----


def _head_as_405(namespace: dict, *, body_on_head: bool) -> Any:
    """A guestbook that serves only GET: HEAD gets the 405 of any other method."""
    page = namespace["guestbook_page"]

    async def app(scope, receive, send):
        if scope["type"] != "http":
            raise RuntimeError(f"unsupported scope type {scope['type']!r}")
        if scope["method"] == "GET":
            status, headers, body = 200, [(b"content-type", b"text/html; charset=utf-8")], page([])
        else:
            status, body = 405, b"Only GET, HEAD and POST here.\n"
            headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"allow", b"GET, POST")]
        if scope["method"] == "HEAD" and not body_on_head:
            body = b""
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def _head_rows(result) -> list[tuple[str, str]]:
    return [(mark, text) for mark, text in result.lines if text.startswith("HEAD /")]


def test_head_answered_405_without_a_body_is_told_its_status_not_a_body(namespace):
    """The learner's report: "the app sent 0 bytes of it", twice, and never the 405."""
    result = ASGI_GUESTBOOK.evaluate(_head_as_405(namespace, body_on_head=False))
    rows = _head_rows(result)
    failed = [text for mark, text in rows if mark == "✗"]
    assert not result.passed and failed, result.lines
    assert "status should be 200, got 405" in failed[0], failed
    assert "answer HEAD like GET" in failed[0]
    assert not any("has no body" in text or "sent 0 bytes" in text for _, text in rows), rows
    assert any("Content-Type should contain 'text/html'" in text for text in failed), failed
    assert len(set(failed)) == len(failed), failed  # no sentence twice


def test_head_answered_405_with_a_body_names_the_status_then_the_bytes(namespace):
    result = ASGI_GUESTBOOK.evaluate(_head_as_405(namespace, body_on_head=True))
    failed = [text for mark, text in _head_rows(result) if mark == "✗"]
    assert "status should be 200, got 405" in failed[0], failed
    body_rows = [text for text in failed if "a HEAD response has no body" in text]
    assert len(body_rows) == 1 and "sent 30 bytes" in body_rows[0], failed
    assert failed.index(body_rows[0]) > 0


def test_the_lesson_tells_learners_to_raise_for_other_scopes():
    exercise = cell_source("exercise-md")
    assert "(`return`)" not in exercise and "ignore scopes" not in exercise
    assert "by raising an exception" in exercise
    assert "Applications should actively reject any protocol" in exercise
    assert "specs/main.html#protocol-specifications" in exercise
    fallback = cell_source("fallback-md")
    assert "which the ASGI spec allows" not in fallback and "returns at once" not in fallback
    assert "raises for both, as the spec asks" in fallback


def test_the_scaffold_and_every_asgi_app_of_the_lesson_raise_for_other_scopes():
    returning = re.compile(r'if scope\["type"\] != "http":[^\n]*\n\s+return\b')
    raising = re.compile(r'if scope\["type"\] != "http":[^\n]*\n\s+raise RuntimeError\(')
    code = [c for c in notebook_cells().values() if c["cell_type"] == "code"]
    sources = ["".join(c["source"]) for c in code]
    assert not any(returning.search(s) for s in sources)
    assert sum(len(raising.findall(s)) for s in sources) == 6
    names: dict = {}
    exec(cell_source("exercise"), names)
    with pytest.raises(RuntimeError, match="lifespan"):
        asyncio.run(names["guestbook_asgi"]({"type": "lifespan"}, None, None))


def test_the_fallback_notes_are_what_the_full_check_says(namespace):
    """Cell 100: the reference raises, so no note; a guestbook that returns gets one i note."""
    reference = gl.check_asgi(namespace["guestbook_asgi"])
    assert reference.ok and not [f for f in reference.findings if f.severity != "ok"], reference
    source = SOLUTION.read_text(encoding="utf-8")
    rejecting = "raise RuntimeError(f\"unsupported scope type {scope['type']!r}\")"
    assert rejecting in source  # the reference solution rejects, as the lesson says
    names = dict(namespace)
    exec(source.replace(rejecting, "return"), names)
    returning = gl.check_asgi(names["guestbook_asgi"])
    notes = [f for f in returning.findings if f.rule == "asgi.unsupported-scope"]
    assert returning.ok and len(notes) == 1 and notes[0].severity == "info", returning
    assert "`asgi.unsupported-scope`" in cell_source("fallback-md")


@pytest.fixture
def crlf_cell() -> dict:
    names: dict = {"parse_qs": parse_qs}
    exec(cell_source("crlf-outcome"), names)
    return names


@pytest.mark.parametrize(
    ("raw", "outcome"),
    [
        (b"HTTP/1.0 500 Internal Server Error\r\nContent-Length: 3\r\n\r\nbad", "refused: 500"),
        (b"HTTP/1.1 500 Internal Server Error\r\n\r\n", "refused: 500"),
        (
            b"HTTP/1.0 200 OK\r\nContent-Language: en\r\nSet-Cookie: session=attacker\r\n\r\n",
            "forged",
        ),
        (b"HTTP/1.1 200 OK\r\nset-cookie: session=attacker\r\n\r\nhi", "forged"),
        (b"", "refused: connection closed"),
        (b"HTTP/1.1 200 OK\r\n\r\nSet-Cookie: session=attacker\r\n", "answered without"),
        (b"HTTP/1.1 5000 Odd\r\n\r\n", "answered without"),
    ],
)
def test_the_crlf_classifier_reads_any_http_version(crlf_cell, raw, outcome):
    assert crlf_cell["crlf_outcome"](raw).startswith(outcome)


def test_the_crlf_asgi_app_rejects_other_scopes(crlf_cell):
    with pytest.raises(RuntimeError):
        asyncio.run(crlf_cell["lang_header_asgi"]({"type": "lifespan"}, None, None))


def test_the_crlf_rows_are_explained_as_the_guard_and_the_bare_engines():
    code = cell_source("crlf-servers")
    assert "serve_bare_wsgi" in code and ', bare"' in code
    says = cell_source("crlf-servers-says")
    assert "wsgi_guard.py" in says and "whatever the engine" in says
    assert "gh-143916" in says and "tests/test_labs_guards.py" in says
    check = cell_source("check-crlf-servers")
    assert '"wsgi werkzeug", "wsgi wsgiref", "wsgi mini"' in check


def test_the_benchmark_prose_keeps_the_keep_alive_ratio_apart():
    ids = list(notebook_cells())
    assert ids[ids.index("check-fair") + 1 : ids.index("check-fair") + 3] == ["guards-md", "guards"]
    assert "not like for like" in cell_source("fair")
    assert "like_for_like" in cell_source("check-fair")
    says = cell_source("bench-says")
    assert "**not like for like**" in says and "`client:` line" in says
    assert "still shares the machine's cores, and its table says so." not in says


def test_the_prose_numbers_are_the_measured_ones():
    assert "a minute or two" not in cell_source("sizes-md") + cell_source("sizes")
    assert "about two minutes on a two-core machine" in cell_source("sizes-md")
    assert "(about two minutes)" in cell_source("sizes")
    cost = cell_source("cost-says") + cell_source("summary")
    assert "about a millisecond" not in cost and "(milliseconds)" not in cost
    assert cost.count("tens of milliseconds or more") == 2
    assert "about one `SLEEP`" not in cell_source("slow-says")
    assert "about one SLEEP" not in cell_source("check-slow")
    traversal = cell_source("traversal-attack-md")
    assert "which clients leave alone" not in traversal
    assert "url.spec.whatwg.org/#double-dot-path-segment" in traversal


# -- a fourth learner walk of lesson 09: PUT, a length in characters, return [body] -----------


def test_a_405_for_delete_alone_fails_on_put(namespace):
    """`elif method == "DELETE": 405`, else the page: PUT got a 200 and the check passed."""
    result = ASGI_GUESTBOOK.evaluate(make_variant(namespace, only_delete=True))
    failures = failed_lines(result)
    assert not result.passed
    assert failures[0].startswith("PUT / (10-byte body)"), failures
    assert "status should be 405, got 200" in failures[0]
    assert "Answer 405 to every method but those three" in failures[0]
    assert any("header Allow should contain 'GET, HEAD, POST'" in line for line in failures)
    assert not any(line.startswith("DELETE") for line in failures), failures


@pytest.mark.parametrize("length", [None, "bytes"])
def test_a_content_length_in_bytes_or_none_passes(namespace, length):
    result = ASGI_GUESTBOOK.evaluate(make_variant(namespace, length=length))
    assert result.passed, str(result)


def test_a_content_length_in_characters_is_told_to_count_bytes(namespace):
    """len(page.decode()) passed while every message was ASCII; 'café' is one byte longer."""
    result = ASGI_GUESTBOOK.evaluate(make_variant(namespace, length="characters"))
    failures = failed_lines(result)
    assert not result.passed
    rows = [line for line in failures if "the number of characters in the page" in line]
    assert len(rows) == 1, failures  # once, on the request that posted 'café'
    assert rows[0].startswith("POST / (17-byte body) (a message that is not ASCII)"), rows
    assert "Content-Length counts bytes" in rows[0] and "'é' is 2 bytes" in rows[0]
    assert "str(len(body)).encode()" in rows[0]
    assert any(line.startswith("asgi.content-length-mismatch") for line in failures), failures


def test_returning_the_body_is_told_that_asgi_ignores_it(namespace):
    """`return [body]`: no "around there the page has ''", but what happened and what to do."""
    result = ASGI_GUESTBOOK.evaluate(make_variant(namespace, returns_body=True))
    failures = failed_lines(result)
    assert not result.passed
    assert not any("around there" in line for line in failures), failures
    rows = [line for line in failures if "but the app sent no body" in line]
    assert rows and all(
        "it returned a list, and a server ignores what an ASGI app returns" in line
        and "await send({'type': 'http.response.body', 'body': page})" in line
        for line in rows
    ), rows
    stay = [line for line in rows if line.startswith("GET / (the messages stay)")]
    assert len(stay) == 1 and "'<li>café</li>'" in stay[0], stay  # one row for its three texts


def test_an_empty_body_sent_is_told_to_send_the_page(namespace):
    page = namespace["guestbook_page"]

    async def empty(scope, receive, send):
        if scope["type"] != "http":
            raise RuntimeError(scope["type"])
        headers = [(b"content-type", b"text/html; charset=utf-8")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        page([])

    failures = failed_lines(ASGI_GUESTBOOK.evaluate(empty))
    rows = [line for line in failures if "but the app sent no body" in line]
    assert rows and not any("returned" in line or "around there" in line for line in rows), rows


def test_the_lesson_says_who_writes_which_version_and_what_the_check_tries():
    capstone = cell_source("capstone-md")
    assert "You will write it as a CGI script" not in capstone
    assert "given below, complete" in capstone and "you write the ASGI app" in capstone
    title = cell_source("title")
    assert "a WSGI app (both given) and an ASGI app (yours to write)" in title
    exercise = cell_source("exercise-md")
    assert "`DELETE` and `PUT`" in exercise and "`é`, one character and two bytes" in exercise
    assert "3 chunks" in cell_source("fallback-md") and "came in 2" in cell_source("fallback-md")
    assert "`gl.serve_cgi` is the course's CGI gateway" in cell_source("side-md")


def test_the_side_by_side_names_the_server_that_differs():
    names: dict = {}
    code = cell_source("side-run")
    exec(code[code.index("FIELDS = ") : code.index("\n\nfor number, (method")], names)
    same = (200, "text/html", None, b"page")
    names["answers"] = {"CGI": [same], "WSGI": [same], "ASGI": [(200, "text/html", None, b"x")]}
    assert names["compared"](0) == "DIFFERENT: ASGI differs from the other two in its body"
    names["answers"]["ASGI"] = [same]
    assert names["compared"](0) == "identical"
    names["answers"]["WSGI"] = [(405, "text/plain", "GET", b"")]
    assert names["compared"](0).startswith(
        "DIFFERENT: WSGI differs from the other two in its status"
    )
    names["answers"]["CGI"] = [(400, "text/plain", None, b"")]
    assert names["compared"](0) == "DIFFERENT: all three differ"


def test_the_keep_alive_line_uses_one_statistic_per_ratio():
    code = cell_source("check-keepalive")
    assert "median per request" in code and "1 / mean" in code
    medians = code[code.index("median per request") : code.index("requests/s, which")]
    assert "per_second" not in medians  # no requests/s beside a ratio of medians


def test_the_fair_ratio_is_best_round_with_its_spread():
    assert "spread_note" in cell_source("fair") and "round_ratios" in cell_source("check-fair")
    assert "**best round**" in cell_source("fair-md")
    says = cell_source("bench-says")
    assert "median of round medians" not in says and "found no difference" in says


def test_the_run_time_is_stated_as_measured_and_printed_at_the_end():
    sizes = cell_source("sizes-md")
    assert "half a minute to a minute" not in sizes and "55 to 80 seconds" in sizes
    assert "lab_started = time.perf_counter()" in cell_source("imports")
    assert "this run of the notebook took" in cell_source("stop")


def test_the_guard_cell_names_call_wsgis_harness():
    assert "call_wsgi's harness" in cell_source("guards")
    assert "mostly its own harness" in cell_source("guards-md")


def test_a_head_length_counted_after_dropping_the_body_fails(namespace):
    """The checker's asgi.head-length-zero, seen from the exercise: HEAD says 0, GET sent a page."""
    source = SOLUTION.read_text(encoding="utf-8")
    right = (
        '    headers.append((b"content-length", str(len(body)).encode("ascii")))\n'
        '    await send({"type": "http.response.start", "status": status, "headers": headers})\n'
        '    if method == "HEAD":\n'
        '        body = b""'
    )
    counted_after = (
        '    if method == "HEAD":\n'
        '        body = b""\n'
        '    headers.append((b"content-length", str(len(body)).encode("ascii")))\n'
        '    await send({"type": "http.response.start", "status": status, "headers": headers})'
    )
    assert source.count(right) == 1
    names = dict(namespace)
    exec(source.replace(right, counted_after), names)
    result = ASGI_GUESTBOOK.evaluate(names["guestbook_asgi"])
    failures = failed_lines(result)
    assert not result.passed
    assert any(line.startswith("asgi.head-length-zero on HEAD /") for line in failures), failures
