"""The pages the CGI server writes itself: the index, 404, 403 and failures.

Theory of operation: a learner opens the server's link and should see what
they can run, not a bare error. The index lists the scripts as links (and
flags files that are not executable yet, with the ``os.chmod`` call that fixes
one, its path relative to the notebook's folder); a 404 shows the same list; a
gateway failure is plain text that says what went wrong and where the full
story is kept (``srv.errors``). Links are relative, so they keep working
behind a proxy that serves the app under a path prefix (JupyterHub, Binder).
"""

from __future__ import annotations

import html
import os

from gateway_lab.cgi.paths import ScriptEntry

__all__ = ["failure_page", "index_page", "not_found_page", "refused_page"]

_STYLE = "font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.4"


def _chmod_advice(folder: str, name: str) -> str:
    """How to make ``name`` executable, with a path a notebook cell can use as it is.

    The kernel's working folder is the notebook's, so a script inside it gets a
    path relative to it (``cgi-bin-lab/new.py``); a folder elsewhere is not
    shown (the page should not tell a visitor where files are): the advice
    then names the file in the folder served.
    """
    path = os.path.join(folder, name) if folder else name
    relative = os.path.relpath(os.path.abspath(path)) if folder else ""
    if relative and not relative.startswith(os.pardir):
        return f"os.chmod(&quot;{html.escape(relative)}&quot;, 0o755)</code>"
    return (
        f"os.chmod(path, 0o755)</code>, path being <code>{html.escape(name)}</code> in the "
        f"folder this server serves"
    )


def _listing(scripts: list[ScriptEntry], prefix: str, folder: str = "") -> str:
    if not scripts:
        return (
            "<p>The folder has no scripts yet. Write one (for example "
            "<code>hello.py</code>), make it executable with "
            "<code>os.chmod(path, 0o755)</code>, and reload this page.</p>"
        )
    items = []
    for entry in scripts:
        link = (
            f'<a href="{html.escape(prefix + entry.name, quote=True)}">'
            f"{html.escape(entry.name)}</a>"
        )
        if not entry.executable:
            link += (
                " <small>(not executable yet: run "
                f"<code>{_chmod_advice(folder, entry.name)})</small>"
            )
        items.append(f"<li>{link}</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _page(title: str, content: str) -> bytes:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title></head><body style='{_STYLE}'><h1>{html.escape(title)}</h1>{content}"
        f"</body></html>"
    ).encode("utf-8", "replace")  # a name from a URL that is not UTF-8: '?' for its bytes


def index_page(
    folder_name: str, scripts: list[ScriptEntry], prefix: str = "", folder: str = ""
) -> bytes:
    """The folder's scripts as links; ``folder``, its path, words the chmod advice."""
    return _page(
        f"CGI scripts in {folder_name}",
        "<p>Each link runs a script in its own process (RFC 3875). Add "
        "<code>?name=value</code> to a link to send a query string.</p>"
        + _listing(scripts, prefix, folder),
    )


def not_found_page(
    name: str, scripts: list[ScriptEntry], prefix: str = "", folder: str = ""
) -> bytes:
    return _page(
        "404 Not Found",
        f"<p>There is no script called <code>{html.escape(name)}</code> in this "
        "folder. These are the scripts you can run:</p>" + _listing(scripts, prefix, folder),
    )


def refused_page(explanation: str) -> bytes:
    return _page("403 Forbidden", f"<p>{html.escape(explanation)}</p>")


def failure_page(status_line: str, request: str, problem: str) -> bytes:
    return (
        f"{status_line}\n\nThe CGI gateway could not answer {request}:\n\n{problem}\n\n"
        f"This was recorded on the server: in the notebook, look at .errors on the handle "
        f"gl.serve_cgi returned (gl.servers() lists them by name).\n"
    ).encode("utf-8", "replace")
