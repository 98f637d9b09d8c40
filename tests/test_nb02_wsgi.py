"""Notebook 02 (WSGI): its exercises, their feedback, and the claims its text makes.

The notebook's quiet check cells assert most claims live (nbval runs them);
these tests cover the exercises (reference solutions pass, typical wrong
answers get the right feedback, unfinished answers never raise) and the
claims that rest on behaviour outside the notebook's own cells.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import runpy
from pathlib import Path
from typing import Any
from wsgiref.handlers import SimpleHandler

import pytest

import gateway_lab as gl
from gateway_lab.course.wsgi import WSGI_HELLO_NAME, WSGI_JSON_ECHO, AdvisedCase, JSONCase
from gateway_lab.exercises.result import ExerciseResult
from gateway_lab.interface.response import Response

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"
# each exercise's scaffold cell in the notebook, and the function it defines
SCAFFOLDS = {
    "wsgi-hello-name": ("ex1-scaffold", "hello_name"),
    "wsgi-json-echo": ("ex2-scaffold", "json_echo"),
}


def _cells() -> dict[str, str]:
    notebook = json.loads((NOTEBOOKS / "02-wsgi.ipynb").read_text(encoding="utf-8"))
    return {cell["id"]: "".join(cell["source"]) for cell in notebook["cells"]}


def _solution(name: str) -> Any:
    path = SOLUTIONS / f"{name.replace('-', '_')}.py"
    return runpy.run_path(str(path))[SCAFFOLDS[name][1]]


def _failures(result: ExerciseResult) -> list[str]:
    return [text for mark, text in result.lines if mark == "✗"]


def _has_failure(result: ExerciseResult, words: str) -> bool:
    return any(words in text for text in _failures(result))


# -- reference solutions -----------------------------------------------------------------
@pytest.mark.parametrize("name", ["wsgi-hello-name", "wsgi-json-echo"])
def test_reference_solution_passes(name: str, capsys: Any) -> None:
    result = gl.exercise(name)(_solution(name))
    assert result.passed, str(result)
    assert "passed, well done" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["wsgi-hello-name", "wsgi-json-echo"])
def test_loaded_solution_replaces_the_learners_function(name: str) -> None:
    """After `%load solutions/...`, the notebook's own check cell checks the solution."""
    cell_id, function = SCAFFOLDS[name]
    scaffold = ast.parse(_cells()[cell_id])
    assert [node.name for node in scaffold.body if isinstance(node, ast.FunctionDef)] == [function]
    check_cell = _cells()[cell_id.replace("scaffold", "check")]
    assert f"({function})" in check_cell, check_cell
    assert callable(runpy.run_path(str(SOLUTIONS / f"{name.replace('-', '_')}.py"))[function])


def test_the_notebook_text_names_the_functions_the_solutions_define() -> None:
    cells = _cells()
    for cell_id, function in SCAFFOLDS.values():
        text = cells[cell_id.replace("scaffold", "md")]
        assert f"`{function}`" in text and "called `app`" not in text, text


def test_setup_does_not_import_a_course_module() -> None:
    """gl.exercise() loads every course module itself."""
    assert "course_02" not in _cells()["setup"]


def test_the_repeat_check_cell_writes_its_line_in_one_piece(capsys: Any) -> None:
    """print() writes its text, then "\n": a kernel flush between the two saves an empty output."""
    cells, namespace = _cells(), {}
    exec(cells["setup"], namespace)
    exec(cells["repeat"], namespace)
    capsys.readouterr()

    writes: list[str] = []

    class Recorder(io.StringIO):
        def write(self, text: str) -> int:
            writes.append(text)
            return len(text)

    with contextlib.redirect_stdout(Recorder()):
        exec(cells["repeat-check"], namespace)
    writes = [text for text in writes if text]  # an empty write adds nothing to flush
    assert len(writes) == 1 and writes[0].startswith("quiet check:"), writes
    assert writes[0].endswith("\n")


def test_json_echo_is_registered_under_its_name() -> None:
    assert gl.exercise("wsgi-json-echo") is WSGI_JSON_ECHO
    assert WSGI_JSON_ECHO.kind == "wsgi"


def test_json_echo_solution_is_clean_under_the_default_battery() -> None:
    report = gl.check_wsgi(_solution("wsgi-json-echo"))
    assert report.ok and not report.warnings, str(report)


def test_json_echo_solution_answers_a_real_client() -> None:
    import httpx

    with gl.serve_wsgi(_solution("wsgi-json-echo"), name="test-nb02-json-echo") as server:
        reply = httpx.post(server.url, json={"name": "Ada"}, timeout=5)
        refused = httpx.get(server.url, timeout=5)
    assert reply.json() == {"name": "Ada", "size": len(reply.request.content)}
    assert refused.status_code == 405 and refused.headers["allow"] == "POST"


# -- wsgi-json-echo: typical wrong answers ------------------------------------------------
def _respond(
    start_response: Any, status: str, body: bytes, content_type: str = "application/json"
) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def _not_post(environ: Any, start_response: Any) -> list[bytes] | None:
    if environ["REQUEST_METHOD"] != "POST":
        start_response("405 Method Not Allowed", [("Allow", "POST"), ("Content-Length", "0")])
        return []
    return None


def _parsed(environ: Any) -> Any:
    """The JSON object of the body (None if it is not one), and the body's size."""
    size = int(environ.get("CONTENT_LENGTH") or 0)
    try:
        data = json.loads(environ["wsgi.input"].read(size))
    except ValueError:
        return None, size
    return (data if isinstance(data, dict) else None), size


def no_content_length(environ: Any, start_response: Any) -> Any:
    refused = _not_post(environ, start_response)
    if refused is not None:
        return refused
    data, size = _parsed(environ)
    if data is None:
        return _respond(start_response, "400 Bad Request", b"bad", "text/plain")
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({**data, "size": size}).encode()]


def text_plain(environ: Any, start_response: Any) -> Any:
    refused = _not_post(environ, start_response)
    if refused is not None:
        return refused
    data, size = _parsed(environ)
    if data is None:
        return _respond(start_response, "400 Bad Request", b"bad", "text/plain")
    return _respond(
        start_response, "200 OK", json.dumps({**data, "size": size}).encode(), "text/plain"
    )


def size_in_characters(environ: Any, start_response: Any) -> Any:
    refused = _not_post(environ, start_response)
    if refused is not None:
        return refused
    raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return _respond(start_response, "400 Bad Request", b"bad", "text/plain")
    data["size"] = len(raw.decode("utf-8"))  # characters, not bytes
    return _respond(start_response, "200 OK", json.dumps(data).encode())


def length_of_the_text(environ: Any, start_response: Any) -> Any:
    refused = _not_post(environ, start_response)
    if refused is not None:
        return refused
    data, size = _parsed(environ)
    if data is None:
        return _respond(start_response, "400 Bad Request", b"bad", "text/plain")
    text = json.dumps({**data, "size": size}, ensure_ascii=False)
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(text)))]
    )
    return [text.encode("utf-8")]


def no_method_check(environ: Any, start_response: Any) -> Any:
    data, size = _parsed(environ)
    if data is None:
        return _respond(start_response, "400 Bad Request", b"bad", "text/plain")
    return _respond(start_response, "200 OK", json.dumps({**data, "size": size}).encode())


def no_allow_header(environ: Any, start_response: Any) -> Any:
    if environ["REQUEST_METHOD"] != "POST":
        start_response("405 Method Not Allowed", [("Content-Length", "0")])
        return []
    data, size = _parsed(environ)
    if data is None:
        return _respond(start_response, "400 Bad Request", b"bad", "text/plain")
    return _respond(start_response, "200 OK", json.dumps({**data, "size": size}).encode())


def crashes_on_bad_json(environ: Any, start_response: Any) -> Any:
    refused = _not_post(environ, start_response)
    if refused is not None:
        return refused
    size = int(environ.get("CONTENT_LENGTH") or 0)
    data = json.loads(environ["wsgi.input"].read(size))
    return _respond(start_response, "200 OK", json.dumps({**data, "size": size}).encode())


def accepts_any_json(environ: Any, start_response: Any) -> Any:
    refused = _not_post(environ, start_response)
    if refused is not None:
        return refused
    size = int(environ.get("CONTENT_LENGTH") or 0)
    try:
        data = json.loads(environ["wsgi.input"].read(size))
    except ValueError:
        return _respond(start_response, "400 Bad Request", b"bad", "text/plain")
    if isinstance(data, list):  # echoes an array as an array: not an object, so not allowed
        return _respond(start_response, "200 OK", json.dumps([*data, size]).encode())
    return _respond(start_response, "200 OK", json.dumps({**data, "size": size}).encode())


def reads_a_big_block(environ: Any, start_response: Any) -> Any:
    refused = _not_post(environ, start_response)
    if refused is not None:
        return refused
    raw = environ["wsgi.input"].read(65536)
    try:
        data = json.loads(raw)
    except ValueError:
        return _respond(start_response, "400 Bad Request", b"bad", "text/plain")
    return _respond(start_response, "200 OK", json.dumps({**data, "size": len(raw)}).encode())


def refuses_only_get(environ: Any, start_response: Any) -> Any:
    """Refuses GET, and treats every other method (PUT, DELETE...) as a POST."""
    if environ["REQUEST_METHOD"] == "GET":
        start_response("405 Method Not Allowed", [("Allow", "POST"), ("Content-Length", "0")])
        return []
    data, size = _parsed(environ)
    if data is None:
        return _respond(start_response, "400 Bad Request", b"bad", "text/plain")
    return _respond(start_response, "200 OK", json.dumps({**data, "size": size}).encode())


def size_of_a_new_encoding(environ: Any, start_response: Any) -> Any:
    """Its "size" is the parsed object encoded again, not the bytes that came in."""
    refused = _not_post(environ, start_response)
    if refused is not None:
        return refused
    data, _ = _parsed(environ)
    if data is None:
        return _respond(start_response, "400 Bad Request", b"bad", "text/plain")
    size = len(json.dumps(data, ensure_ascii=False).encode("utf-8"))
    return _respond(start_response, "200 OK", json.dumps({**data, "size": size}).encode())


def echoes_without_size(environ: Any, start_response: Any) -> Any:
    refused = _not_post(environ, start_response)
    if refused is not None:
        return refused
    data, _ = _parsed(environ)
    if data is None:
        return _respond(start_response, "400 Bad Request", b"bad", "text/plain")
    return [json.dumps(data)]  # a str chunk, and no start_response either


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (no_content_length, "header Content-Length is missing"),
        (text_plain, "header Content-Type should contain 'application/json'"),
        (size_in_characters, "body should be the JSON"),
        (length_of_the_text, "wsgi.content-length-mismatch"),
        (no_method_check, "status should be 405"),
        (no_allow_header, "header Allow should contain 'POST'"),
        (crashes_on_bad_json, "app.raised"),
        (accepts_any_json, "status should be 400, got 200"),
        (reads_a_big_block, "wsgi.input-past-content-length"),
        (echoes_without_size, "wsgi.body-not-bytes"),
        (refuses_only_get, "status should be 405, got 200"),
        (size_of_a_new_encoding, "encoded again with json.dumps"),
    ],
)
def test_json_echo_wrong_answer_gets_the_right_feedback(answer: Any, words: str) -> None:
    result = gl.exercise("wsgi-json-echo").check(answer, quiet=True)
    assert not result.passed and not result.unfinished
    assert _has_failure(result, words), str(result)


def test_json_echo_tests_a_json_array() -> None:
    result = WSGI_JSON_ECHO.check(accepts_any_json, quiet=True)
    (failure,) = _failures(result)
    assert "an array" in failure and "status should be 400, got 200" in failure, str(result)


def test_json_echo_wrong_content_length_is_not_ticked() -> None:
    """The Content-Length row of the request whose length is wrong is a ✗, not a ✓."""
    result = WSGI_JSON_ECHO.check(length_of_the_text, quiet=True)
    rows = [(mark, text) for mark, text in result.lines if "'ü' is two bytes" in text]
    length_rows = [(mark, text) for mark, text in rows if "Content-Length" in text]
    assert length_rows and all(mark == "✗" for mark, _ in length_rows), rows
    assert "wsgi.content-length-mismatch" in length_rows[0][1]
    # the other request's length is right, and keeps its ✓
    assert any(
        mark == "✓" and "Content-Length" in text and "'ü'" not in text
        for mark, text in result.lines
    )


def test_json_echo_size_in_characters_fails_only_the_non_ascii_cases() -> None:
    result = WSGI_JSON_ECHO.check(size_in_characters, quiet=True)
    failures = _failures(result)
    assert len(failures) == 2, str(result)
    assert "Zürich" in failures[0] and "Genève" in failures[1], str(result)
    for failure in failures:
        assert "is the number of characters of the body" in failure, failure
        assert "count the bytes" in failure, failure


def test_json_echo_refuses_every_method_but_post() -> None:
    """The task says "any other method": an app that refuses only GET fails on the PUT."""
    result = WSGI_JSON_ECHO.check(refuses_only_get, quiet=True)
    failures = _failures(result)
    assert failures and all(text.startswith("PUT /") for text in failures), str(result)
    assert "status should be 405, got 200" in failures[0]
    assert "not only GET" in failures[0] and "!= 'POST'" in failures[0]
    assert any("header Allow should contain 'POST'" in text for text in failures)


def test_json_echo_size_of_a_new_encoding_fails_only_the_hand_spaced_body() -> None:
    """Every other body is json.dumps output, so only the hand-spaced one tells them apart."""
    result = WSGI_JSON_ECHO.check(size_of_a_new_encoding, quiet=True)
    (failure,) = _failures(result)
    assert "spaced by hand" in failure and "size should be 35" in failure, str(result)
    assert "the number of bytes of the request body as it came in" in failure
    assert "encoded again with json.dumps" in failure


def test_json_echo_hand_spaced_body_is_not_json_dumps_output() -> None:
    """The size of the hand-spaced body is none of json.dumps' usual lengths for its object."""
    (case,) = [c for c in WSGI_JSON_ECHO.cases if isinstance(c, JSONCase) and "by hand" in c.says]
    assert isinstance(case.body, bytes)
    data = json.loads(case.body)
    size = case.json_equals["size"]
    assert size == len(case.body) and not case.body.isascii()
    for options in ({}, {"separators": (",", ":")}, {"indent": 2}, {"indent": 4}):
        for ascii_only in (True, False):
            text = json.dumps(data, ensure_ascii=ascii_only, **options)
            assert size not in (len(text), len(text.encode("utf-8"))), (options, ascii_only)


def test_json_echo_valid_variants_pass_the_new_cases() -> None:
    """Sizes from CONTENT_LENGTH or from len() of the bytes read, any spacing out: all pass."""

    def size_from_the_bytes_read(environ: Any, start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] != "POST":
            start_response("405 Method Not Allowed", [("Allow", "POST")])
            return [b""]
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        try:
            data = json.loads(raw.decode("utf-8"))
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return _respond(start_response, "400 Bad Request", b"{}")
        data["size"] = len(raw)
        body = json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")
        return _respond(start_response, "200 OK", body, "application/json; charset=utf-8")

    for answer in (size_from_the_bytes_read, _solution("wsgi-json-echo")):
        result = WSGI_JSON_ECHO.check(answer, quiet=True)
        assert result.passed, str(result)
        assert "PUT / " in str(result) and "spaced by hand" in str(result)


# -- wsgi-hello-name: typical wrong answers -------------------------------------------------
def greets_without_default(environ: Any, start_response: Any) -> Any:
    from urllib.parse import parse_qs

    name = parse_qs(environ["QUERY_STRING"])["name"][0]  # KeyError without a name
    return _respond(start_response, "200 OK", f"Hello, {name}!".encode(), "text/plain")


def splits_by_hand(environ: Any, start_response: Any) -> Any:
    query = environ.get("QUERY_STRING", "")
    name = query.partition("name=")[2] or "World"  # percent escapes left in
    return _respond(start_response, "200 OK", f"Hello, {name}!".encode(), "text/plain")


def greets_as_str(environ: Any, start_response: Any) -> Any:
    from urllib.parse import parse_qs

    name = parse_qs(environ.get("QUERY_STRING", "")).get("name", ["World"])[0]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return f"Hello, {name}!"


def greets_without_content_type(environ: Any, start_response: Any) -> Any:
    from urllib.parse import parse_qs

    name = parse_qs(environ.get("QUERY_STRING", "")).get("name", ["World"])[0]
    start_response("200 OK", [])
    return [f"Hello, {name}!".encode()]


def greets_in_html(environ: Any, start_response: Any) -> Any:
    from urllib.parse import parse_qs

    name = parse_qs(environ.get("QUERY_STRING", "")).get("name", ["World"])[0]
    return _respond(start_response, "200 OK", f"Hello, {name}!".encode(), "text/html")


def length_of_the_text_greeting(environ: Any, start_response: Any) -> Any:
    """Mistake 8 of the lesson: Content-Length is len() of the str, its characters."""
    from urllib.parse import parse_qs

    name = parse_qs(environ.get("QUERY_STRING", "")).get("name", ["World"])[0]
    text = f"Hello, {name}!"
    start_response(
        "200 OK",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(text)))],
    )
    return [text.encode("utf-8")]


def text_plain_only_for_ada(environ: Any, start_response: Any) -> Any:
    from urllib.parse import parse_qs

    name = parse_qs(environ.get("QUERY_STRING", "")).get("name", ["World"])[0]
    kind = "text/plain" if name == "Ada" else "text/html"
    return _respond(start_response, "200 OK", f"Hello, {name}!".encode(), kind)


def html_without_the_bang(environ: Any, start_response: Any) -> Any:
    from urllib.parse import parse_qs

    name = parse_qs(environ.get("QUERY_STRING", "")).get("name", ["World"])[0]
    return _respond(start_response, "200 OK", f"Hello, {name}".encode(), "text/html")


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (greets_without_default, "app.raised"),
        (splits_by_hand, "still percent-encoded (%20 is a space): parse the query with"),
        (greets_as_str, "wsgi.body-is-str"),
        (greets_without_content_type, "header Content-Type should contain 'text/plain'"),
        (greets_in_html, "header Content-Type should contain 'text/plain', got 'text/html'"),
        (length_of_the_text_greeting, "Content-Length counts bytes"),
        (text_plain_only_for_ada, "header Content-Type should contain 'text/plain'"),
    ],
)
def test_hello_name_wrong_answer_gets_the_right_feedback(answer: Any, words: str) -> None:
    result = gl.exercise("wsgi-hello-name").check(answer, quiet=True)
    assert not result.passed and not result.unfinished
    assert _has_failure(result, words), str(result)


def test_hello_name_content_length_of_the_characters_is_named() -> None:
    """ASCII names hide mistake 8; 'Zoë' (12 bytes, 11 characters) shows it, and the row says so."""
    result = WSGI_HELLO_NAME.check(length_of_the_text_greeting, quiet=True)
    rows = [text for text in _failures(result) if text.startswith("GET /?name=Zo%C3%AB")]
    assert len(rows) == 1, str(result)
    (row,) = rows
    for words in (
        "Content-Length is 11, the number of characters",
        "counts bytes: the body is 12 bytes",
        "'ë' is 2 bytes in UTF-8",
        "text.encode('utf-8')",
        "mistake 8",
    ):
        assert words in row, (words, row)
    assert _has_failure(result, "wsgi.content-length-mismatch on GET /?name=Zo%C3%AB")
    # the ASCII names are not blamed: their Content-Length is right
    assert all("Zo%C3%AB" in text for text in _failures(result)), str(result)


def test_hello_name_checks_the_content_type_of_every_answer() -> None:
    result = WSGI_HELLO_NAME.check(text_plain_only_for_ada, quiet=True)
    rows = [text for text in _failures(result) if "Content-Type" in text]
    assert {row.split(" (", 1)[0] for row in rows} == {
        "GET /?name=Grace%20Hopper",
        "GET /?name=Grace+Hopper",
        "GET /?name=Zo%C3%AB",
        "GET /",
    }, str(result)


def test_hello_name_bang_advice_is_only_on_the_body_row() -> None:
    """A wrong Content-Type row does not say "the '!'"; the body row that lacks it does."""
    result = WSGI_HELLO_NAME.check(html_without_the_bang, quiet=True)
    failures = _failures(result)
    content_type = [text for text in failures if "Content-Type" in text]
    body = [text for text in failures if "body should be exactly" in text]
    assert len(content_type) == 7 and len(body) == 7, str(result)
    assert not any("the task asks for the '!'" in text for text in content_type), str(result)
    assert all("the task asks for the '!'" in text for text in body), str(result)


def test_bang_advice_names_only_a_missing_bang() -> None:
    (case,) = [c for c in WSGI_HELLO_NAME.cases if c.request == "GET /?name=Ada"]
    assert isinstance(case, AdvisedCase)
    for body, advised in (
        (b"Hello, Ada", True),
        (b"Hello, Ada.", True),
        (b"Hello, Adam!", False),  # another name: the '!' is there
        (b"Hi, Ada!", False),
        (b"Hello, Ada&lang=en!", False),  # the '!' is there, after the rest of the query
    ):
        rows = case.expectations(Response(200, [("Content-Type", "text/html")], body))
        said = [text for ok, text in rows if not ok and "the task asks for the '!'" in text]
        assert bool(said) is advised, (body, rows)
        assert all(text.startswith("body should be exactly") for text in said), rows


def test_hello_name_valid_variants_pass_the_non_ascii_name() -> None:
    """No Content-Length, a right one, or a body in the charset its Content-Type declares."""
    from urllib.parse import parse_qs

    def greeting(environ: Any) -> str:
        return f"Hello, {parse_qs(environ.get('QUERY_STRING', '')).get('name', ['World'])[0]}!"

    def no_length(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [greeting(environ).encode()]

    def latin_1_declared(environ: Any, start_response: Any) -> Any:
        body = greeting(environ).encode("latin-1")
        return _respond(start_response, "200 OK", body, "text/plain; charset=ISO-8859-1")

    for answer in (no_length, latin_1_declared, _solution("wsgi-hello-name")):
        result = WSGI_HELLO_NAME.check(answer, quiet=True)
        assert result.passed, str(result)
        assert "Hello, Zoë!" in str(result)
    assert "Content-Length: 12" in str(WSGI_HELLO_NAME.evaluate(_solution("wsgi-hello-name")))


def test_hello_name_a_body_not_in_utf8_is_named() -> None:
    from urllib.parse import parse_qs

    def latin_1_undeclared(environ: Any, start_response: Any) -> Any:
        name = parse_qs(environ.get("QUERY_STRING", "")).get("name", ["World"])[0]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"Hello, {name}!".encode("latin-1")]

    result = WSGI_HELLO_NAME.check(latin_1_undeclared, quiet=True)
    (failure,) = _failures(result)
    assert "Zo%C3%AB" in failure and "the body is not UTF-8" in failure, str(result)


# -- wsgi-hello-name: a query split by hand, and the list parse_qs gives -------------------
def _hello_from(name: str, start_response: Any) -> list[bytes]:
    return _respond(start_response, "200 OK", f"Hello, {name}!".encode(), "text/plain")


def splits_and_unquotes(environ: Any, start_response: Any) -> Any:
    """What a learner sent: right for %20 and %C3%AB, wrong for '+' and for a second parameter."""
    from urllib.parse import unquote

    name = unquote(environ["QUERY_STRING"].partition("name=")[2]) or "World"
    return _hello_from(name, start_response)


def splits_and_unquotes_plus(environ: Any, start_response: Any) -> Any:
    """'+' decoded, but a parameter after the name is still greeted."""
    from urllib.parse import unquote_plus

    name = unquote_plus(environ["QUERY_STRING"].partition("name=")[2]) or "World"
    return _hello_from(name, start_response)


def first_parameter(environ: Any, start_response: Any) -> Any:
    """Greets the value of the first parameter, whatever its name."""
    from urllib.parse import unquote_plus

    first = environ["QUERY_STRING"].split("&")[0]
    return _hello_from(unquote_plus(first.partition("=")[2]) or "World", start_response)


def greets_the_list(environ: Any, start_response: Any) -> Any:
    from urllib.parse import parse_qs

    name = parse_qs(environ.get("QUERY_STRING", "")).get("name", "World")  # a list, not [0]
    return _hello_from(name, start_response)


def _rows_about(result: ExerciseResult, request: str) -> list[str]:
    return [text for text in _failures(result) if text.startswith(f"{request} (")]


PLUS_ADVICE = (
    "a name split from the query by hand keeps it (urllib.parse.unquote keeps it too): parse "
    "the query with urllib.parse.parse_qs(environ['QUERY_STRING']), which decodes '+' as a space"
)
AMPERSAND_ADVICE = (
    "'&' separates name=value pairs, and this query holds another parameter beside the name: "
    "parse the query with urllib.parse.parse_qs(environ['QUERY_STRING']), which splits it at '&'"
)


def test_a_query_split_by_hand_and_unquoted_fails_on_plus_and_ampersand() -> None:
    result = WSGI_HELLO_NAME.check(splits_and_unquotes, quiet=True)
    assert not result.passed and not result.unfinished, str(result)
    # one row per request: the exact body row says it all (no second row for the '+' or '&')
    (plus,) = _rows_about(result, "GET /?name=Grace+Hopper")
    (after,) = _rows_about(result, "GET /?name=Ada&lang=en")
    assert len(_failures(result)) == 2, str(result)
    assert "should be exactly 'Hello, Grace Hopper!', got 'Hello, Grace+Hopper!'" in plus
    assert "'+' stands for a space" in plus and PLUS_ADVICE in plus, plus
    assert AMPERSAND_ADVICE not in plus, plus
    assert "got 'Hello, Ada&lang=en!'" in after and AMPERSAND_ADVICE in after, after
    assert "unquote" not in after and PLUS_ADVICE not in after, after
    # no '!' advice: the '!' is there
    assert "the task asks for the '!'" not in str(result), str(result)


@pytest.mark.parametrize(
    ("answer", "request_line", "got"),
    [
        (splits_and_unquotes_plus, "GET /?name=Ada&lang=en", "'Hello, Ada&lang=en!'"),
        (first_parameter, "GET /?lang=en&name=Ada", "'Hello, en!'"),
    ],
)
def test_another_parameter_in_the_query_is_caught(answer: Any, request_line: str, got: str) -> None:
    result = WSGI_HELLO_NAME.check(answer, quiet=True)
    assert not result.passed, str(result)
    rows = _rows_about(result, request_line)
    assert rows and f"got {got}" in rows[0] and AMPERSAND_ADVICE in rows[0], str(result)
    assert all(text.startswith(f"{request_line} (") for text in _failures(result)), str(result)


def test_the_list_parse_qs_gives_is_named() -> None:
    result = WSGI_HELLO_NAME.check(greets_the_list, quiet=True)
    assert not result.passed, str(result)
    rows = _rows_about(result, "GET /?name=Ada")
    assert len(rows) == 1 and "got \"Hello, ['Ada']!\"" in rows[0], str(result)
    assert (
        "parse_qs gives a list for each name: take [0], as in "
        "parse_qs(q).get('name', ['World'])[0]" in rows[0]
    ), rows[0]
    assert not _rows_about(result, "GET /"), str(result)  # Hello, World! is right
    for advice in (PLUS_ADVICE, AMPERSAND_ADVICE):  # nothing else is wrong
        assert advice not in str(result), str(result)


def test_hello_name_valid_variants_pass_plus_and_ampersand() -> None:
    from urllib.parse import parse_qs, parse_qsl, unquote_plus

    def from_parse_qsl(environ: Any, start_response: Any) -> Any:
        name = dict(parse_qsl(environ.get("QUERY_STRING", ""))).get("name", "World")
        return _hello_from(name, start_response)

    def split_at_ampersand(environ: Any, start_response: Any) -> Any:
        pairs = (p.partition("=") for p in environ.get("QUERY_STRING", "").split("&"))
        names = [unquote_plus(value) for key, _, value in pairs if key == "name"]
        return _hello_from(names[0] if names else "World", start_response)

    def blank_values_kept(environ: Any, start_response: Any) -> Any:
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        return _hello_from((query.get("name") or ["World"])[0], start_response)

    for answer in (from_parse_qsl, split_at_ampersand, blank_values_kept):
        result = WSGI_HELLO_NAME.check(answer, quiet=True)
        assert result.passed, str(result)
        assert "GET /?name=Grace+Hopper" in str(result) and "GET /?lang=en&name=Ada" in str(result)


# -- wsgi-json-echo: no body, an empty CONTENT_LENGTH, a body that is not UTF-8 -------------
def test_json_echo_sends_a_post_without_content_length_and_one_with_it_empty() -> None:
    """PEP 3333: CONTENT_LENGTH "May be empty or absent"; the echo gets both, each its own row."""
    probes = [case.probe() for case in WSGI_JSON_ECHO.cases]
    bodiless = [p for p in probes if p.method == "POST" and not p.body]
    assert [dict(p.headers).get("Content-Length") for p in bodiless] == [None, ""], bodiless
    assert len({p.label for p in probes}) == len(probes), [p.label for p in probes]


def test_wsgiref_gives_a_post_without_a_body_an_empty_content_length() -> None:
    """The notebook's claim: wsgiref's server sends CONTENT_LENGTH '' when the request has none."""
    import http.client
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    seen: dict[str, Any] = {}

    def app(environ: Any, start_response: Any) -> list[bytes]:
        seen["CONTENT_LENGTH"] = environ.get("CONTENT_LENGTH")
        start_response("200 OK", [("Content-Length", "0")])
        return []

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    with make_server("127.0.0.1", 0, app, handler_class=Quiet) as server:
        thread = threading.Thread(target=server.handle_request, daemon=True)
        thread.start()
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=5)
        connection.putrequest("POST", "/")
        connection.endheaders()  # no Content-Length, no body
        connection.getresponse().read()
        connection.close()
        thread.join(5)
    assert seen == {"CONTENT_LENGTH": ""}, seen


def test_the_json_echo_task_names_what_a_bodiless_post_gets_and_the_strict_read() -> None:
    text = _cells()["ex2-md"]
    for words in (
        "bytes that are not UTF-8",
        "no body at all",
        '`int(environ.get("CONTENT_LENGTH") or 0)`',
        "`wsgi.input-past-content-length`, only a warning of `gl.check_wsgi`) fails this check",
    ):
        assert words in text, (words, text)
    assert WSGI_JSON_ECHO.strict == {"wsgi.input-past-content-length"}
    assert "fails the check" in _cells()["m7-live-md"]


def test_a_body_that_is_not_utf8_names_unicode_decode_error() -> None:
    def catches_decode_errors_only(environ: Any, start_response: Any) -> Any:
        refused = _not_post(environ, start_response)
        if refused is not None:
            return refused
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            return _respond(start_response, "400 Bad Request", b"bad", "text/plain")
        return _respond(start_response, "200 OK", json.dumps({**data, "size": len(raw)}).encode())

    with pytest.raises(UnicodeDecodeError):  # the premise: not a JSONDecodeError
        json.loads(b"\xff{}")
    result = WSGI_JSON_ECHO.check(catches_decode_errors_only, quiet=True)
    rows = [t for t in _failures(result) if t.startswith("POST / (3-byte body)")]
    assert len(rows) == 1 and "Catch ValueError, which covers both" in rows[0], str(result)
    assert all("POST / (3-byte body)" in text for text in _failures(result)), str(result)


# -- wsgi-hello-name: the body is exactly the greeting --------------------------------------
def test_hello_name_body_must_be_exactly_the_greeting() -> None:
    (case,) = [c for c in WSGI_HELLO_NAME.cases if c.request == "GET /?name=Ada"]
    plain = [("Content-Type", "text/plain")]
    for body, passes in (
        (b"Hello, Ada!", True),
        (b"Hello, Ada!\n", True),
        (b"Hello, Ada!\r\n", True),
        (b"<h1>Hello, Ada!</h1>", False),
        (b"Hello, Ada!!", False),
        (b" Hello, Ada!", False),
        (b"Hello, Ada!\n\n", False),
    ):
        rows = case.expectations(Response(200, plain, body))
        body_rows = [(ok, text) for ok, text in rows if text.startswith("body ")]
        assert len(body_rows) == 1 and body_rows[0][0] is passes, (body, rows)
    rows = case.expectations(Response(200, plain, b"Hello, Ada!!"))
    assert any("but so is '!' after it" in text for _, text in rows), rows


def test_hello_name_with_the_str_body_says_the_body_is_empty_not_b() -> None:
    result = WSGI_HELLO_NAME.check(greets_as_str, quiet=True)
    assert not any("got b''" in text or "got ''" in text for text in _failures(result))


# -- one row per mistake, each cause with its own requests ----------------------------------
def _hello_text(environ: Any) -> str:
    from urllib.parse import parse_qs

    return f"Hello, {parse_qs(environ.get('QUERY_STRING', '')).get('name', ['World'])[0]}!"


def returns_bytes_unlisted(environ: Any, start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return _hello_text(environ).encode()  # no list around it


def length_as_an_int(environ: Any, start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", 13)])
    return [_hello_text(environ).encode()]


def test_bytes_without_a_list_is_said_once_for_every_body() -> None:
    """Seven bodies, one mistake: its sentence once, not once per body."""
    result = WSGI_HELLO_NAME.check(returns_bytes_unlisted, quiet=True)
    (row,) = [text for text in _failures(result) if text.startswith("wsgi.body-is-bytes")]
    assert row.count("The app returned bytes directly") == 1, row
    assert "GET /?name=Zo%C3%AB" in row and "return [body]" in row, row


def test_a_content_length_that_is_too_short_here_and_too_long_there_says_where() -> None:
    """('Content-Length', 13) is short for Ada and long for Grace Hopper: each said of its own."""
    result = WSGI_HELLO_NAME.check(length_as_an_int, quiet=True)
    failures = _failures(result)
    assert any(t.startswith("wsgi.header-not-str") and "are str" in t for t in failures)
    (row,) = [text for text in failures if text.startswith("wsgi.content-length-mismatch")]
    for said in (
        "On GET /?name=Ada, GET /?lang=en&name=Ada, GET /?name=Ada&lang=en: The Content-Length "
        "header says 13 bytes but the app sent 11. The client waits",
        "On GET /?name=Grace%20Hopper, GET /?name=Grace+Hopper: The Content-Length header says "
        "13 bytes but the app sent 20. The client stops reading",
        "On GET /?name=Zo%C3%AB: The Content-Length header says 13 bytes but the app sent 12.",
    ):
        assert said in row, (said, row)


# -- unfinished answers never raise ---------------------------------------------------------
def _todo(environ: Any, start_response: Any) -> Any:
    raise NotImplementedError("write your app here")


@pytest.mark.parametrize("name", ["wsgi-hello-name", "wsgi-json-echo"])
@pytest.mark.parametrize("answer", [None, ..., _todo])
def test_unfinished_answer_is_reported_not_raised(name: str, answer: Any, capsys: Any) -> None:
    result = gl.exercise(name)(answer)
    assert not result.passed and result.unfinished
    assert "not finished yet" in capsys.readouterr().out


# -- JSONCase on its own ---------------------------------------------------------------------
def test_json_case_explains_a_body_that_is_not_json() -> None:
    case = JSONCase("POST /", json_equals={"a": 1}, needs_length=True)
    response = Response(200, [("Content-Type", "application/json")], b"a=1")
    lines = case.expectations(response)
    assert any(not ok and "Content-Length is missing" in text for ok, text in lines)
    assert any(not ok and "not valid JSON" in text for ok, text in lines)


def test_json_case_accepts_any_spacing() -> None:
    case = JSONCase("POST /", json_equals={"a": [1, 2]})
    response = Response(200, [], b'{ "a" :[1,2] }')
    assert all(ok for ok, _ in case.expectations(response))


def test_json_case_with_no_response_adds_nothing_of_its_own() -> None:
    lines = JSONCase("POST /", json_equals={"a": 1}, needs_length=True).expectations(None)
    assert len(lines) == 1 and not lines[0][0]


# -- claims of the notebook -----------------------------------------------------------------
def article_app(environ: Any, start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello world"]


def test_the_articles_hello_world_has_no_error() -> None:
    assert gl.check_wsgi(article_app).ok


def _returns_a_str(environ: Any, start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return "Hello world"


def _returns_bytes(environ: Any, start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return b"Hello world"


def _forgets_start_response(environ: Any, start_response: Any) -> Any:
    return [b"Hello world"]


def _yields_str(environ: Any, start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield "Hello world"


def _headers_as_dict(environ: Any, start_response: Any) -> Any:
    start_response("200 OK", {"Content-Type": "text/plain"})
    return [b"Hello world"]


def _status_as_number(environ: Any, start_response: Any) -> Any:
    start_response(200, [("Content-Type", "text/plain")])
    return [b"Hello world"]


def _reads_everything(environ: Any, start_response: Any) -> Any:
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]


def _length_of_the_text(environ: Any, start_response: Any) -> Any:
    text = "Hello, café"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(text)))])
    return [text.encode("utf-8")]


@pytest.mark.parametrize(
    ("app", "rule", "severity"),
    [
        (_returns_a_str, "wsgi.body-is-str", "error"),
        (_returns_bytes, "wsgi.body-is-bytes", "error"),
        (_forgets_start_response, "wsgi.no-start-response", "error"),
        (_yields_str, "wsgi.body-not-bytes", "error"),
        (_headers_as_dict, "wsgi.headers-not-list", "error"),
        (_status_as_number, "wsgi.status-not-str", "error"),
        (_reads_everything, "wsgi.input-past-content-length", "warning"),
        (_length_of_the_text, "wsgi.content-length-mismatch", "error"),
    ],
)
def test_each_mistake_of_the_notebook_gets_its_rule(app: Any, rule: str, severity: str) -> None:
    assert rule in gl.check_wsgi(app).rules(severity)


def test_wsgiref_answers_500_to_a_bytes_body() -> None:
    """The notebook says a server writes bytes, not the integers that iterating bytes gives."""
    out, errors = io.BytesIO(), io.StringIO()
    environ = {
        "REQUEST_METHOD": "GET",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    SimpleHandler(io.BytesIO(), out, errors, environ).run(_returns_bytes)
    assert out.getvalue().startswith(b"HTTP/1.0 500 ")
    assert "bytes" in errors.getvalue()


# -- section 8: the mistakes table, checked against the checker ----------------------------
def _mistake_apps() -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(_cells()["mistake-apps"], "mistake-apps", "exec"), namespace)  # noqa: S102
    return namespace


TABLE = {  # the table's row: (the app of the mistake-apps cell, its rule, its severity)
    1: ("returns_a_str", "wsgi.body-is-str", "error"),
    2: ("returns_bytes", "wsgi.body-is-bytes", "error"),
    3: ("forgets_start_response", "wsgi.no-start-response", "error"),
    4: ("yields_str", "wsgi.body-not-bytes", "error"),
    5: ("headers_as_dict", "wsgi.headers-not-list", "error"),
    6: ("status_as_number", "wsgi.status-not-str", "error"),
    7: ("reads_everything", "wsgi.input-past-content-length", "warning"),
    8: ("length_of_the_text", "wsgi.content-length-mismatch", "error"),
}


@pytest.mark.parametrize("row", sorted(TABLE))
def test_each_mistake_of_the_table_gets_its_rule_and_severity(row: int) -> None:
    name, rule, severity = TABLE[row]
    report = gl.check_wsgi(_mistake_apps()[name])
    assert rule in report.rules(severity), report.rules()
    table = _cells()["check-hello-after"]
    line = next(text for text in table.splitlines() if text.startswith(f"| {row} |"))
    assert f"`{rule}` ({'✗' if severity == 'error' else '!'})" in line or f"`{rule}`," in line


@pytest.mark.parametrize(
    ("status", "rule"),
    [
        (200, "wsgi.status-not-str"),
        ("200", "wsgi.status-no-reason"),
        ("OK 200", "wsgi.status-form"),
    ],
)
def test_each_wrong_status_shape_gets_its_own_error(status: Any, rule: str) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response(status, [("Content-Type", "text/plain")])
        return [b"Hello world"]

    found = {(f.severity, f.rule) for f in gl.check_wsgi(app).findings if "status" in f.rule}
    assert found == {("error", rule)}
    assert f"`{rule}`" in _cells()["check-hello-after"]


def test_a_right_status_gets_no_status_finding() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"Hello world"]

    assert not [f for f in gl.check_wsgi(app).findings if "status" in f.rule]
