"""Which file a CGI URL names, and the rule that keeps it inside the folder.

Theory of operation: a CGI server turns part of a URL into a file to run, so
this is where an attacker aims: ``/../secret``, ``/%2e%2e/secret``,
``//etc/passwd``, or a symbolic link inside the folder that points outside
it. We never try to list every bad spelling. Instead we (1) refuse names that
are absolute or contain a ``..`` part or a NUL byte, with a clear message,
then (2) resolve the candidate with ``os.path.realpath`` (which follows every
symbolic link) and check with ``os.path.commonpath`` that the result is still
inside the folder's own real path. Step 2 alone is the guarantee; step 1 only
gives the better message.

URL layout (RFC 3875 section 4.1.5 and 4.1.13): the first path segment names
the script, the rest is extra path information for it::

    /hello.py/extra?x=1  ->  script "hello.py", SCRIPT_NAME "/hello.py",
                             PATH_INFO "/extra", QUERY_STRING "x=1"

Only scripts directly in the folder are served; sub-folders are not, and
neither are hidden files (a name starting with ``.``: settings, secrets).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from gateway_lab.errors import (
    CGIFolderError,
    ScriptNotFoundError,
    ScriptOutsideFolderError,
)

__all__ = [
    "CGIFolderError",
    "ScriptEntry",
    "ScriptNotFoundError",
    "ScriptOutsideFolderError",
    "list_scripts",
    "open_folder",
    "resolve_script",
    "split_script_path",
]


@dataclass(frozen=True)
class ScriptEntry:
    """A file in the folder, as the index page shows it."""

    name: str
    executable: bool


def open_folder(directory: str | os.PathLike[str]) -> str:
    """The folder's real path, or :class:`CGIFolderError` saying what to do."""
    path = os.fspath(directory)
    if not os.path.exists(path):
        raise CGIFolderError(
            f"There is no folder {path!r} (looked for {os.path.abspath(path)!r}). Create "
            f"it and put your CGI scripts in it, for example os.makedirs({path!r}, "
            f"exist_ok=True), or pass the folder where your scripts are."
        )
    if not os.path.isdir(path):
        raise CGIFolderError(
            f"{path!r} is a file, not a folder. serve_cgi serves a folder of scripts: "
            f"pass the folder that contains it, "
            f"{os.path.dirname(os.path.abspath(path))!r}."
        )
    return os.path.realpath(path)


def split_script_path(path_info: str) -> tuple[str, str]:
    """'/hello.py/extra' -> ('hello.py', '/extra'); '/' -> ('', '')."""
    trimmed = path_info[1:] if path_info.startswith("/") else path_info
    name, slash, rest = trimmed.partition("/")
    return name, (slash + rest if slash else "")


def resolve_script(folder: str, name: str) -> str:
    """The real path of script ``name`` inside ``folder``; refuses to leave it."""
    shown = name[:80]
    if "\x00" in name or os.path.isabs(name) or ".." in name.replace("\\", "/").split("/"):
        raise ScriptOutsideFolderError(
            f"Refused {shown!r}: a script name cannot be an absolute path or contain "
            f"'..'. Only scripts inside the served folder can run."
        )
    if name.startswith("."):  # a settings file or a secret, as in the listing: never run
        raise ScriptNotFoundError(
            f"There is no script called {shown!r}: a hidden file (its name starts with '.') "
            f"is never run or served."
        )
    root = os.path.realpath(folder)
    candidate = os.path.realpath(os.path.join(root, name))
    if candidate == root or os.path.commonpath([root, candidate]) != root:
        raise ScriptOutsideFolderError(
            f"Refused {shown!r}: it leads outside the served folder (a symbolic link "
            f"pointing elsewhere?). Only scripts inside the folder can run; copy the "
            f"script into the folder instead of linking to it."
        )
    if not os.path.isfile(candidate):
        raise ScriptNotFoundError(f"There is no script called {shown!r} in the folder.")
    return candidate


def list_scripts(folder: str) -> list[ScriptEntry]:
    """The files a learner can run: visible, regular, inside the folder."""
    entries = []
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    for name in names:
        if name.startswith(".") or name.startswith("__"):
            continue
        try:
            path = resolve_script(folder, name)
        except (ScriptOutsideFolderError, ScriptNotFoundError):
            continue
        entries.append(ScriptEntry(name, os.access(path, os.X_OK)))
    return entries
