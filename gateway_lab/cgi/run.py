"""One CGI exchange: meta-variables and body in, a judged response out.

Theory of operation: :func:`run_cgi` is the gateway's whole job for one
request, in four steps, each recorded on a :class:`~gateway_lab.events.flow.Flow`
with the lanes ``client``, ``gateway`` and ``script``:

1. build the meta-variables (``environ.cgi_variables``) and the child's whole
   environment (:func:`child_environment`: a safe ``PATH``, ``LANG`` and the
   meta-variables, never the kernel's own environment);
2. run the script (``cgi_process.run_process``): body on stdin, stdout and
   stderr collected under a deadline and a size cap;
3. judge what came back (:func:`_judge`): a launch failure, a timeout, too
   much output, a crash, unreadable output, or a valid response
   (``cgi_parse``; output whose body came before its headers is told about
   ``print()``'s buffering only when the script writes to ``sys.stdout.buffer``);
4. hand back a :class:`CGIResult`: the response plus the environment, the
   timings, the exit code, stderr, the flow, and ``problem``, which explains
   in plain words any answer the gateway had to make for the script.

Request headers are filtered before they become ``HTTP_*`` variables
(:func:`forwardable_headers`): ``Proxy`` never passes (httpoxy), and neither
does a name with ``_`` in it, which would be indistinguishable from its
``-`` spelling once upper-cased (``Content_Length`` would pose as
``CONTENT_LENGTH``).

Bytes, not text: a CGI server hands the script the request's own bytes (RFC 3875
leaves the encoding to the server; Apache passes the bytes through), so for
``/caf%C3%A9`` a Python script's ``os.environb`` holds ``b'/caf\\xc3\\xa9'`` and
its ``os.environ`` shows ``'/café'``. The meta-variables are built as PEP 3333
strings, one character per byte (latin-1): ``run_cgi`` first turns its
arguments into the bytes a client would send (text as UTF-8; header values are
latin-1, as on the wire), and :func:`child_environment` turns each value back
into those bytes for the child, never into the UTF-8 of its latin-1 spelling
(``'/cafÃ©'``).
"""

from __future__ import annotations

import html
import os
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import quote

from gateway_lab.cgi.explain import explain_crash, explain_spawn_error
from gateway_lab.cgi.parse import CGIOutputError, parse_cgi_output
from gateway_lab.cgi.process import ProcessOutcome, run_process
from gateway_lab.events.flow import Flow, keep_body
from gateway_lab.events.kinds import (
    ENVIRONMENT,
    EXIT,
    REQUEST,
    RESPONSE,
    SPAWN,
    STDERR,
    STDIN,
    STDOUT,
)
from gateway_lab.interface.environ import (
    REMOTE_ADDR,
    SERVER_NAME,
    SERVER_PORT,
    HeadersLike,
    cgi_variables,
    header_pairs,
)
from gateway_lab.interface.response import Response
from gateway_lab.platform import require_os

__all__ = ["SAFE_PATH", "CGIResult", "child_environment", "forwardable_headers", "run_cgi"]

SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
TRACEBACK_MARK = b"Traceback (most recent call last)"
# Printable ASCII stays as it is in a target; every other byte is percent-encoded.
_PRINTABLE = "".join(chr(code) for code in range(0x21, 0x7F))


@dataclass(repr=False)
class CGIResult(Response):
    """A CGI response, with everything that happened on the way."""

    environ: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    exit_code: int | None = None
    stderr: bytes = b""
    flow: Flow | None = None
    problem: str | None = None

    def __repr__(self) -> str:
        body = self.body if len(self.body) <= 60 else self.body[:57] + b"..."
        text = f"<CGIResult {self.status_line}, {len(self.headers)} headers, body={body!r}"
        if self.timings:
            text += f", {self.timings.get('total_ms', 0.0):.1f} ms"
        return text + (f"\n  problem: {self.problem}>" if self.problem else ">")

    def _repr_html_(self) -> str:
        timings = " &middot; ".join(
            f"{html.escape(name.removesuffix('_ms'))} {value:.1f} ms"
            for name, value in self.timings.items()
        )
        problem = (
            f"<pre style='color:#b00;white-space:pre-wrap'>{html.escape(self.problem)}</pre>"
            if self.problem
            else ""
        )
        stderr = (
            f"<details><summary>stderr ({len(self.stderr)} bytes)</summary><pre>"
            f"{html.escape(self.stderr.decode('utf-8', 'replace'))}</pre></details>"
            if self.stderr
            else ""
        )
        return (
            f"{problem}{super()._repr_html_()}<div><small>exit code {self.exit_code} "
            f"&middot; {timings}</small></div>{stderr}"
        )


@dataclass
class _Verdict:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    reason: str = ""
    problem: str | None = None


def _gateway_answer(status: int, problem: str) -> _Verdict:
    """The gateway answers for the script: a plain-text page saying why."""
    body = f"{status}: {problem}\n".encode("utf-8", "replace")
    return _Verdict(status, [("Content-Type", "text/plain; charset=utf-8")], body, problem=problem)


def child_environment(variables: dict[str, str]) -> dict[str, str]:
    """The whole environment a script gets: a safe PATH, LANG, the meta-variables.

    ``variables`` are PEP 3333 strings (one character per byte, latin-1), as
    ``cgi_variables`` builds them. Each value goes to the child as the bytes it
    stands for: the values here are those bytes through ``os.fsdecode``, which
    ``subprocess`` undoes exactly, so they are also what the script's
    ``os.environ`` shows (``'/café'`` for ``/caf%C3%A9``).
    """
    interpreter_dir = os.path.dirname(sys.executable)
    path = SAFE_PATH
    if interpreter_dir and interpreter_dir not in SAFE_PATH.split(":"):
        path = f"{interpreter_dir}:{SAFE_PATH}"
    meta = {key: _as_child_sees_it(value) for key, value in variables.items()}
    return {"PATH": path, "LANG": "C.UTF-8", **meta}


def _as_child_sees_it(value: str) -> str:
    """A latin-1 meta-variable as the child's os.environ shows its bytes."""
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:  # beyond latin-1: text that never was bytes; as UTF-8
        return value
    return os.fsdecode(raw)


def _latin1(text: str) -> str:
    """Text (a typed path, a file name) as its UTF-8 bytes, one character per byte."""
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


def _wire_target(path: str) -> str:
    """The target a client would send: text as UTF-8, the query one character per byte.

    The path part is percent-encoded beyond printable ASCII (``PATH_INFO`` is
    decoded from it, to the same bytes); the query keeps its bytes as they are.
    """
    raw = path.encode("utf-8", "surrogateescape")
    raw_path, mark, query = raw.partition(b"?")
    return quote(raw_path, safe=_PRINTABLE) + mark.decode() + query.decode("latin-1")


def forwardable_headers(headers: HeadersLike) -> list[tuple[str, str]]:
    """Request headers that may become meta-variables (see the module notes)."""
    kept = []
    for name, value in header_pairs(headers):
        lowered = name.strip().lower()
        if not lowered or lowered in ("proxy", "content-length") or "_" in lowered:
            continue
        kept.append((name.strip(), value))
    return kept


def _judge(script: str, outcome: ProcessOutcome, timeout: float, max_output: int) -> _Verdict:
    """What to answer, given what happened to the process."""
    name = os.path.basename(script)
    if outcome.spawn_error is not None:
        return _gateway_answer(*explain_spawn_error(script, outcome.spawn_error))
    if outcome.timed_out:
        return _gateway_answer(
            504,
            (
                f"The script {name} did not finish within {timeout:g} s, so the gateway "
                f"stopped it and everything it had started. Look for an endless loop, or a "
                f"read that waits for input that never comes (read exactly CONTENT_LENGTH "
                f"bytes from stdin, not until the end). A slow script can be given more "
                f"time with timeout=..."
            ),
        )
    if outcome.over_cap:
        return _gateway_answer(
            502,
            (
                f"The script {name} printed more than {max_output:,} bytes, the gateway's "
                f"limit, so it was stopped. Print less, or raise the limit with "
                f"max_output=..."
            ),
        )
    try:
        parsed, why = parse_cgi_output(outcome.stdout), None
    except CGIOutputError as exc:
        parsed, why = None, str(exc)
        if _writes_to_stdout_buffer(script):  # its output's order may be print()'s buffering
            try:
                parse_cgi_output(outcome.stdout, buffered=True)
            except CGIOutputError as told:
                why = str(told)
    crashed = outcome.returncode != 0 and (
        parsed is None or outcome.signal is not None or TRACEBACK_MARK in outcome.stderr
    )
    if crashed:
        return _gateway_answer(500, explain_crash(script, outcome, why))
    if parsed is None:
        return _gateway_answer(502, f"The script {name} did not send a valid CGI response. {why}")
    notes = "\n".join(parsed.notes) or None
    return _Verdict(parsed.status, parsed.headers, parsed.body, parsed.reason, notes)


def _writes_to_stdout_buffer(script: str) -> bool:
    """Does the script's text (its first megabyte) write to ``sys.stdout.buffer``?"""
    try:
        with open(script, "rb") as file:
            return b"stdout.buffer" in file.read(1_000_000)
    except OSError:
        return False


def run_cgi(
    script: str | os.PathLike[str],
    method: str = "GET",
    path: str = "/",
    headers: HeadersLike = None,
    body: bytes | str = b"",
    *,
    timeout: float = 5.0,
    max_output: int = 1_000_000,
    script_name: str | None = None,
    server_name: str = SERVER_NAME,
    server_port: int | str = SERVER_PORT,
    remote_addr: str = REMOTE_ADDR,
    protocol: str = "HTTP/1.1",
) -> CGIResult:
    """Run one CGI script for one request and return its response and story.

    ``path`` is the request target after the script's name (``/extra?x=1``):
    it becomes ``PATH_INFO`` and ``QUERY_STRING`` (``""`` or ``"?x=1"`` give an
    empty ``PATH_INFO``, as for ``/hello.py?x=1``). ``script_name`` defaults to
    ``/`` plus the script's file name. Non-ASCII text in ``path`` and
    ``script_name`` goes as UTF-8, as a browser sends it; header values are
    latin-1, as on the wire. The script gets those bytes (see the module notes),
    and ``environ`` is its environment as its ``os.environ`` shows it. A
    script's failure never raises: the result's ``status`` and ``problem`` tell
    it.
    """
    require_os("gl.run_cgi", "a new process for the script")
    started = time.perf_counter()
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    script_path = os.path.abspath(os.fspath(script))
    name = os.path.basename(script_path)
    forwarded = forwardable_headers(headers)
    variables = cgi_variables(
        method,
        _wire_target(path),
        forwarded,
        len(data) if data else None,
        script_name=_latin1(f"/{name}" if script_name is None else script_name),
        server_name=server_name,
        server_port=int(server_port) if str(server_port).isdigit() else SERVER_PORT,
        remote_addr=remote_addr,
        protocol=protocol,
    )
    if path.startswith("?") or not path:
        variables["PATH_INFO"] = ""  # "/hello.py?x=1": no extra path at all
    env = child_environment(variables)
    flow = Flow(f"CGI {method.upper()} {name}{path}", ["client", "gateway", "script"])
    flow.add(
        "client",
        "gateway",
        REQUEST,
        {
            "method": method.upper(),
            "path": path,
            "headers": forwarded,
            **keep_body(data),
            "summary": f"{method.upper()} {path}",
        },
    )

    def on_spawn(pid: int) -> None:
        flow.add(
            "gateway",
            "script",
            SPAWN,
            {"argv": [script_path], "pid": pid, "summary": f"pid {pid}"},
        )
        flow.add("gateway", "script", ENVIRONMENT, dict(env))
        flow.add("gateway", "script", STDIN, keep_body(data))

    outcome = ProcessOutcome([script_path])
    parse_ms = 0.0
    if not os.path.isfile(script_path):
        verdict = _gateway_answer(
            404,
            (
                f"There is no script file {os.fspath(script)!r} (looked for {script_path!r}). "
                f"Check the name and the folder."
            ),
        )
    else:
        outcome = run_process(
            [script_path],
            env,
            os.path.dirname(script_path),
            data,
            timeout=timeout,
            max_output=max_output,
            on_spawn=on_spawn,
        )
        if outcome.pid is not None:
            flow.add("script", "gateway", STDOUT, keep_body(outcome.stdout))
            flow.add("script", "gateway", STDERR, keep_body(outcome.stderr))
            flow.add(
                "script",
                "gateway",
                EXIT,
                {
                    "code": outcome.returncode,
                    "signal": outcome.signal,
                    "summary": f"code {outcome.returncode}",
                },
            )
        parse_started = time.perf_counter()
        verdict = _judge(script_path, outcome, timeout, max_output)
        parse_ms = (time.perf_counter() - parse_started) * 1000
    flow.add(
        "gateway",
        "client",
        RESPONSE,
        {
            "status": verdict.status,
            "headers": verdict.headers,
            **keep_body(verdict.body),
            "problem": verdict.problem,
            "summary": str(verdict.status),
        },
    )
    return CGIResult(
        verdict.status,
        verdict.headers,
        verdict.body,
        verdict.reason,
        environ=env,
        timings={
            "spawn_ms": outcome.spawn_ms,
            "run_ms": outcome.run_ms,
            "parse_ms": parse_ms,
            "total_ms": (time.perf_counter() - started) * 1000,
        },
        exit_code=outcome.returncode,
        stderr=outcome.stderr,
        flow=flow,
        problem=verdict.problem,
    )
