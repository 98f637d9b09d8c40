"""Notebook 01 (CGI): its exercise checker, its reference solution, its claims.

The notebook's own quiet-check cells run under nbval; these tests cover the
exercise (the reference passes, typical wrong answers get the right
feedback, unfinished answers never raise) and the claims the notebook makes
about the package's behaviour that its cells do not assert themselves.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import gateway_lab as gl
from gateway_lab.course.cgi import CGI_FORM, EXTRA_STDIN, QUOTED_NAME, check_cgi_form
from gateway_lab.exercises.result import ExerciseResult
from gateway_lab.exercises.stdin import UTF8_BODY

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SOLUTION = NOTEBOOKS / "solutions" / "cgi-form.py"
NOTEBOOK = NOTEBOOKS / "01-cgi.ipynb"


def solution_with(old: str, new: str) -> str:
    """The reference solution's source with one change (which must apply)."""
    source = SOLUTION.read_text()
    assert old in source, f"the reference solution no longer contains {old!r}"
    return source.replace(old, new)


def marks(result: ExerciseResult, mark: str) -> list[str]:
    return [text for m, text in result.lines if m == mark]


def failing(result: ExerciseResult) -> list[str]:
    return marks(result, "✗")


# --- the reference solution -------------------------------------------------


def test_reference_solution_is_an_executable_python_cgi_script() -> None:
    assert SOLUTION.read_text().startswith("#!/usr/bin/env python3\n")
    assert SOLUTION.stat().st_mode & stat.S_IXUSR


def test_reference_solution_passes_as_a_path() -> None:
    result = CGI_FORM.evaluate(str(SOLUTION))
    assert result.passed, str(result)
    assert not result.unfinished
    assert not marks(result, "!")
    # one line per request (its checks folded), then the script's own header, then stdin
    assert len(result.lines) == 10, str(result)


def test_reference_solution_passes_as_source_text_and_as_pathlike() -> None:
    assert CGI_FORM.evaluate(SOLUTION.read_text()).passed
    assert CGI_FORM.evaluate(SOLUTION).passed


def test_check_prints_feedback_and_marks_it_printed(capsys: pytest.CaptureFixture[str]) -> None:
    result = check_cgi_form(str(SOLUTION))
    out = capsys.readouterr().out
    assert result.printed
    assert out.startswith("✓") and "passed" in out.splitlines()[0]


def test_quiet_check_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    CGI_FORM(str(SOLUTION), quiet=True)
    assert capsys.readouterr().out == ""


def test_the_exercise_is_registered_under_its_name() -> None:
    from gateway_lab.exercises.framework import _REGISTRY

    assert _REGISTRY["cgi-form"] is CGI_FORM


# --- typical wrong answers --------------------------------------------------


def test_forgetting_the_empty_line_after_the_headers() -> None:
    result = CGI_FORM.evaluate(solution_with("print()  # the empty line", "# (forgotten)"))
    assert not result.passed and not result.unfinished
    problems = failing(result)
    assert problems and all(not text.endswith("status 200") for text in problems)
    assert "gateway had to answer" in problems[0]
    assert "empty line" in problems[0]
    # the full explanation once, then short lines
    assert sum("A CGI script prints its headers first" in text for text in problems) == 1


def test_reading_the_post_body_from_query_string() -> None:
    source = solution_with('if method == "POST":', "if False:  # reads QUERY_STRING even for POST")
    result = CGI_FORM.evaluate(source)
    assert not result.passed
    bad = failing(result)
    assert bad and all(text.startswith("POST /") for text in bad)
    assert any("stdin" in text and "CONTENT_LENGTH" in text for text in bad)
    assert not any(text.startswith("GET /") for text in bad)


def test_not_escaping_the_name() -> None:
    result = CGI_FORM.evaluate(solution_with("html.escape(name)", "name"))
    assert not result.passed
    bad = failing(result)
    assert bad and all("%3Cscript%3E" in text or QUOTED_NAME in text for text in bad)
    assert any("&lt;script&gt;" in text for text in bad)
    assert any("html.escape" in text for text in bad)


def test_reading_stdin_until_the_end_is_a_warning_not_a_failure() -> None:
    result = CGI_FORM.evaluate(
        solution_with("sys.stdin.buffer.read(length)", "sys.stdin.buffer.read()")
    )
    assert result.passed, str(result)
    warnings = marks(result, "!")
    assert len(warnings) == 1
    assert "CONTENT_LENGTH" in warnings[0] and "rfc3875#section-4.2" in warnings[0]


def test_reading_exactly_content_length_gets_a_tick_for_it() -> None:
    result = CGI_FORM.evaluate(str(SOLUTION))
    assert any("CONTENT_LENGTH" in text for text in marks(result, "✓"))
    assert EXTRA_STDIN.decode() not in str(result)


def plain_text_and_no_post() -> str:
    """Two faults only: Content-Type text/plain, and POST bodies ignored."""
    source = solution_with('if method == "POST":', "if False:  # ignores the POST body")
    return source.replace("text/html; charset=utf-8", "text/plain")


def test_advice_follows_the_check_that_failed_not_the_request() -> None:
    result = CGI_FORM.evaluate(plain_text_and_no_post())
    get_lines = [text for text in failing(result) if text.startswith("GET /")]
    assert get_lines and all("Content-Type" in text for text in get_lines), get_lines
    # the form and the query string passed: no advice about them
    assert not any("<form>" in text or "parse_qs" in text for text in get_lines), get_lines
    post_body = [t for t in failing(result) if t.startswith("POST /") and "body should" in t]
    assert post_body and "stdin" in post_body[0] and "CONTENT_LENGTH" in post_body[0]


def test_the_headline_counts_checks_not_advice() -> None:
    result = CGI_FORM.evaluate(plain_text_and_no_post())
    # 3 requests answer text/plain, 3 POST bodies are ignored (one of them has two checks:
    # the escaped name is missing, and the raw one is not there to be refused)
    assert len(failing(result)) == 6, str(result)
    checks = [mark for mark, _ in result.lines if mark in "✓✗"]
    assert result.headline.endswith(f"(6 of {len(checks)} checks to fix)"), result.headline
    assert not any(": what to change:" in text for _, text in result.lines)


def test_the_same_advice_is_given_once_then_pointed_at() -> None:
    result = CGI_FORM.evaluate(plain_text_and_no_post())
    advice = [text for text in failing(result) if "text/plain, say" in text]
    assert len(advice) == 1
    assert sum("What to change: as above." in text for text in failing(result)) == 3


def test_reading_characters_instead_of_bytes_is_a_warning() -> None:
    source = solution_with(
        'sys.stdin.buffer.read(length).decode("utf-8", "replace")', "sys.stdin.read(length)"
    )
    result = CGI_FORM.evaluate(source)
    assert result.passed, str(result)  # this gateway closes stdin after the body
    warnings = marks(result, "!")
    assert len(warnings) == 1, str(result)
    assert "characters" in warnings[0] and "sys.stdin.buffer.read" in warnings[0]
    assert UTF8_BODY.decode() in warnings[0]


def test_reading_bytes_gets_no_characters_warning() -> None:
    result = CGI_FORM.evaluate(str(SOLUTION))
    assert UTF8_BODY.decode() not in str(result)


def test_missing_content_type_with_other_headers() -> None:
    source = solution_with(
        'print("Content-Type: text/html; charset=utf-8")', 'print("Cache-Control: no-store")'
    )
    result = CGI_FORM.evaluate(source)
    assert not result.passed
    bad = failing(result)
    assert len(bad) == 1, bad
    assert "Content-Type" in bad[0] and "rfc3875#section-6.3.1" in bad[0]


def test_missing_content_type_and_no_header_at_all() -> None:
    source = solution_with('print("Content-Type: text/html; charset=utf-8")\n', "")
    result = CGI_FORM.evaluate(source)
    assert not result.passed
    assert "no headers at all" in failing(result)[0]


def test_get_without_a_name_must_show_a_form() -> None:
    source = solution_with('<input name="name">', '<input name="who">')
    result = CGI_FORM.evaluate(source)
    assert not result.passed
    bad = failing(result)
    assert any("<input> called name" in text for text in bad)
    assert all(text.startswith("GET / ") or text.startswith("GET /:") for text in bad)


def test_percent_and_plus_encoded_names_must_be_decoded() -> None:
    source = solution_with(
        'fields = parse_qs(os.environ.get("QUERY_STRING", ""))',
        'fields = {k: [v] for k, _, v in [os.environ.get("QUERY_STRING", "").partition("=")]}',
    )
    result = CGI_FORM.evaluate(source)
    assert not result.passed
    assert any("Grace%20Hopper" in text for text in failing(result))


def test_a_script_that_is_not_executable(tmp_path: Path) -> None:
    script = tmp_path / "form.py"
    script.write_text(SOLUTION.read_text())
    script.chmod(0o644)
    result = CGI_FORM.evaluate(str(script))
    assert not result.passed and not result.unfinished
    assert len(result.lines) == 1  # the check stops: every request would fail alike
    assert "not executable" in result.lines[0][1] and "chmod" in result.lines[0][1]
    # the count says why it is "1 of 1", and the chmod works from anywhere
    assert "1 of 1 checks to fix; the check stopped after the first request" in str(result)
    assert f"chmod +x {script}" in result.lines[0][1]


def test_a_misspelt_interpreter() -> None:
    result = CGI_FORM.evaluate(solution_with("python3\n", "pyton3\n"))
    assert not result.passed
    assert "'pyton3'" in failing(result)[0]


def test_no_shebang_line() -> None:
    result = CGI_FORM.evaluate(solution_with("#!/usr/bin/env python3\n", ""))
    assert not result.passed
    assert "#!" in failing(result)[0]


def test_a_crashing_script_shows_its_error() -> None:
    result = CGI_FORM.evaluate(solution_with("import html\n", "import htmll\n"))
    assert not result.passed
    assert "ModuleNotFoundError" in failing(result)[0]


def test_an_endless_script_is_stopped_once(tmp_path: Path) -> None:
    source = solution_with("import html\n", "import html\nwhile True:\n    pass\n")
    exercise = type(CGI_FORM)("endless", CGI_FORM.cases, timeout=0.3)
    result = exercise.evaluate(source)
    assert not result.passed
    assert len(result.lines) == 1 and "did not finish" in result.lines[0][1]
    assert "the script did not finish, so no more requests were sent" in result.headline


def test_a_slow_script_is_told_a_timeout_the_check_accepts() -> None:
    """The hint's timeout=... must be one the check takes (it raised TypeError)."""
    slow = solution_with("import html\n", "import html\nimport time\ntime.sleep(1)\n")
    result = check_cgi_form(slow, quiet=True, timeout=0.4)
    assert not result.passed and len(result.lines) == 1
    assert "check_cgi_form(answer, timeout=10)" in result.lines[0][1], str(result)
    assert "waited 0.4 s" in result.lines[0][1]
    assert CGI_FORM(str(SOLUTION), quiet=True, timeout=5).passed


def test_a_crash_on_some_requests_says_more_checks_follow() -> None:
    result = CGI_FORM.evaluate(
        solution_with('if method == "POST":', 'if method == "POST":\n    1 / 0')
    )
    assert not result.passed
    assert "checked once it answers every request" in result.headline, result.headline


def test_a_blank_line_before_the_shebang_is_named(tmp_path: Path) -> None:
    """A %%writefile cell with an empty line under it: the '#!' is on line 2."""
    script = tmp_path / "my_form.py"
    script.write_text("\n" + SOLUTION.read_text())
    script.chmod(0o755)
    (line,) = failing(CGI_FORM.evaluate(str(script)))
    assert "is line 2, with an empty line above it" in line, line
    assert "no '#!' first line" not in line
    loaded = CGI_FORM.evaluate("# %load solutions/cgi-form.py\n" + SOLUTION.read_text())
    assert "with '# %load solutions/cgi-form.py' above it" in failing(loaded)[0]


def test_a_debugging_print_before_the_headers_is_named_not_print_buffering() -> None:
    result = CGI_FORM.evaluate(solution_with(GETS_NAME, GETS_NAME + '\nprint("name is", name)'))
    line = next(t for t in failing(result) if t.startswith("GET /?name=Ada"))
    assert "the script printed b'name is Ada' before its headers" in line, line
    assert "file=sys.stderr" in line
    assert "sys.stdout.buffer" not in line and "flush" not in line


def test_content_length_on_a_get_is_told_it_is_unset() -> None:
    result = CGI_FORM.evaluate(
        solution_with(
            'if method == "POST":',
            'length = int(os.environ["CONTENT_LENGTH"])\nif method == "POST":',
        )
    )
    first = failing(result)[0]
    assert "KeyError: 'CONTENT_LENGTH'" in first
    assert "a request with no body (a GET) has no CONTENT_LENGTH" in first
    assert "if and only if the request is accompanied by a message-body" in first


# --- unfinished answers: a sentence, never an exception ----------------------


@pytest.mark.parametrize(
    "answer",
    [None, ..., "", "   ", b"", 42, "no-such-script.py", "\n#!/usr/bin/env python3\nprint()\n"],
)
def test_unfinished_answers_never_raise(answer: object) -> None:
    result = CGI_FORM.evaluate(answer)
    assert not result.passed
    assert result.unfinished
    assert str(result).startswith("…")


def test_an_empty_file_and_a_folder_are_unfinished(tmp_path: Path) -> None:
    empty = tmp_path / "empty.py"
    empty.write_text("\n")
    empty.chmod(0o755)
    assert CGI_FORM.evaluate(str(empty)).unfinished
    assert CGI_FORM.evaluate(str(tmp_path)).unfinished


def test_the_notebook_scaffold_is_unfinished_and_the_solution_fits_its_cell() -> None:
    cells = {cell["id"]: cell for cell in json.loads(NOTEBOOK.read_text())["cells"]}
    scaffold = "".join(cells["exercise-scaffold"]["source"])
    magic, _, source = scaffold.partition("\n")
    assert magic == "%%writefile cgi-bin-lab/my_form.py"
    result = CGI_FORM.evaluate(source)
    assert result.unfinished and "NotImplementedError" in result.unfinished
    assert "check_cgi_form" in "".join(cells["exercise-check"]["source"])


def test_notebook_is_committed_without_outputs() -> None:
    notebook = json.loads(NOTEBOOK.read_text())
    for cell in notebook["cells"]:
        assert cell.get("id")
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


# --- claims of the notebook beyond its quiet checks ---------------------------


def test_a_served_folder_runs_the_script_as_it_is_now(tmp_path: Path) -> None:
    """'there is nothing to restart': the next request runs the edited script."""
    script = tmp_path / "page.sh"
    script.write_text("#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nfirst\\n'\n")
    script.chmod(0o755)
    with gl.serve_cgi(tmp_path, name="nb01-edit") as server:
        assert httpx.get(server.url + "page.sh", timeout=5).text == "first\n"
        script.write_text("#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nsecond\\n'\n")
        assert httpx.get(server.url + "page.sh", timeout=5).text == "second\n"


def test_dot_files_are_not_listed_on_the_index_page(tmp_path: Path) -> None:
    (tmp_path / ".weather-settings.json").write_text("{}")
    (tmp_path / "clock.py").write_text("#!/usr/bin/env python3\n")
    page = gl.call_wsgi(gl.CGIApp(tmp_path), path="/").text
    assert "clock.py" in page
    assert ".weather-settings" not in page


def test_run_cgi_never_turns_a_proxy_header_into_http_proxy() -> None:
    result = gl.run_cgi(NOTEBOOKS / "cgi-bin" / "env.py", headers={"Proxy": "http://127.0.0.1:9/"})
    assert result.status == 200
    assert "HTTP_PROXY" not in result.environ
    assert "HTTP_PROXY" not in result.text


def test_urllib_ignores_http_proxy_inside_a_cgi_script() -> None:
    """The notebook says today's urllib ignores HTTP_PROXY when REQUEST_METHOD is set."""
    code = "import urllib.request; print(urllib.request.getproxies().get('http'))"
    base = {"PATH": os.environ.get("PATH", ""), "HTTP_PROXY": "http://127.0.0.1:9/"}
    as_cgi = subprocess.run(
        [sys.executable, "-c", code],
        env={**base, "REQUEST_METHOD": "GET"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    plain = subprocess.run(
        [sys.executable, "-c", code], env=base, capture_output=True, text=True, timeout=30
    )
    assert as_cgi.stdout.strip() == "None"
    assert plain.stdout.strip() == "http://127.0.0.1:9/"


def test_a_header_reaches_a_script_verbatim() -> None:
    payload = "() { :; }; echo vulnerable"
    result = gl.run_cgi(NOTEBOOKS / "cgi-bin" / "env.py", headers={"User-Agent": payload})
    assert result.environ["HTTP_USER_AGENT"] == payload
    assert f"HTTP_USER_AGENT={payload}" in result.text.splitlines()


# --- reading stdin: the feedback says what happened, without contradicting itself ---
def test_the_read_past_the_body_warning_does_not_say_it_worked() -> None:
    """The warning follows a run where the script answered with our extra bytes."""
    result = CGI_FORM.evaluate(
        solution_with("sys.stdin.buffer.read(length)", "sys.stdin.buffer.read()")
    )
    (warning,) = marks(result, "!")
    assert "It works here" not in warning
    assert "this check sent after the body" in warning and "hides the mistake" in warning


def test_read_length_minus_one_with_no_content_length_is_flagged() -> None:
    """read(length - 1) on a GET is read(-1): it reads stdin with no length to go by."""
    source = solution_with(
        'method = os.environ.get("REQUEST_METHOD", "GET")\nif method == "POST":',
        'method = os.environ.get("REQUEST_METHOD", "GET")\n'
        'length = int(os.environ.get("CONTENT_LENGTH") or 0)\n'
        'stray = parse_qs(sys.stdin.buffer.read(length - 1).decode("utf-8", "replace"))\n'
        "if stray:\n"
        "    fields = stray\n"
        'elif method == "POST":',
    ).replace(
        'else:\n    fields = parse_qs(os.environ.get("QUERY_STRING", ""))',
        'elif not stray:\n    fields = parse_qs(os.environ.get("QUERY_STRING", ""))',
    )
    result = CGI_FORM.evaluate(source)
    flagged = [t for t in marks(result, "!") if "no CONTENT_LENGTH" in t]
    assert flagged, str(result)
    assert "read(-1)" in flagged[0] and "rfc3875#section-4.2" in flagged[0]


def test_the_reference_solution_does_not_read_stdin_on_a_get() -> None:
    result = CGI_FORM.evaluate(str(SOLUTION))
    (line,) = [(m, t) for m, t in result.lines if "no CONTENT_LENGTH" in t]
    assert line[0] == "✓", str(result)


def test_a_passing_report_is_brief_and_names_every_check() -> None:
    result = CGI_FORM.evaluate(str(SOLUTION))
    text = str(result)
    assert result.passed and len(text.splitlines()) <= 12, text
    for check in ("a <form>", "Hello, Grace Hopper!", "&lt;script&gt;", "Content-Type", "stdin"):
        assert check in text, check


# --- testers' findings: the verdict and the advice follow what the page showed --------
GREETING = 'print(f"<h1>Hello, {html.escape(name)}!</h1>")'
GETS_NAME = 'name = fields.get("name", [""])[0].strip()'


def greeting_lines(result: ExerciseResult) -> list[str]:
    """The failed lines of the four requests that send a plain name (not the escaping ones)."""
    return [
        t
        for t in failing(result)
        if "Hello, " in t and "%3Cscript" not in t and QUOTED_NAME not in t
    ]


# Valid answers, each a different legal page or wire form: none may fail or warn.
VALID_VARIANTS = {
    "markup around the name": (GREETING, 'print(f"<h1>Hello, <b>{html.escape(name)}</b>!</h1>")'),
    "upper-case HTML, a line break, an entity": (
        GREETING,
        'print(f"<H1>Hello,\\n   <EM>{html.escape(name)}</EM>&#33;</H1>")',
    ),
    "a non-breaking space": (GREETING, 'print(f"<p>Hello,&nbsp;{html.escape(name)}!</p>")'),
    "CRLF through sys.stdout.buffer": (
        'print("Content-Type: text/html; charset=utf-8")\n'
        "print()  # the empty line: headers end, body begins\n",
        'sys.stdout.buffer.write(b"Content-Type: text/html; charset=utf-8\\r\\n\\r\\n")\n'
        "sys.stdout.flush()\n",
    ),
    "print() headers, a flush, then the body through sys.stdout.buffer": (
        'print(f"<h1>Hello, {html.escape(name)}!</h1>")',
        "sys.stdout.flush()\n"
        '    sys.stdout.buffer.write(f"<h1>Hello, {html.escape(name)}!</h1>\\n".encode())',
    ),
    "an explicit Status: 200 OK and an upper-case form": (
        'print("Content-Type: text/html; charset=utf-8")\n',
        'print("Status: 200 OK")\nprint("Content-Type: text/html; charset=utf-8")\n',
    ),
}


@pytest.mark.parametrize("change", VALID_VARIANTS.values(), ids=VALID_VARIANTS.keys())
def test_valid_variants_pass_without_a_warning(change: tuple[str, str]) -> None:
    source = solution_with(*change).replace("<form", "<FORM").replace("</form>", "</FORM>")
    result = CGI_FORM.evaluate(source)
    assert result.passed, str(result)
    assert not marks(result, "!"), str(result)
    assert "Hello, Grace Hopper!" in str(result) and "&lt;script&gt;" in str(result)


def test_markup_around_the_name_reads_as_the_page_shows_it() -> None:
    result = CGI_FORM.evaluate(solution_with(GREETING, GREETING.replace("{html", "<b>{html")))
    assert result.passed, str(result)
    assert "page shows 'Hello, Ada!'" in str(result)
    assert any("reads exactly CONTENT_LENGTH bytes" in t for t in marks(result, "✓"))


def test_markup_does_not_excuse_an_unescaped_name() -> None:
    result = CGI_FORM.evaluate(solution_with(GREETING, 'print(f"<h1>Hello, <b>{name}</b>!</h1>")'))
    assert not result.passed
    bad = failing(result)
    assert bad and all("%3Cscript%3E" in text or QUOTED_NAME in text for text in bad), bad
    assert any("should not contain '<script>alert(1)'" in text for text in bad), bad
    assert any("html.escape(name)" in text for text in bad), bad


def test_a_name_escaped_twice_still_fails() -> None:
    """Reading the page's text must not let &amp;lt; pass for &lt;."""
    result = CGI_FORM.evaluate(solution_with("html.escape(name)", "html.escape(html.escape(name))"))
    assert not result.passed
    # the HTML name goes in the query string and in a body, then the name with quotes
    get, post, quoted = failing(result)
    assert "should contain '&lt;script&gt;'" in get and "escaped twice" in get, get
    assert "escape once, just before output" in get
    assert "should contain '&lt;script&gt;'" in post and "What to change: as above" in post
    assert QUOTED_NAME in quoted and "What to change: as above" in quoted


def test_the_cgi_module_passes_with_a_warning() -> None:
    if sys.version_info >= (3, 13):
        pytest.skip("the cgi module is gone from this Python")
    source = (
        f"#!{sys.executable}\n"
        "import cgi\nimport html\n\n"
        "form = cgi.FieldStorage()\n"
        'name = form.getfirst("name", "").strip()\n'
        'print("Content-Type: text/html; charset=utf-8")\nprint()\n'
        "if name:\n"
        '    print(f"<p>Hello, {html.escape(name)}!</p>")\n'
        "else:\n"
        '    print(\'<form method="post"><input name="name"><button>Send</button></form>\')\n'
    )
    result = CGI_FORM.evaluate(source)
    assert result.passed, str(result)
    (warning,) = marks(result, "!")
    assert warning.startswith("the cgi module is gone from Python 3.13 (PEP 594"), warning
    assert "parse with urllib.parse.parse_qs" in warning and "pep-0594" in warning
    # seen from its DeprecationWarning too, when the source has no import statement
    hidden = CGI_FORM.evaluate(source.replace("import cgi\n", 'cgi = __import__("cgi")\n'))
    assert any("cgi module is gone" in text for text in marks(hidden, "!")), str(hidden)


def test_a_python_without_the_cgi_module_says_why_the_import_fails() -> None:
    # What Python 3.13 prints at `import cgi`, raised here so any Python shows it.
    source = solution_with(
        "import html\n", "import html\n\nraise ModuleNotFoundError(\"No module named 'cgi'\")\n"
    )
    result = CGI_FORM.evaluate(source)
    assert not result.passed
    first = failing(result)[0]
    assert "No module named 'cgi'" in first
    assert "gone from Python 3.13 (PEP 594)" in first and "parse_qs" in first
    assert not marks(result, "!")  # the crash says it, once


def test_a_greeting_in_other_words_is_told_the_words_not_parse_qs() -> None:
    other_words = 'print(f"<h1>Hello {html.escape(name)}</h1>")'
    result = CGI_FORM.evaluate(solution_with(GREETING, other_words))
    bad = greeting_lines(result)
    assert len(bad) == 4, str(result)
    assert "print exactly 'Hello, NAME!'" in bad[0]
    assert not any("parse_qs" in text or "stdin" in text for text in bad), bad


def test_a_parse_qs_list_on_the_page_is_told_to_take_its_first_item() -> None:
    result = CGI_FORM.evaluate(
        solution_with('fields.get("name", [""])[0].strip()', 'str(fields.get("name", ""))')
    )
    bad = greeting_lines(result)
    assert len(bad) == 4, str(result)
    assert "parse_qs gives a list for each name" in bad[0] and "take [0]" in bad[0]
    assert not any("arrives on stdin" in text for text in bad), bad


def test_a_name_left_url_encoded_is_told_to_decode_it() -> None:
    result = CGI_FORM.evaluate(
        solution_with(
            'fields = parse_qs(sys.stdin.buffer.read(length).decode("utf-8", "replace"))',
            'body = sys.stdin.buffer.read(length).decode("utf-8")\n'
            '    fields = {"name": [body.partition("name=")[2]]}',
        )
    )
    bad, html_name = failing(result)
    assert "Grace+Hopper" in bad
    assert "decode it: parse_qs turns + into a space and %XX into bytes" in bad
    assert "arrives on stdin" not in bad
    assert "%3Cscript%3E" in html_name and "decode it first" in html_name
    assert "the query string or the body" in html_name


def test_a_name_split_by_hand_is_told_to_decode_it_even_when_it_is_escaped() -> None:
    """html.escape is there; %3Cscript%3E only shows that the name was never decoded."""
    result = CGI_FORM.evaluate(
        solution_with(
            'fields = parse_qs(os.environ.get("QUERY_STRING", ""))',
            'fields = {"name": [os.environ.get("QUERY_STRING", "").partition("name=")[2]]}',
        )
    )
    assert not result.passed
    (html_line,) = [t for t in failing(result) if "%3Cscript%3E" in t]
    assert "should contain '&lt;script&gt;'" in html_line
    assert "still has its URL encoding" in html_line and "parse_qs" in html_line, html_line
    assert "decode it first" in html_line
    assert "Escape the name before it goes into the page" not in html_line
    assert any("Grace%20Hopper" in t and "decode it" in t for t in failing(result))


BUFFERED_BODY = (
    'print(f"<h1>Hello, {html.escape(name)}!</h1>")\n    print(\'<p><a href="?">Again</a></p>\')',
    'sys.stdout.buffer.write(f"<h1>Hello, {html.escape(name)}!</h1>\\n".encode())',
)


def test_a_body_written_to_the_buffer_after_printed_headers_is_told_to_flush() -> None:
    """print() waits in sys.stdout; sys.stdout.buffer.write() goes out first."""
    result = CGI_FORM.evaluate(solution_with(*BUFFERED_BODY))
    assert not result.passed
    bad = failing(result)
    greeting = next(t for t in bad if t.startswith("GET /?name=Ada"))
    assert "The output must start with headers" not in greeting, greeting
    assert "the body went out before the headers" in greeting, greeting
    assert "sys.stdout.flush() before writing to sys.stdout.buffer" in greeting
    assert "or write everything one way" in greeting
    assert not any("The output must start with headers" in t for t in bad), bad


def test_headers_that_never_end_after_a_buffered_body_still_get_the_flush_advice() -> None:
    source = solution_with(*BUFFERED_BODY).replace(
        "print()  # the empty line: headers end, body begins", "# (forgotten)"
    )
    result = CGI_FORM.evaluate(source)
    greeting = next(t for t in failing(result) if t.startswith("GET /?name=Ada"))
    assert "sys.stdout.flush() before writing to sys.stdout.buffer" in greeting, greeting


def test_the_whole_field_on_the_page_is_told_to_parse_it() -> None:
    source = solution_with('fields = parse_qs(os.environ.get("QUERY_STRING", ""))', "fields = {}")
    result = CGI_FORM.evaluate(
        source.replace(
            'name = fields.get("name", [""])[0].strip()',
            'name = fields.get("name", [""])[0].strip() or os.environ.get("QUERY_STRING", "")',
        )
    )
    bad = [t for t in greeting_lines(result) if t.startswith("GET /?name=Ada")]
    assert bad and "the whole field" in bad[0] and "parse_qs" in bad[0], str(result)


def test_a_crash_in_a_library_frame_names_the_learners_line(tmp_path: Path) -> None:
    script = tmp_path / "my_form.py"
    source = solution_with(
        'method = os.environ.get("REQUEST_METHOD", "GET")',
        'method = os.environ["REQUEST_METHOD"]\nsecret = os.environ["FORM_SECRET"]',
    )
    line = source.splitlines().index('secret = os.environ["FORM_SECRET"]') + 1
    script.write_text(source)
    script.chmod(0o755)
    result = CGI_FORM.evaluate(str(script))
    first = failing(result)[0]
    assert f'File "my_form.py", line {line}, in <module>' in first, first
    assert 'secret = os.environ["FORM_SECRET"]' in first and "KeyError: 'FORM_SECRET'" in first
    assert "<frozen os>" not in first
    assert "~~~" not in first.partition("Its error:")[2].splitlines()[1], first


def test_html_escape_of_a_list_names_the_line_and_the_list() -> None:
    result = CGI_FORM.evaluate(solution_with("html.escape(name)", "html.escape(fields['name'])"))
    first = failing(result)[0]
    assert "html.escape(fields['name'])" in first and 'File "form_answer.py", line' in first
    assert "AttributeError: 'list' object has no attribute 'replace'" in first
    assert "Must be done first" not in first  # the html module's own line
    assert "take [0]" in first


def test_two_different_crashes_are_both_shown() -> None:
    source = solution_with(
        'print("Content-Type: text/html; charset=utf-8")',
        'if method == "POST":\n    1 / 0\nprint("Content-Type: text/html; charset=utf-8")',
    ).replace("if name:\n", 'if name:\n    name = {}["typo"]\n')
    result = CGI_FORM.evaluate(source)
    text = "\n".join(failing(result))
    assert "KeyError: 'typo'" in text and "ZeroDivisionError" in text, str(result)


def test_a_syntax_error_keeps_its_line() -> None:
    result = CGI_FORM.evaluate(solution_with("print()  # the empty line", "print(  # unclosed"))
    first = failing(result)[0]
    assert 'File "form_answer.py", line' in first and "SyntaxError" in first, first


def test_reading_stdin_to_the_end_on_every_get_is_worded_for_that() -> None:
    source = solution_with(
        'if method == "POST":',
        "data = sys.stdin.read()\nif data:\n    fields = parse_qs(data)\nelif False:",
    )
    result = CGI_FORM.evaluate(source)
    assert result.passed, str(result)
    (stray,) = [t for t in marks(result, "!") if "no CONTENT_LENGTH" in t]
    assert "sys.stdin.read() reads until stdin ends" in stray, stray
    assert "length - 1" not in stray and "read(-1)" not in stray
    assert "read stdin only when CONTENT_LENGTH is set" in stray


def test_a_form_inside_an_html_comment_does_not_count() -> None:
    source = solution_with('"""<form method="post">', '"""<!-- <form method="post"> -->\n<p>')
    source = source.replace("</form>", "</p>")
    result = CGI_FORM.evaluate(source)
    assert not result.passed
    bad = failing(result)
    assert any("should show a <form>" in text for text in bad), bad


def test_the_inspector_words_script_name_and_path_info_for_cgi() -> None:
    """Cell 38 shows /env.py's environment: CGI's meanings, not WSGI's mount point."""
    from gateway_lab.interface.environ import make_environ
    from gateway_lab.views.inspector import environ_html

    env = gl.run_cgi(NOTEBOOKS / "cgi-bin" / "env.py", path="/extra").environ
    page = environ_html(env)
    assert "names this script" in page and "mount point" not in page
    assert "latin-1" not in page
    assert "mount point" in environ_html(make_environ())  # a WSGI environ keeps its own


# --- a second learner's findings: quotes in attributes, and advice that says what to change ---
def quoted_line(result: ExerciseResult) -> str:
    """The failed line of the request whose name has both quotes in it."""
    (line,) = [t for t in failing(result) if QUOTED_NAME in t]
    return line


def test_quote_false_in_an_attribute_is_caught() -> None:
    """html.escape(name, quote=False) into value='...': a quote of the name ends the attribute."""
    result = CGI_FORM.evaluate(
        solution_with(
            GREETING,
            "safe = html.escape(name, quote=False)\n"
            "    print(f\"Hello, {safe}! <form><input name='name' value='{safe}'></form>\")",
        )
    )
    assert not result.passed, str(result)
    line = quoted_line(result)
    assert "a quote from the name is raw inside the tag <input" in line, line
    assert "quote=True" in line and "&quot;" in line and "&#x27;" in line


def test_escaping_only_angle_brackets_into_a_title_is_caught() -> None:
    result = CGI_FORM.evaluate(
        solution_with(
            GREETING,
            'n = name.replace("<", "&lt;").replace(">", "&gt;")\n'
            "    print(f'<h1 title=\"{n}\">Hello, {n}!</h1>')",
        )
    )
    assert not result.passed
    assert "raw inside the tag <h1 title=" in quoted_line(result)


def test_an_unquoted_attribute_is_caught_even_when_escaped() -> None:
    result = CGI_FORM.evaluate(
        solution_with(
            GREETING,
            "print(f'<p>Hello, {html.escape(name)}!</p><input value={html.escape(name)}>')",
        )
    )
    assert not result.passed
    line = quoted_line(result)
    assert "unquoted attribute" in line and "ends at the first space" in line, line


# Valid ways to show the name with quotes: as text (quotes may stay raw there), or escaped with
# quote=True inside a quoted attribute, or URL-encoded in a link.
QUOTE_SAFE = {
    "text only, quote=False": 'print(f"<h1>Hello, {html.escape(name, quote=False)}!</h1>")',
    "value='...' with quote=True": (
        "safe = html.escape(name)\n"
        "    print(f\"<p>Hello, {safe}!</p><form><input name='name' value='{safe}'></form>\")"
    ),
    'title="..." with quote=True': (
        "print(f'<p title=\"{html.escape(name)}\">Hello, {html.escape(name)}!</p>')"
    ),
    "a link with the name URL-encoded": (
        "import urllib.parse\n"
        "    link = urllib.parse.quote_plus(name)\n"
        "    print(f'<p>Hello, {html.escape(name)}!</p><a href=\"?name={link}\">again</a>')"
    ),
    "a textarea": (
        'print(f"<p>Hello, {html.escape(name)}!</p><textarea>{html.escape(name)}</textarea>")'
    ),
}


@pytest.mark.parametrize("greeting", QUOTE_SAFE.values(), ids=QUOTE_SAFE.keys())
def test_a_name_with_quotes_shown_safely_passes(greeting: str) -> None:
    result = CGI_FORM.evaluate(solution_with(GREETING, greeting))
    assert result.passed, str(result)
    assert not marks(result, "!"), str(result)
    assert "no quote from the name is raw inside a tag" in str(result)


def test_escaping_before_parse_qs_is_told_to_escape_after() -> None:
    source = solution_with(
        'fields = parse_qs(os.environ.get("QUERY_STRING", ""))',
        'fields = parse_qs(html.escape(os.environ.get("QUERY_STRING", "")))',
    ).replace(
        'fields = parse_qs(sys.stdin.buffer.read(length).decode("utf-8", "replace"))',
        'raw = html.escape(sys.stdin.buffer.read(length).decode("utf-8"))\n'
        "    fields = parse_qs(raw)",
    )
    result = CGI_FORM.evaluate(source.replace("html.escape(name)", "name"))
    assert not result.passed
    first = next(t for t in failing(result) if "%3Cscript%3E" in t)
    assert "escape after parse_qs has decoded %3C, not before" in first, first
    assert "Escape the name before it goes into the page" not in first


def test_escaping_on_one_way_in_only_is_told_to_escape_on_both() -> None:
    source = solution_with(
        'fields = parse_qs(os.environ.get("QUERY_STRING", ""))',
        'query = parse_qs(os.environ["QUERY_STRING"])\n'
        "    fields = {k: [html.escape(v[0])] for k, v in query.items()}",
    )
    result = CGI_FORM.evaluate(source.replace("html.escape(name)", "name"))
    bad = failing(result)
    assert bad and all(t.startswith("POST /") for t in bad), bad
    assert "escape it on every way it comes in" in bad[0], bad[0]
    assert "not before" not in bad[0]


def test_a_bytes_name_is_told_to_decode_the_body() -> None:
    """Hello, b'Ada'!: str() of the bytes parse_qs gave, not a wording problem."""
    result = CGI_FORM.evaluate(
        solution_with(
            'fields = parse_qs(sys.stdin.buffer.read(length).decode("utf-8", "replace"))',
            "fields = {k.decode(): [str(v) for v in vs]\n"
            "              for k, vs in parse_qs(sys.stdin.buffer.read(length)).items()}",
        )
    )
    assert not result.passed
    post = next(t for t in failing(result) if t.startswith("POST / with body 'name=Ada'"))
    assert "b&#x27;Ada&#x27;" in post and "the body is bytes" in post, post
    assert ".decode('utf-8')" in post and "not in the words asked for" not in post


def test_parse_qs_of_bytes_is_told_to_decode_first() -> None:
    result = CGI_FORM.evaluate(
        solution_with(
            'sys.stdin.buffer.read(length).decode("utf-8", "replace")',
            "sys.stdin.buffer.read(length)",
        )
    )
    post = next(t for t in failing(result) if t.startswith("POST / with body 'name=Ada'"))
    assert ".decode('utf-8')" in post and "b'name'" in post, post


def test_a_keyerror_on_the_first_visit_says_what_to_change() -> None:
    result = CGI_FORM.evaluate(solution_with('fields.get("name", [""])[0]', 'fields["name"][0]'))
    first = failing(result)[0]
    assert first.startswith("GET /:") and "KeyError: 'name'" in first
    assert "What to change:" in first and "fields.get('name', [''])[0]" in first, first
    assert "show the form when it is empty" in first


def test_the_cgi_server_does_not_send_the_static_page(tmp_path: Path) -> None:
    """Cell 2: the static page is read by a function; the CGI servers run scripts only."""
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "index.html").write_text("<h1>Welcome!</h1>\n")
    app = gl.CGIApp(tmp_path)
    assert gl.call_wsgi(app, path="/static/index.html").status == 404
    assert "static" not in gl.call_wsgi(app, path="/").text
