"""What a learner's CGI script shows of itself: how its source reads stdin, which
removed modules it imports, and its own line in a traceback.

Theory of operation: the exercise runs the script as a real process and
judges what comes back; these helpers read what that cannot show. The
script's source (its first :data:`MAX_SOURCE` bytes) says *how* it read stdin
(:func:`stdin_read_in`: to the end, or ``read(length - 1)``) and whether it
imports ``cgi`` or ``cgitb``, gone from Python 3.13 (:func:`old_modules`,
PEP 594); its stderr holds the traceback, of which :func:`learner_traceback`
keeps the script's own frame, not the last lines of a library's.
"""

from __future__ import annotations

import ast
import os
import re

from gateway_lab import specs
from gateway_lab.cgi.explain import stderr_tail
from gateway_lab.exercises.page import TAKE_FIRST

__all__ = [
    "MAX_SOURCE",
    "crash_advice",
    "learner_traceback",
    "old_modules",
    "read_source",
    "removed_modules_line",
    "stdin_read_in",
]

MAX_SOURCE = 1_000_000  # read at most this much of a script to look at its code

_READ_MINUS_ONE = re.compile(r"[\w.]*\.read\(\s*\w+\s*-\s*1\s*\)")
_READ_TO_END = re.compile(
    r"[\w.]*stdin(?:\.buffer)?\.(?:read\(\s*(?:-1\s*)?\)|readlines\(\s*\))"
    r"|for\s+\w+\s+in\s+sys\.stdin(?:\.buffer)?\b"
    r"|open\(\s*0\b[^)]*\)\.read\(\s*\)"
)


def stdin_read_in(source: str) -> tuple[str, str]:
    """How ``source`` reads stdin with no length: ``("length - 1" | "to the end" | "", code)``.

    >>> stdin_read_in("data = sys.stdin.read()")
    ('to the end', 'sys.stdin.read()')
    >>> stdin_read_in("body = sys.stdin.buffer.read(length - 1)")
    ('length - 1', 'sys.stdin.buffer.read(length - 1)')
    """
    for kind, pattern in (("length - 1", _READ_MINUS_ONE), ("to the end", _READ_TO_END)):
        found = pattern.search(source)
        if found:
            return kind, found.group(0)
    return "", ""


def read_source(script: str) -> str:
    """The script's text (its first MAX_SOURCE bytes), or "" if it cannot be read."""
    try:
        with open(script, "rb") as file:
            return file.read(MAX_SOURCE).decode("utf-8", "replace")
    except OSError:
        return ""


_REMOVED = ("cgi", "cgitb")  # PEP 594: deprecated in Python 3.11, removed in 3.13
_DEPRECATED = re.compile(rb"DeprecationWarning: '(cgi|cgitb)' is deprecated")
_GONE = re.compile(rb"No module named '(cgi|cgitb)'")


def old_modules(source: str) -> list[str]:
    """The modules removed in Python 3.13 (``cgi``, ``cgitb``) that ``source`` imports.

    >>> old_modules("import os, cgi\\nform = cgi.FieldStorage()")
    ['cgi']
    >>> old_modules("# no 'import cgi' here\\nfrom urllib.parse import parse_qs")
    []
    """
    found: set[str] = set()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):  # not Python (or not yet): a plain look at the lines
        found.update(re.findall(r"^\s*(?:import|from)\s+(cgitb|cgi)\b", source, re.MULTILINE))
    else:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.partition(".")[0])
    return [name for name in _REMOVED if name in found]


def removed_modules_line(script: str, stderrs: list[bytes]) -> tuple[str, str] | None:
    """A warning for a script that uses ``cgi`` or ``cgitb`` (None if it does not).

    Read from the script's source, or from the DeprecationWarning Python
    3.11 and 3.12 print on stderr. A script whose import already failed (a
    Python 3.13) gets no warning: its crash lines say it.
    """
    names = set(old_modules(read_source(script)))
    stderr = b"".join(stderrs)
    names.update(found.decode() for found in _DEPRECATED.findall(stderr))
    if not names or _GONE.search(stderr):
        return None
    used = [name for name in _REMOVED if name in names]
    modules = " and ".join(used) + (" modules are" if len(used) > 1 else " module is")
    what = []
    if "cgi" in used:
        what.append(
            "parse with urllib.parse.parse_qs, not cgi.FieldStorage(): "
            "parse_qs(os.environ.get('QUERY_STRING', '')) for a GET, "
            "parse_qs(sys.stdin.buffer.read(int(os.environ.get('CONTENT_LENGTH') or "
            "0)).decode('utf-8')) for a POST, then fields.get('name', [''])[0]"
        )
    if "cgitb" in used:
        what.append("drop cgitb.enable(): this check already shows a crash's traceback")
    return (
        "!",
        f"the {modules} gone from Python 3.13 (PEP 594: deprecated in 3.11, removed in "
        f"3.13): the script imports {' and '.join(used)}, which still works on the Python "
        f"that ran it here, but on 3.13 and later it stops at that import. What to "
        f"change: {'; '.join(what)}. See {specs.PEP594_CGI}",
    )


_FRAME = re.compile(r'^\s*File "([^"]+)", line \d+')


def learner_traceback(stderr: bytes, script: str) -> str | None:
    r"""The script's own frame of its traceback and the error, or None if there is none.

    Python's traceback ends in a library's frame when the error is raised
    there (``os.environ[...]``, ``html.escape(a_list)``): its last lines then
    never name the learner's line. This keeps the last frame that is in
    ``script`` (its ``File ..., line N`` line, shortened to the file's name,
    its code and its carets) and the error itself. A SyntaxError, which has
    no ``Traceback`` line, is kept the same way.

    >>> stderr = (b'Traceback (most recent call last):\n'
    ...           b'  File "/lab/my_form.py", line 9, in <module>\n    key = os.environ["KEY"]\n'
    ...           b'          ~~~~~~~~~~^^^^^^^\n'
    ...           b'  File "<frozen os>", line 679, in __getitem__\nKeyError: \'KEY\'\n')
    >>> print(learner_traceback(stderr, "/lab/my_form.py"))
      File "my_form.py", line 9, in <module>
        key = os.environ["KEY"]
              ~~~~~~~~~~^^^^^^^
    KeyError: 'KEY'
    """
    lines = stderr.decode("utf-8", "replace").rstrip().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent")]
    start = starts[-1] if starts else 0
    name = os.path.basename(script)
    frames = ((i, _FRAME.match(lines[i])) for i in range(start, len(lines)))
    mine = [(i, frame[1]) for i, frame in frames if frame and os.path.basename(frame[1]) == name]
    if not mine:
        return None
    first, path = mine[-1]
    kept = [lines[first].replace(f'"{path}"', f'"{name}"', 1)]
    after = first + 1
    while after < len(lines) and lines[after][:1].isspace() and not _FRAME.match(lines[after]):
        kept.append(lines[after])
        after += 1
    error = next((i for i in range(after, len(lines)) if lines[i][:1].strip()), None)
    if error is None:
        return None
    return "\n".join(kept + lines[error : error + 5])


# RFC 3875 on the two variables only a request with a body has, in its own words.
_UNSET = {
    "CONTENT_LENGTH": (
        f'RFC 3875 section 4.1.2 says "The server MUST set this meta-variable if and only '
        f'if the request is accompanied by a message-body entity" '
        f"({specs.rfc3875_section('4.1.2')})."
    ),
    "CONTENT_TYPE": (
        f'RFC 3875 section 4.1.3 sets it only "If the request includes a message-body" '
        f"({specs.rfc3875_section('4.1.3')})."
    ),
}
_READ_UNSET = {
    "CONTENT_LENGTH": "int(os.environ.get('CONTENT_LENGTH') or 0)",
    "CONTENT_TYPE": "os.environ.get('CONTENT_TYPE', '')",
}


def crash_advice(stderr: bytes, source: str) -> str:
    """What to change for a crash a learner of this lesson often meets ("" for others)."""
    error = stderr_tail(stderr, 1)
    if _GONE.search(stderr):
        return (
            "the cgi module is gone from Python 3.13 (PEP 594): parse with "
            "urllib.parse.parse_qs, parse_qs(os.environ.get('QUERY_STRING', '')) for a "
            "GET and parse_qs(sys.stdin.buffer.read(int(os.environ.get('CONTENT_LENGTH') "
            f"or 0)).decode('utf-8')) for a POST. See {specs.PEP594_CGI}"
        )
    unset = re.match(r"KeyError: '(CONTENT_LENGTH|CONTENT_TYPE)'", error)
    if unset:
        key = unset.group(1)
        return (
            f"a request with no body (a GET) has no {key} at all, so "
            f"os.environ[{key!r}] raises KeyError: {_UNSET[key]} Read it with "
            f"{_READ_UNSET[key]}, and read stdin only for a POST."
        )
    if "module 'cgi' has no attribute 'escape'" in error:
        return "cgi.escape is gone (since Python 3.8): escape with html.escape(name)."
    if "parse_qs" in source and re.match(r"(?:AttributeError|TypeError)\b.*\blist\b", error):
        return "the script used a list where it needs text: " + TAKE_FIRST
    return ""
