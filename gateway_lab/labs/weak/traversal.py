"""Path traversal: a static-file app that joins the decoded URL path to its folder.

Theory of operation: ``PATH_INFO`` arrives percent-decoded, so ``/../secret``
and ``/%2e%2e/secret`` both reach the app as a path that climbs out of the
folder. :func:`naive_static_app` joins it with ``os.path.join`` and serves
whatever file that names; :func:`safe_static_app` resolves the joined path
(``realpath`` follows ``..`` and symbolic links) and answers 403 unless it
is still inside the folder. Files are read up to ``MAX_BODY`` bytes.
"""

from __future__ import annotations

import os

from gateway_lab.labs.weak.rawserver import MAX_BODY
from gateway_lab.types import Environ, StartResponse, WSGIApp

__all__ = ["naive_static_app", "safe_static_app"]


def _send_file(path: str, start_response: StartResponse) -> list[bytes]:
    if not os.path.isfile(path):
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"Not found\n"]
    with open(path, "rb") as file:
        data = file.read(MAX_BODY)
    start_response(
        "200 OK",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))],
    )
    return [data]


def naive_static_app(folder: str | os.PathLike[str]) -> WSGIApp:
    """UNSAFE ON PURPOSE: a static-file app that joins the URL path to ``folder``.

    ``PATH_INFO`` is already percent-decoded, so both ``/../secret`` and
    ``/%2e%2e/secret`` become ``folder/../secret``: a file outside the folder.
    Fix: :func:`safe_static_app` resolves the path and checks it is still inside.
    """
    root = os.fspath(folder)

    def static(environ: Environ, start_response: StartResponse) -> list[bytes]:
        path = os.path.join(root, environ.get("PATH_INFO", "").lstrip("/"))  # <- the mistake
        return _send_file(path, start_response)

    return static


def safe_static_app(folder: str | os.PathLike[str]) -> WSGIApp:
    """The fix: resolve the path (``realpath`` follows ``..`` and symbolic links),
    then check with ``commonpath`` that it is still inside the folder; else 403."""
    root = os.path.realpath(folder)

    def static(environ: Environ, start_response: StartResponse) -> list[bytes]:
        wanted = os.path.realpath(os.path.join(root, environ.get("PATH_INFO", "").lstrip("/")))
        if "\x00" in wanted or os.path.commonpath([root, wanted]) != root:
            start_response("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"Forbidden: that path leads outside the served folder.\n"]
        return _send_file(wanted, start_response)

    return static
