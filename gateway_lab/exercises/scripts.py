"""A CGI answer as a runnable script: a path checked, or source text written to a file.

Theory of operation: a learner answers a CGI exercise with the script's path
or with its whole source text. :func:`prepare_script` turns either into a
:data:`Prepared` triple: the path of an executable script, the temporary
folder to remove afterwards (only for source text), and, when the answer
cannot run yet, the one sentence that says what to do next instead (still
``None``, empty, a missing file, a folder, a ``#!`` line that is not the
very first two characters). It never raises on an unfinished answer.

>>> prepare_script(None)[2].startswith("The answer is still empty.")
True
>>> path, folder, unfinished = prepare_script("#!/usr/bin/env python3\\nprint('Status: 204')\\n")
>>> os.access(path, os.X_OK), unfinished
(True, '')
>>> import shutil; shutil.rmtree(folder)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["EMPTY_SCRIPT", "SOURCE_NAME", "Prepared", "prepare_script", "script_from_source"]

SOURCE_NAME = "form_answer.py"

# A prepared answer: (script path, temporary folder to remove, unfinished message).
Prepared = tuple[str | None, str | None, str]

EMPTY_SCRIPT = (
    "The script is empty. Start with the #! line, then print the headers, an empty line "
    "and the body."
)


def _not_ready(message: str) -> Prepared:
    return None, None, message


def prepare_script(answer: object) -> Prepared:
    """A runnable script path for ``answer``, or the sentence saying what is missing."""
    if answer is None or answer is Ellipsis:
        return _not_ready(
            "The answer is still empty. Write your script (its source text, or save it "
            "to a file and pass the file's path), then run this check again."
        )
    if isinstance(answer, bytes):
        answer = answer.decode("utf-8", "replace")
    if isinstance(answer, str) and ("\n" in answer or answer.lstrip().startswith("#!")):
        return script_from_source(answer)
    if isinstance(answer, str) and not answer.strip():
        return _not_ready(EMPTY_SCRIPT)
    if not isinstance(answer, (str, os.PathLike)):
        return _not_ready(
            f"This check takes your script's path (a str such as 'cgi-bin-lab/form.py') "
            f"or its source text, not a {type(answer).__name__}."
        )
    path = os.path.abspath(os.fspath(answer))
    if not os.path.exists(path):
        return _not_ready(
            f"There is no file {os.fspath(answer)!r} (looked for {path!r}). Save your "
            f"script first (run its cell), or pass its source text instead."
        )
    if os.path.isdir(path):
        return _not_ready(f"{os.fspath(answer)!r} is a folder; pass the script file inside it.")
    if not Path(path).read_bytes().strip():
        return _not_ready(
            f"The script {os.path.basename(path)} is empty. Write it, save it, then run "
            f"this check again."
        )
    return path, None, ""


def script_from_source(source: str) -> Prepared:
    """Write source text to a temporary executable script."""
    if not source.strip():
        return _not_ready(EMPTY_SCRIPT)
    if not source.startswith("#!") and source.lstrip().startswith("#!"):
        return _not_ready(
            "The script's text starts with blank space before its '#!' line, so the "
            "system would not know which program runs it: '#!' must be the very first "
            "two characters. With a triple-quoted string, put #!/usr/bin/env python3 "
            "on the same line as the opening quotes."
        )
    folder = tempfile.mkdtemp(prefix="cgi-check-")
    path = os.path.join(folder, SOURCE_NAME)
    with open(path, "wb") as file:
        file.write(source.encode("utf-8"))
    os.chmod(path, 0o755)
    return path, folder, ""
