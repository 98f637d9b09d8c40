"""Tests for the CGI gateway: gateway_lab.cgi and its cgi_* helper modules."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

import gateway_lab as gl
from gateway_lab.cgi import (
    CGIApp,
    CGIFolderError,
    CGIOutputError,
    ScriptNotFoundError,
    ScriptOutsideFolderError,
    child_environment,
    parse_cgi_output,
    run_cgi,
)
from gateway_lab.cgi import process as cgi_process
from gateway_lab.cgi.paths import list_scripts, resolve_script, split_script_path
from gateway_lab.errors import GatewayLabError
from gateway_lab.serving.log import ServerLog

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="CGI needs POSIX processes")

COURSE_SCRIPTS = Path(__file__).resolve().parent.parent / "notebooks" / "cgi-bin"
PY = "#!/usr/bin/env python3\n"
SH = "#!/bin/sh\n"
HEADERS = "print('Content-Type: text/plain')\nprint()\n"

ENV_DUMP = PY + "import json, os\n" + HEADERS + "print(json.dumps(dict(os.environ)))\n"

MakeScript = Callable[..., Path]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "cgi-bin"
    path.mkdir()
    return path


@pytest.fixture
def script(folder: Path) -> MakeScript:
    """Write an executable script into the folder and return its path."""

    def make(name: str, text: str | bytes, mode: int = 0o755) -> Path:
        path = folder / name
        if isinstance(text, str):
            path.write_text(text)
        else:
            path.write_bytes(text)
        os.chmod(path, mode)
        return path

    return make


def process_gone(pid: int, wait: float = 3.0) -> bool:
    """True once ``pid`` no longer runs (a zombie waiting for its parent counts as gone)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as file:
                state = file.read().rsplit(")", 1)[1].split()[0]
            if state in ("Z", "X"):
                return True
        except FileNotFoundError:
            return True
        except OSError:  # no /proc (macOS): ask the kernel
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
        time.sleep(0.02)
    return False


# -- parsing the script's output (no process) ---------------------------------------


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_parse_accepts_both_line_endings(newline: bytes) -> None:
    raw = newline.join([b"Content-Type: text/plain", b"X-Test:  yes ", b"", b"body\nmore"])
    parsed = parse_cgi_output(raw)
    assert (parsed.status, parsed.reason) == (200, "OK")
    assert parsed.headers == [("Content-Type", "text/plain"), ("X-Test", "yes")]
    assert parsed.body == b"body\nmore"
    assert parsed.notes == []


def test_parse_status_header_sets_status_and_is_not_forwarded() -> None:
    parsed = parse_cgi_output(b"Status: 404 Not Here\nContent-Type: text/plain\n\nnope")
    assert (parsed.status, parsed.reason) == (404, "Not Here")
    assert [name for name, _ in parsed.headers] == ["Content-Type"]


@pytest.mark.parametrize(
    ("raw", "status", "noted"),
    [
        (b"Location: https://example.org/\n\n", 302, False),
        (b"Location: /elsewhere\n\n", 302, True),
        (b"Status: 301 Moved Permanently\nLocation: /new\n\n", 301, False),
    ],
)
def test_parse_location_redirects(raw: bytes, status: int, noted: bool) -> None:
    parsed = parse_cgi_output(raw)
    assert parsed.status == status
    assert ("local redirect" in " ".join(parsed.notes)) is noted


@pytest.mark.parametrize(
    ("body", "guess"), [(b"<h1>Hi</h1>", "text/html"), (b"plain words", "text/plain")]
)
def test_parse_missing_content_type_is_fixed_and_explained(body: bytes, guess: str) -> None:
    parsed = parse_cgi_output(b"X-Other: 1\n\n" + body)
    assert ("Content-Type", f"{guess}; charset=utf-8") in parsed.headers
    assert "no Content-Type" in parsed.notes[0]


def test_parse_no_body_needs_no_content_type() -> None:
    parsed = parse_cgi_output(b"Status: 204 No Content\n\n")
    assert (parsed.status, parsed.headers, parsed.notes) == (204, [], [])


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"", "printed nothing"),
        (b"Content-Type: text/plain\n", "never end"),
        (b"Hello world\n", "Line 1"),
        (b"Content-Type: text/plain\nHello\n\n", "forget to print an empty line"),
        (b"\x89PNG\r\n\x1a\n\x00\x00junk", "is not a header"),
        (b"Bad Name: x\n\n", "header name"),
        (b"\xff\xfe: x\n\n", "header name"),
        (b"X-A: a\x00b\n\n", "control characters"),
        (b"HTTP/1.1 200 OK\nContent-Type: text/plain\n\nhi", "Status: 200 OK"),
        (b"\nHello", "starts with an empty line"),
        (b"X-A: 1\n  folded\n\n", "starts with a space"),
        (b"Status: OK\n\n", "three-digit"),
        (b"Status: 100 Continue\n\n", "three-digit"),
        (b"Status: 200 OK\nStatus: 404 No\n\n", "two Status"),
        (b"X-Long: " + b"a" * 70_000, "more than"),
        (b"<h1>Hi</h1>\nContent-Type: text/html\n\n", "printed b'<h1>Hi</h1>' before its headers"),
        (b"<p>Hi</p>Content-type: text/html\r\nX-A: 1\r\n\r\n", "file=sys.stderr"),
    ],
)
def test_parse_garbage_is_explained(raw: bytes, words: str) -> None:
    with pytest.raises(CGIOutputError) as caught:
        parse_cgi_output(raw)
    assert words in str(caught.value)


def test_parse_names_a_body_that_went_out_before_the_headers() -> None:
    """print() headers, sys.stdout.buffer.write() body: the body leaves first."""
    with pytest.raises(CGIOutputError) as caught:
        parse_cgi_output(b"<h1>Hello</h1>\n<p>x</p>\nContent-Type: text/html\n\n", buffered=True)
    message = str(caught.value)
    assert "b'Content-Type: text/html' on line 3" in message
    assert "sys.stdout.flush() before writing to sys.stdout.buffer" in message
    assert "or write everything one way" in message
    assert "The output must start with headers" not in message
    for other in (b"Hello\nLocation: Paris, in the text\nand more\n", b"Hello world\n"):
        with pytest.raises(CGIOutputError) as caught:
            parse_cgi_output(other)  # no header block further down: the usual message
        assert "The output must start with headers" in str(caught.value)


def test_parse_a_line_before_the_headers_is_not_told_about_buffering() -> None:
    """A debugging print() first: the buffer story only for a script that uses the buffer."""
    with pytest.raises(CGIOutputError) as caught:
        parse_cgi_output(b"name is Ada\nContent-Type: text/html\n\n<p>Hi</p>")
    message = str(caught.value)
    assert "the script printed b'name is Ada' before its headers" in message
    assert "sys.stdout.buffer" not in message and "file=sys.stderr" in message


def test_run_cgi_tells_the_buffer_story_only_to_a_script_that_uses_the_buffer(
    script: MakeScript,
) -> None:
    body_first = "import sys\nprint('Content-Type: text/plain')\nprint()\n"
    buffered = script("buffered.py", PY + body_first + "sys.stdout.buffer.write(b'Hi\\n')\n")
    printed = script("printed.py", PY + "print('debug')\n" + body_first + "print('Hi')\n")
    assert "sys.stdout.flush() before writing" in (run_cgi(buffered).problem or "")
    told = run_cgi(printed).problem or ""
    assert "printed b'debug' before its headers" in told and "flush" not in told


def test_parse_notes_a_status_with_no_reason_and_a_wrong_content_length() -> None:
    """RFC 3875 6.3.3 has SP reason-phrase; a wrong length breaks a pass-through server."""
    parsed = parse_cgi_output(b"Status: 200\nContent-Type: text/plain\n\nHi")
    assert (parsed.status, parsed.reason) == (200, "OK")
    assert any("no reason phrase" in note and "6.3.3" in note for note in parsed.notes)
    short = parse_cgi_output(b"Content-Type: text/plain\nContent-Length: 2\n\nHi!\n")
    assert any("'Content-Length: 2' but its body is 4 bytes" in note for note in short.notes)
    right = parse_cgi_output(b"Content-Type: text/plain\nContent-Length: 4\n\nHi!\n")
    assert right.notes == []


# -- run_cgi: the exchange -----------------------------------------------------------


def test_python_script_answers_with_environ_timings_and_flow(script: MakeScript) -> None:
    path = script(
        "hello.py",
        PY + "import os\nprint('Content-Type: text/plain')\nprint('X-Mine: 1')\nprint()\n"
        "print('hi', os.environ['QUERY_STRING'], os.environ['PATH_INFO'])\n",
    )
    result = run_cgi(path, path="/extra?x=1", headers={"Accept": "text/plain"})
    assert isinstance(result, gl.CGIResult) and isinstance(result, gl.Response)
    assert (result.status, result.text) == (200, "hi x=1 /extra\n")
    assert result.header("x-mine") == "1"
    assert result.problem is None and result.exit_code == 0
    assert result.environ["SCRIPT_NAME"] == "/hello.py"
    assert result.environ["HTTP_ACCEPT"] == "text/plain"
    assert set(result.timings) == {"spawn_ms", "run_ms", "parse_ms", "total_ms"}
    assert all(value >= 0 for value in result.timings.values())
    assert result.flow is not None
    kinds = [event.kind for event in result.flow]
    assert kinds == [
        "request",
        "spawn",
        "environment",
        "stdin",
        "stdout",
        "stderr",
        "exit",
        "response",
    ]
    assert result.flow.lanes == ["client", "gateway", "script"]
    spawn = result.flow.of_kind("spawn")[0]
    assert spawn.payload["argv"] == [str(path)] and spawn.payload["pid"] > 0
    assert result.flow.of_kind("environment")[0].payload == result.environ
    assert result.flow.of_kind("stdout")[0].payload["body"].startswith(b"Content-Type")
    assert result.flow.of_kind("exit")[0].payload["code"] == 0
    assert result.flow.of_kind("response")[0].payload["status"] == 200
    page = result._repr_html_()
    assert "200 OK" in page and "X-Mine" in page and "spawn" in page and "run" in page


def test_shell_script_works_too(script: MakeScript) -> None:
    path = script(
        "hello.sh",
        SH + "printf 'Content-Type: text/plain\\r\\n\\r\\n'\n"
        'printf "%s|%s|%s" "$REQUEST_METHOD" "$PATH_INFO" "$QUERY_STRING"\n',
    )
    result = run_cgi(path, "DELETE", "/a%20b?q=%20")
    assert (result.status, result.text) == (200, "DELETE|/a b|q=%20")


def test_empty_path_gives_empty_path_info(script: MakeScript) -> None:
    result = run_cgi(
        script("e.sh", SH + "printf 'Content-Type: text/plain\\n\\n[%s]' \"$PATH_INFO\"\n"),
        path="?x=1",
    )
    assert result.text == "[]"
    assert result.environ["QUERY_STRING"] == "x=1"


def test_body_arrives_on_stdin_with_content_length(script: MakeScript) -> None:
    path = script(
        "echo.py",
        PY + "import os, sys\n" + HEADERS + "n = int(os.environ['CONTENT_LENGTH'])\n"
        "print(os.environ['CONTENT_TYPE'], sys.stdin.buffer.read(n).decode())\n",
    )
    result = run_cgi(
        path,
        "POST",
        "/",
        {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": "999"},
        b"name=Ada",
    )
    assert result.text == "application/x-www-form-urlencoded name=Ada\n"
    assert result.environ["CONTENT_LENGTH"] == "8"  # the body sent, not the header's claim


def test_child_gets_exactly_the_minimal_environment(
    script: MakeScript, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GL_TEST_SECRET_TOKEN", "s3cret-value")
    monkeypatch.delenv("HTTP_PROXY", raising=False)
    monkeypatch.delenv("http_proxy", raising=False)
    result = run_cgi(script("env.py", ENV_DUMP), headers={"Proxy": "http://evil.example:1"})
    seen = json.loads(result.body)
    assert seen == result.environ  # the record is exactly what the child got
    assert "GL_TEST_SECRET_TOKEN" not in seen and "s3cret-value" not in result.text
    assert "HTTP_PROXY" not in seen and "evil.example" not in result.text
    assert seen["PATH"].endswith("/usr/local/bin:/usr/bin:/bin")
    assert seen["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert set(seen) - {"PATH", "LANG"} == set(gl.cgi_variables("GET", "/", script_name="/x"))


def test_underscore_headers_cannot_pose_as_meta_variables(script: MakeScript) -> None:
    result = run_cgi(
        script("env.py", ENV_DUMP),
        "POST",
        "/",
        [("Content_Length", "5"), ("X_Forwarded_For", "1.2.3.4"), ("X-Real", "ok")],
        b"ab",
    )
    seen = json.loads(result.body)
    assert seen["CONTENT_LENGTH"] == "2"
    assert "HTTP_X_FORWARDED_FOR" not in seen and seen["HTTP_X_REAL"] == "ok"


def test_no_shell_ever(script: MakeScript, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[object, dict[str, object]]] = []
    real_popen = subprocess.Popen

    def spying_popen(args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        calls.append((args, kwargs))
        return real_popen(args, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(cgi_process.subprocess, "Popen", spying_popen)
    path = script("odd name; touch pwned.txt.py", ENV_DUMP)
    result = run_cgi(path, path="/?$(touch pwned2.txt)", headers={"X-Cmd": "`touch pwned3`"})
    assert result.status == 200
    assert json.loads(result.body)["HTTP_X_CMD"] == "`touch pwned3`"
    assert not list(folder.glob("pwned*"))
    ((args, kwargs),) = calls
    assert args == [str(path)] and kwargs["shell"] is False
    assert kwargs["start_new_session"] is True


def test_timeout_answers_504_and_kills_the_grandchild(script: MakeScript, folder: Path) -> None:
    path = script("slow.sh", SH + "sleep 30 &\necho $! > grandchild.pid\nsleep 30\n")
    result = run_cgi(path, timeout=0.5)
    assert result.status == 504
    assert "did not finish within 0.5 s" in (result.problem or "")
    assert result.exit_code is not None and result.exit_code < 0  # killed by a signal
    assert result.flow is not None and result.flow.of_kind("exit")[0].payload["signal"] == 9
    grandchild = int((folder / "grandchild.pid").read_text())
    assert process_gone(grandchild)


def test_background_child_left_running_is_stopped_when_script_exits(
    script: MakeScript, folder: Path
) -> None:
    path = script(
        "leaves.sh",
        SH + "sleep 30 &\necho $! > left.pid\nprintf 'Content-Type: text/plain\\n\\ndone'\n",
    )
    result = run_cgi(path, timeout=3.0)
    assert (result.status, result.text) == (200, "done")  # not a 504 after 3 s
    assert process_gone(int((folder / "left.pid").read_text()))


def test_output_over_the_cap_answers_502_and_stops_the_script(script: MakeScript) -> None:
    path = script(
        "flood.py",
        PY + "import sys\n" + HEADERS + "while True:\n    sys.stdout.write('x' * 65536)\n",
    )
    result = run_cgi(path, max_output=100_000, timeout=5.0)
    assert result.status == 502
    assert "more than 100,000 bytes" in (result.problem or "")
    assert result.exit_code is not None and result.exit_code < 0


def test_large_body_and_large_output_at_once_do_not_deadlock(script: MakeScript) -> None:
    path = script(
        "both.py",
        PY + "import sys\n" + HEADERS + "sys.stdout.write('y' * 300_000)\nsys.stdout.flush()\n"
        "data = sys.stdin.buffer.read()\nprint()\nprint(len(data))\n",
    )
    body = b"z" * 2_000_000
    result = run_cgi(path, "POST", "/", body=body, timeout=10.0)
    assert result.status == 200
    assert result.body.endswith(b"\n2000000\n")
    assert len(result.body) > 300_000


def test_stderr_is_kept_but_capped(script: MakeScript) -> None:
    path = script(
        "noisy.py",
        PY + "import sys\nsys.stderr.write('e' * 200_000)\n" + HEADERS + "print('ok')\n",
    )
    result = run_cgi(path)
    assert (result.status, result.text) == (200, "ok\n")
    assert 0 < len(result.stderr) <= cgi_process.STDERR_CAP
    assert result.flow is not None
    assert result.flow.of_kind("stderr")[0].payload["size"] == len(result.stderr)


@pytest.mark.parametrize(
    ("output", "words"),
    [
        (b"no headers here", "is not a header"),
        (b"Content-Type: text/plain", "never end"),
        (b"\x00\x01\x02\xff binary\n\n", "header"),
    ],
)
def test_garbage_output_answers_502_with_an_explanation(
    script: MakeScript, output: bytes, words: str
) -> None:
    path = script("junk.py", PY + f"import sys\nsys.stdout.buffer.write({output!r})\n")
    result = run_cgi(path)
    assert result.status == 502
    assert "did not send a valid CGI response" in (result.problem or "")
    assert words in (result.problem or "")
    assert result.header("content-type", "").startswith("text/plain")
    assert words.encode() in result.body


def test_missing_content_type_is_served_and_explained(script: MakeScript) -> None:
    result = run_cgi(script("lazy.sh", SH + "printf 'X-A: 1\\n\\n<p>hi</p>'\n"))
    assert result.status == 200
    assert result.header("Content-Type") == "text/html; charset=utf-8"
    assert "no Content-Type" in (result.problem or "")


def test_script_redirect(script: MakeScript) -> None:
    result = run_cgi(script("go.sh", SH + "printf 'Location: http://127.0.0.1/x\\n\\n'\n"))
    assert (result.status, result.header("Location")) == (302, "http://127.0.0.1/x")


def test_not_executable_answers_500_and_says_chmod(script: MakeScript) -> None:
    path = script("plain.py", PY + HEADERS, mode=0o644)
    result = run_cgi(path)
    assert result.status == 500
    assert "not executable" in (result.problem or "")
    assert "os.chmod(" in (result.problem or "") and "0o755" in (result.problem or "")
    assert result.flow is not None and not result.flow.of_kind("spawn")
    # a terminal's working folder is not the script's: the shell command gets its full path
    assert f"`chmod +x {path}` in a terminal" in (result.problem or "")


def test_not_executable_gives_a_path_relative_to_the_working_folder(
    script: MakeScript, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A notebook's cell runs in the notebook's folder: the path must work from there."""
    path = script("plain.py", PY + HEADERS, mode=0o644)
    monkeypatch.chdir(folder.parent)
    problem = run_cgi(path).problem or ""
    assert "os.chmod('cgi-bin/plain.py', 0o755)" in problem, problem
    index = gl.call_wsgi(CGIApp(folder), "GET", "/")
    assert "os.chmod(&quot;cgi-bin/plain.py&quot;, 0o755)" in index.text, index.text


def test_a_shebang_below_an_empty_line_is_named(script: MakeScript) -> None:
    path = script("late.py", "\n" + PY + HEADERS)
    problem = run_cgi(path).problem or ""
    assert "is line 2, with an empty line above it" in problem, problem
    assert "no '#!' first line" not in problem


@pytest.mark.parametrize(
    ("first_line", "words"),
    [
        (b"#!/no/such/python9\n", "'/no/such/python9'"),
        (b"#!/usr/bin/env no-such-python9\n", "'no-such-python9'"),
        (b"#!/usr/bin/env python3\r\n", "Windows line ending"),
        (b"#!/bin/sh\r\n", "Windows line ending"),
        (b"", "no '#!' first line"),
    ],
)
def test_missing_interpreter_answers_500_with_the_reason(
    script: MakeScript, first_line: bytes, words: str
) -> None:
    path = script("bad.py", first_line + b"print('Content-Type: text/plain')\r\nprint()\r\n")
    result = run_cgi(path)
    assert result.status == 500
    assert words in (result.problem or "")


def test_python_crash_answers_500_with_the_error(script: MakeScript) -> None:
    path = script("crash.py", PY + "x = 1\nraise ValueError('boom happened')\n")
    result = run_cgi(path)
    assert result.status == 500
    assert result.exit_code == 1
    assert "raised an exception" in (result.problem or "")
    assert "ValueError: boom happened" in (result.problem or "")
    assert b"Traceback" in result.stderr


def test_crash_after_valid_headers_is_still_a_500(script: MakeScript) -> None:
    path = script("half.py", PY + HEADERS + "print('partial')\nraise KeyError('k')\n")
    result = run_cgi(path)
    assert result.status == 500 and "KeyError" in (result.problem or "")


def test_shell_crash_with_no_output_answers_500(script: MakeScript) -> None:
    result = run_cgi(script("die.sh", SH + "echo 'cannot go on' >&2\nexit 3\n"))
    assert result.status == 500 and result.exit_code == 3
    assert "exited with code 3" in (result.problem or "")
    assert "cannot go on" in (result.problem or "")


def test_nonzero_exit_after_a_valid_response_is_passed_on(script: MakeScript) -> None:
    result = run_cgi(script("ok3.sh", SH + "printf 'Content-Type: text/plain\\n\\nfine'\nexit 3\n"))
    assert (result.status, result.text, result.exit_code) == (200, "fine", 3)
    assert result.problem is None


def test_missing_script_answers_404(folder: Path) -> None:
    result = run_cgi(folder / "nope.py")
    assert result.status == 404 and "no script file" in (result.problem or "")
    assert result.exit_code is None


# -- which file a URL names -----------------------------------------------------------


def test_split_script_path() -> None:
    assert split_script_path("/hello.py/extra/x") == ("hello.py", "/extra/x")
    assert split_script_path("/hello.py") == ("hello.py", "")
    assert split_script_path("/hello.py/") == ("hello.py", "/")
    assert split_script_path("/") == ("", "")


@pytest.mark.parametrize("name", ["..", "../secret.py", "/etc/passwd", "a\x00b", "sub/../../x"])
def test_resolve_refuses_names_that_leave_the_folder(folder: Path, name: str) -> None:
    with pytest.raises(ScriptOutsideFolderError) as caught:
        resolve_script(str(folder), name)
    assert isinstance(caught.value, GatewayLabError) and "Refused" in str(caught.value)


def test_resolve_refuses_a_symlink_that_escapes(folder: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.sh"
    outside.write_text(SH + "echo LEAKED\n")
    os.chmod(outside, 0o755)
    (folder / "innocent.sh").symlink_to(outside)
    with pytest.raises(ScriptOutsideFolderError, match="outside the served folder"):
        resolve_script(str(folder), "innocent.sh")
    assert "innocent.sh" not in [entry.name for entry in list_scripts(str(folder))]


def test_resolve_follows_a_symlink_that_stays_inside(script: MakeScript, folder: Path) -> None:
    target = script("real.sh", SH)
    (folder / "alias.sh").symlink_to(target)
    assert resolve_script(str(folder), "alias.sh") == os.path.realpath(target)
    with pytest.raises(ScriptNotFoundError):
        resolve_script(str(folder), "missing.sh")


def test_cgiapp_validates_its_folder(tmp_path: Path) -> None:
    with pytest.raises(CGIFolderError) as caught:
        CGIApp(tmp_path / "no-such-folder")
    assert isinstance(caught.value, GatewayLabError)
    assert "no-such-folder" in str(caught.value) and "os.makedirs" in str(caught.value)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(CGIFolderError, match="not a folder"):
        CGIApp(a_file)


# -- CGIApp as a WSGI app (no socket) -------------------------------------------------


def test_cgiapp_index_and_friendly_404(script: MakeScript, folder: Path) -> None:
    script("hello.py", PY + HEADERS)
    script("todo.py", PY + HEADERS, mode=0o644)
    script(".hidden.sh", SH)
    app = CGIApp(folder)
    index = gl.call_wsgi(app, "GET", "/")
    assert index.status == 200 and index.header("content-type").startswith("text/html")
    assert 'href="hello.py"' in index.text and "todo.py" in index.text
    assert "os.chmod" in index.text and ".hidden" not in index.text
    hidden = gl.call_wsgi(app, "GET", "/.hidden.sh")  # executable, but hidden: never run
    assert hidden.status == 404
    (folder / ".settings.json").write_text("{}")
    secret = gl.call_wsgi(app, "GET", "/.settings.json")  # a secret beside the scripts
    assert secret.status == 404 and str(folder) not in secret.text  # no path, no chmod advice
    missing = gl.call_wsgi(app, "GET", "/nope.py/more")
    assert missing.status == 404
    assert 'href="../hello.py"' in missing.text and "nope.py" in missing.text
    assert app.scripts() == ["hello.py", "todo.py"]


def test_cgiapp_splits_script_name_and_path_info(script: MakeScript, folder: Path) -> None:
    script("env.py", ENV_DUMP)
    app = CGIApp(folder)
    seen = gl.call_wsgi(
        app,
        "GET",
        "/env.py/extra%2Fx%25?x=1",
        SERVER_NAME="lab.test",
        SERVER_PORT="8123",
        REMOTE_ADDR="10.1.2.3",
    ).json()
    assert seen["SCRIPT_NAME"] == "/env.py"
    assert seen["PATH_INFO"] == "/extra/x%"
    assert seen["QUERY_STRING"] == "x=1"
    assert (seen["SERVER_NAME"], seen["SERVER_PORT"], seen["REMOTE_ADDR"]) == (
        "lab.test",
        "8123",
        "10.1.2.3",
    )
    bare = gl.call_wsgi(app, "GET", "/env.py").json()
    assert bare["PATH_INFO"] == ""
    assert app.last_result is not None and app.last_result.environ == bare


def test_cgiapp_reads_the_body_bounded_by_content_length(script: MakeScript, folder: Path) -> None:
    script("len.py", PY + "import sys\n" + HEADERS + "print(len(sys.stdin.buffer.read()))\n")
    app = CGIApp(folder, max_input=10)
    ok = gl.call_wsgi(app, "POST", "/len.py", {"Content-Type": "text/plain"}, b"12345")
    assert ok.text == "5\n"
    log = ServerLog("t")
    app.log = log
    big = gl.call_wsgi(app, "POST", "/len.py", {"Content-Type": "text/plain"}, b"x" * 11)
    assert big.status == 413 and "at most 10" in big.text
    assert log.errors and log.errors[-1].where == "cgi"


def test_cgiapp_logs_failures_and_explains_them(script: MakeScript, folder: Path) -> None:
    script("crash.py", PY + "raise RuntimeError('kaput')\n")
    log = ServerLog("t")
    app = CGIApp(folder, log=log)
    answer = gl.call_wsgi(app, "GET", "/crash.py?a=1")
    assert answer.status == 500
    assert "RuntimeError: kaput" in answer.text and ".errors on the handle" in answer.text
    (error,) = log.errors
    assert error.where == "cgi" and error.request == "GET /crash.py?a=1"
    assert "RuntimeError: kaput" in error.summary


@pytest.mark.parametrize("path", ["/../secret.sh", "/..", "//secret.sh"])
def test_cgiapp_refuses_traversal(folder: Path, tmp_path: Path, path: str) -> None:
    outside = tmp_path / "secret.sh"
    outside.write_text(SH + "printf 'Content-Type: text/plain\\n\\nLEAKED'\n")
    os.chmod(outside, 0o755)
    log = ServerLog("t")
    answer = gl.call_wsgi(CGIApp(folder, log=log), "GET", path)
    assert answer.status in (403, 404)
    assert "LEAKED" not in answer.text
    if answer.status == 403:
        assert log.errors and log.errors[-1].where == "cgi"


def test_cgiapp_drops_hop_by_hop_headers(script: MakeScript, folder: Path) -> None:
    script(
        "hop.sh",
        SH + "printf 'Content-Type: text/plain\\nConnection: close\\n"
        "Content-Length: 99\\n\\nabc'\n",
    )
    answer = gl.call_wsgi(CGIApp(folder), "GET", "/hop.sh")
    assert answer.status == 200 and answer.text == "abc"
    assert answer.header("Connection") is None and answer.header("Content-Length") == "3"


# -- the course's own scripts, served over a real socket ------------------------------


def test_cgiapp_is_exported() -> None:
    assert gl.CGIApp is CGIApp and gl.run_cgi is run_cgi
    assert "CGIApp" in gl.__all__


def test_course_scripts_are_executable() -> None:
    for name in ("hello.py", "hello.sh", "env.py", "form.py"):
        path = COURSE_SCRIPTS / name
        assert path.is_file() and os.access(path, os.X_OK), name


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[gl.Server, Path]]:
    folder = tmp_path / "course-cgi"
    shutil.copytree(COURSE_SCRIPTS, folder)
    slow = folder / "slow.sh"
    slow.write_text(SH + "sleep 30\n")
    os.chmod(slow, 0o755)
    secret = tmp_path / "secret.sh"
    secret.write_text(SH + "printf 'Content-Type: text/plain\\n\\nLEAKED'\n")
    os.chmod(secret, 0o755)
    srv = gl.serve_cgi(folder, name="test-cgi-e2e", timeout=1.5)
    try:
        yield srv, folder
    finally:
        srv.stop()


def _raw_get(port: int, target: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_serve_cgi_end_to_end(served: tuple[gl.Server, Path]) -> None:
    srv, _ = served
    with httpx.Client(base_url=srv.url, timeout=5) as client:
        index = client.get("/")
        assert index.status_code == 200 and "hello.py" in index.text
        hello = client.get("/hello.py", params={"name": "Ada"})
        assert hello.status_code == 200 and "Hello, Ada!" in hello.text
        shell = client.get("/hello.sh/some/where?x=1")
        assert "Hello from a shell script!" in shell.text and "/some/where" in shell.text
        posted = client.post("/form.py", data={"name": "Grace"})
        assert "Hello, Grace! (sent with POST)" in posted.text
        chunked = client.post(
            "/form.py",
            content=iter([b"name=Chu", b"nked"]),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert "Hello, Chunked! (sent with POST)" in chunked.text
        got = client.get("/form.py", params={"name": "Linus"})
        assert "Hello, Linus! (sent with GET)" in got.text
        env = client.get("/env.py", headers={"Proxy": "http://evil.example"})
        assert f"SERVER_PORT={srv.port}\n" in env.text and "REMOTE_ADDR=127.0.0.1" in env.text
        assert "HTTP_PROXY" not in env.text
        missing = client.get("/nope.py")
        assert missing.status_code == 404 and "hello.sh" in missing.text
        assert srv.errors == []

        for target in (b"/../secret.sh", b"/%2e%2e/secret.sh", b"/..%2fsecret.sh"):
            raw = _raw_get(srv.port, target)
            assert raw.split(b" ", 2)[1] in (b"403", b"404", b"400"), raw[:80]
            assert b"LEAKED" not in raw
        assert client.get("/hello.py").status_code == 200  # still serving

        slow = client.get("/slow.sh")
        assert slow.status_code == 504 and "did not finish" in slow.text
        assert client.get("/hello.sh").status_code == 200  # still serving
    assert any("did not finish" in e.summary and e.where == "cgi" for e in srv.errors)
    assert any(e.request.startswith("GET /..") for e in srv.errors)


# -- non-ASCII requests: the script gets the request's own bytes ----------------------

BYTES_KEYS = ("PATH_INFO", "QUERY_STRING", "SCRIPT_NAME", "HTTP_X_NAME")
BYTES_DUMP = (
    PY
    + "import json, os\n"
    + HEADERS
    + f"keys = {BYTES_KEYS!r}\n"
    + "print(json.dumps({'text': {k: os.environ.get(k, '') for k in keys},\n"
    + "    'bytes': {k: os.environb.get(k.encode(), b'').decode('latin-1') for k in keys}}))\n"
)


def _as_bytes(seen: dict[str, dict[str, str]]) -> dict[str, bytes]:
    return {key: value.encode("latin-1") for key, value in seen["bytes"].items()}


def test_run_cgi_passes_a_non_ascii_path_as_its_bytes(script: MakeScript) -> None:
    dump = script("bytes.py", BYTES_DUMP)
    # a header value as on the wire (and in a WSGI environ): one character per byte
    result = run_cgi(dump, path="/caf%C3%A9?q=caf%C3%A9", headers={"X-Name": "caf\xc3\xa9"})
    seen = result.json()
    assert seen["text"]["PATH_INFO"] == "/café", "not the UTF-8 of '/cafÃ©'"
    assert _as_bytes(seen)["PATH_INFO"] == b"/caf\xc3\xa9"
    assert seen["text"]["QUERY_STRING"] == "q=caf%C3%A9"
    assert seen["text"]["HTTP_X_NAME"] == "café"
    assert _as_bytes(seen)["HTTP_X_NAME"] == b"caf\xc3\xa9"
    assert result.environ["PATH_INFO"] == "/café"  # the environment as the script sees it
    # text typed into the target goes as UTF-8, as a browser sends it
    typed = run_cgi(dump, path="/café?name=Zoë", script_name="/café.py").json()
    assert typed["text"]["PATH_INFO"] == "/café" and typed["text"]["QUERY_STRING"] == "name=Zoë"
    assert _as_bytes(typed)["SCRIPT_NAME"] == "/café.py".encode()
    # bytes that are not UTF-8 arrive as they are, as a CGI server passes them
    latin = run_cgi(dump, path="/caf%E9", headers={"X-Name": "caf\xe9"}).json()
    assert _as_bytes(latin)["PATH_INFO"] == b"/caf\xe9"
    assert _as_bytes(latin)["HTTP_X_NAME"] == b"caf\xe9"


def test_child_environment_turns_latin1_strings_back_into_bytes() -> None:
    env = child_environment({"PATH_INFO": "/caf\xc3\xa9", "HTTP_X": "日本", "QUERY_STRING": ""})
    assert env["PATH_INFO"] == "/café" and os.fsencode(env["PATH_INFO"]) == b"/caf\xc3\xa9"
    assert env["HTTP_X"] == "日本"  # beyond latin-1: text, sent as UTF-8
    assert env["QUERY_STRING"] == "" and env["LANG"] == "C.UTF-8"


def test_cgiapp_hands_the_script_the_bytes_behind_the_wsgi_strings(
    script: MakeScript, folder: Path
) -> None:
    script("bytes.py", BYTES_DUMP)
    script("café.py", BYTES_DUMP)
    app = CGIApp(folder)
    # call_wsgi builds a PEP 3333 environ: the query's UTF-8 bytes, one character each
    seen = gl.call_wsgi(app, "GET", "/bytes.py/caf%C3%A9?q=caf\xc3\xa9").json()
    assert seen["text"]["PATH_INFO"] == "/café"
    assert _as_bytes(seen)["QUERY_STRING"] == b"q=caf\xc3\xa9"
    named = gl.call_wsgi(app, "GET", "/caf%C3%A9.py/x", {"X-Name": "caf\xc3\xa9"})
    assert named.status == 200, named.text  # /caf%C3%A9.py runs the file café.py
    assert named.json()["text"]["SCRIPT_NAME"] == "/café.py"
    assert named.json()["text"]["HTTP_X_NAME"] == "café"
    missing = gl.call_wsgi(app, "GET", "/th%C3%A9.py")
    assert missing.status == 404 and "thé.py" in missing.text
    odd = gl.call_wsgi(app, "GET", "/th%E9.py")  # not UTF-8: still a readable 404 page
    assert odd.status == 404 and "th?.py" in odd.text


def test_serve_cgi_passes_a_non_ascii_path_as_its_bytes(folder: Path, script: MakeScript) -> None:
    script("bytes.py", BYTES_DUMP)
    script("café.py", BYTES_DUMP)
    srv = gl.serve_cgi(folder, name="test-cgi-bytes")
    try:
        assert srv.url.startswith("http://127.0.0.1:")
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
            sock.sendall(
                b"GET /bytes.py/caf%C3%A9?q=caf%C3%A9 HTTP/1.1\r\nHost: x\r\n"
                b"X-Name: caf\xc3\xa9\r\nConnection: close\r\n\r\n"
            )
            raw = b"".join(iter(lambda: sock.recv(65536), b""))
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), raw[:200]
        seen = json.loads(body)
        assert seen["text"]["PATH_INFO"] == "/café"
        assert _as_bytes(seen)["PATH_INFO"] == b"/caf\xc3\xa9"
        assert seen["text"]["QUERY_STRING"] == "q=caf%C3%A9"
        assert seen["text"]["HTTP_X_NAME"] == "café"
        named = httpx.get(srv.url + "caf%C3%A9.py/caf%C3%A9", timeout=5)
        assert named.status_code == 200, named.text
        assert named.json()["text"]["SCRIPT_NAME"] == "/café.py"
        assert named.json()["text"]["PATH_INFO"] == "/café"
        assert srv.errors == []
    finally:
        srv.stop()
