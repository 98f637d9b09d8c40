"""Why a CGI script failed, in words a learner can act on.

Theory of operation: when a script cannot start or dies before answering,
the operating system's own message is short and puzzling ("Permission
denied", "No such file or directory" for a file that plainly exists, "Exec
format error"). Each function here looks at the evidence (the error from
``exec``, the script's first line, its exit code and stderr) and returns an
HTTP status and a sentence: what happened, then what to change.

Classic causes, in the order we test for them: the file is not executable
(``os.chmod(path, 0o755)``); the ``#!`` line names an interpreter that does
not exist, often because the file was saved with Windows line endings and
the system looks for ``python3\\r``; the ``#!`` line is not the first line
(an empty line, or a ``# %load`` comment, above it); there is no ``#!`` line
at all; the script raised an exception (its traceback's last line is quoted).
A path to ``chmod`` is given as a cell can use it (:func:`shown_path`:
relative to the kernel's working folder when the script is inside it).
"""

from __future__ import annotations

import errno
import os
import shlex
import signal

from gateway_lab import specs
from gateway_lab.cgi.process import ProcessOutcome

__all__ = [
    "RFC3875",
    "explain_crash",
    "explain_spawn_error",
    "read_shebang",
    "shown_path",
    "stderr_tail",
]

RFC3875 = specs.RFC3875
SHEBANG_EXAMPLE = "#!/usr/bin/env python3  (or #!/bin/sh for a shell script)"


def read_shebang(script: str) -> bytes | None:
    """The script's first line if it starts with ``#!`` (raw bytes), else None."""
    try:
        with open(script, "rb") as file:
            first = file.readline(256)
    except OSError:
        return None
    return first.rstrip(b"\n") if first.startswith(b"#!") else None


def _interpreter_problem(script: str) -> str | None:
    line = read_shebang(script)
    if line is None:
        return None
    name = os.path.basename(script)
    if line.endswith(b"\r"):
        return (
            f"The first line of {name}, {line.decode('latin-1')!r}, ends with a Windows "
            f"line ending (\\r\\n), so the system looks for an interpreter whose name "
            f"ends in '\\r', which does not exist. Save the file with Unix line endings "
            f"(\\n only)."
        )
    words = line[2:].decode("utf-8", "replace").split()
    if not words:
        return f"The first line of {name} is '#!' with no interpreter. Write {SHEBANG_EXAMPLE}."
    program = words[1] if os.path.basename(words[0]) == "env" and len(words) > 1 else words[0]
    return (
        f"The interpreter named on the first line of {name}, {program!r} (from "
        f"{line.decode('utf-8', 'replace')!r}), could not be found. Check the spelling, "
        f"or use {SHEBANG_EXAMPLE}."
    )


def explain_spawn_error(script: str, exc: OSError) -> tuple[int, str]:
    """The status and explanation for a script that could not be started."""
    name = os.path.basename(script)
    if exc.errno == errno.EACCES or not os.access(script, os.X_OK):
        return 500, (
            f"The script {name} is not executable, so it cannot be run as a program. "
            f"Make it executable with os.chmod({shown_path(script)!r}, 0o755) in a cell "
            f"(or `chmod +x {shlex.quote(os.path.abspath(script))}` in a terminal)."
        )
    if exc.errno == errno.ENOENT:
        problem = _interpreter_problem(script)
        if problem:
            return 500, problem
        return 500, f"The script {name} disappeared before it could be started."
    if exc.errno == errno.ENOEXEC:
        late = _late_shebang(script)
        if late is not None:
            return 500, (
                f"The '#!' line of {name} {late}: the system only reads the interpreter's "
                f"name when '#!' are the file's very first two characters. Remove what is "
                f"before it. In a %%writefile cell, #!/usr/bin/env python3 goes on the "
                f"line right after %%writefile, with no empty line between them."
            )
        return 500, (
            f"The system does not know how to run {name}: it has no '#!' first line "
            f"naming its interpreter. Add one as the very first line: {SHEBANG_EXAMPLE}."
        )
    return 500, f"The script {name} could not be started: {exc.strerror or exc}."


def _late_shebang(script: str) -> str | None:
    """Where a '#!' line that is not the file's first two characters is, in words, or None."""
    try:
        with open(script, "rb") as file:
            head = file.read(4096).split(b"\n")[:6]
    except OSError:
        return None
    if head[0][:1].isspace() and head[0].lstrip().startswith(b"#!"):
        return "starts with blank space"
    for number, line in enumerate(head[1:], start=2):
        if line.startswith(b"#!"):
            above = [part.strip() for part in head[: number - 1]]
            filled = [part for part in above if part]
            before = (
                repr(filled[0].decode("utf-8", "replace"))
                if filled
                else ("an empty line" if number == 2 else f"{number - 1} empty lines")
            )
            return f"is line {number}, with {before} above it"
    return None


def shown_path(path: str) -> str:
    """``path`` as a notebook cell can use it: relative to the working folder when inside it."""
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute)
    return absolute if relative.startswith(os.pardir) else relative


def stderr_tail(stderr: bytes, lines: int = 3) -> str:
    """The last few non-empty lines the script wrote to stderr."""
    text = stderr.decode("utf-8", "replace").strip().splitlines()
    return "\n".join(text[-lines:])


def explain_crash(script: str, outcome: ProcessOutcome, why_output_failed: str | None) -> str:
    """Explain a script that ended badly (non-zero exit, signal, traceback)."""
    name = os.path.basename(script)
    if outcome.signal is not None:
        try:
            signame = signal.Signals(outcome.signal).name
        except ValueError:
            signame = f"signal {outcome.signal}"
        ended = f"was killed by {signame}"
    else:
        ended = f"exited with code {outcome.returncode}"
    tail = stderr_tail(outcome.stderr)
    if b"Traceback (most recent call last)" in outcome.stderr:
        what = f"The script {name} raised an exception and {ended}. Its error:\n{tail}"
    elif outcome.returncode == 127 and (problem := _interpreter_problem(script)):
        what = f"The script {name} {ended}. {problem}"
        if tail:
            what += f"\nIts stderr said: {tail}"
    else:
        what = f"The script {name} {ended} before sending a complete response."
        if tail:
            what += f"\nIts stderr said: {tail}"
    if why_output_failed and outcome.stdout:
        what += f"\nWhat it printed was not a valid response: {why_output_failed.splitlines()[0]}"
    return what
