"""A folder of CGI scripts served as one WSGI app: one process per request.

Theory of operation: :class:`CGIApp` is the glue between a WSGI server and
:func:`~gateway_lab.cgi.run.run_cgi`. For each request it

1. splits ``PATH_INFO`` into the script's name and the rest
   (``/hello.py/extra`` -> ``hello.py`` and ``/extra``); an empty name gets
   the index page, a list of the scripts;
2. finds the script inside the folder, refusing anything that would leave
   it (:mod:`gateway_lab.cgi.paths`): 403, recorded on the server log; an
   unknown name gets a 404 page that lists the scripts there are;
3. reads the body from ``wsgi.input``, never more than ``CONTENT_LENGTH``
   (and at most ``max_input`` bytes: 413 beyond);
4. rebuilds the request headers from the ``HTTP_*`` keys and calls
   ``run_cgi`` with the server's own ``SERVER_NAME``, ``SERVER_PORT`` and
   ``REMOTE_ADDR``, so the script sees the request the server received (the
   environ's strings are PEP 3333 latin-1, so the path, the query and the
   script's name go back to their bytes first: the script gets the request's
   own bytes, and ``/caf%C3%A9.py`` finds the file ``café.py``);
5. sends the script's response, with ``Content-Length`` set from the body
   and hop-by-hop headers dropped (PEP 3333 leaves those to the server).

When the gateway answers for the script (5xx), the summary goes to
``log.error(..., where="cgi")``, which ``serve_cgi`` points at the server's
log, so ``srv.errors`` shows it; the page itself says the same in plain
words. The last :class:`~gateway_lab.cgi.run.CGIResult` is kept on
``last_result`` for a closer look (its ``flow``, ``environ``, ``timings``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from urllib.parse import quote

from gateway_lab import specs
from gateway_lab.cgi.pages import failure_page, index_page, not_found_page, refused_page
from gateway_lab.cgi.paths import (
    ScriptNotFoundError,
    ScriptOutsideFolderError,
    list_scripts,
    open_folder,
    resolve_script,
    split_script_path,
)
from gateway_lab.cgi.run import CGIResult, run_cgi
from gateway_lab.interface.response import reason_for
from gateway_lab.serving.log import ServerLog
from gateway_lab.types import Environ, StartResponse

__all__ = ["HOP_BY_HOP", "CGIApp"]

# What the gateway drops from a script's headers: the hop-by-hop ones (it frames the
# response itself) and Content-Length (the WSGI server beneath sets its own).
HOP_BY_HOP = specs.HOP_BY_HOP_HEADERS | {"content-length"}


class _BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class CGIApp:
    """Serve the executable scripts in ``directory`` as CGI, as a WSGI app."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        timeout: float = 5.0,
        max_output: int = 1_000_000,
        max_input: int = 10_000_000,
        log: ServerLog | None = None,
    ) -> None:
        self.directory = open_folder(directory)
        self.timeout = timeout
        self.max_output = max_output
        self.max_input = max_input
        self.log = log
        self.last_result: CGIResult | None = None

    def __repr__(self) -> str:
        return f"<CGIApp serving {self.directory!r}>"

    def scripts(self) -> list[str]:
        """The names of the files this app can run (or would, once executable)."""
        return [entry.name for entry in list_scripts(self.directory)]

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path_info = environ.get("PATH_INFO", "") or "/"
        query = environ.get("QUERY_STRING", "")
        label = f"{environ.get('REQUEST_METHOD', 'GET')} {_as_text(path_info)}"
        label += f"?{_as_text(query)}" if query else ""
        name, rest = split_script_path(path_info)
        name = _as_text(name)  # the file's name: the URL's bytes as UTF-8 text
        back = "../" * max(path_info.count("/") - 1, 0)  # relative links from here
        if not name:
            if rest:  # "//something": an empty script name with more after it
                return self._refuse(start_response, label, f"Refused {path_info!r}.")
            folder = os.path.basename(self.directory)
            page = index_page(folder, list_scripts(self.directory), back, self.directory)
            return self._send(start_response, 200, "text/html; charset=utf-8", page)
        try:
            script = resolve_script(self.directory, name)
        except ScriptOutsideFolderError as exc:
            return self._refuse(start_response, label, str(exc))
        except ScriptNotFoundError:
            page = not_found_page(name, list_scripts(self.directory), back, self.directory)
            return self._send(start_response, 404, "text/html; charset=utf-8", page)
        try:
            body = self._read_body(environ)
        except _BodyError as exc:
            self._record(str(exc), label)
            page = failure_page(f"{exc.status} {reason_for(exc.status)}", label, str(exc))
            return self._send(start_response, exc.status, "text/plain; charset=utf-8", page)
        target = quote(rest.encode("latin-1"), safe="/;=,:@!$&'()*+~") + (
            f"?{_as_text(query)}" if query else ""
        )
        result = run_cgi(
            script,
            environ.get("REQUEST_METHOD", "GET"),
            target,
            _request_headers(environ),
            body,
            timeout=self.timeout,
            max_output=self.max_output,
            script_name=_as_text(environ.get("SCRIPT_NAME", "")) + "/" + name,
            server_name=environ.get("SERVER_NAME", "127.0.0.1"),
            server_port=environ.get("SERVER_PORT", "80") or "80",
            remote_addr=environ.get("REMOTE_ADDR", "127.0.0.1"),
            protocol=environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
        )
        self.last_result = result
        if result.problem and result.status >= 500:
            self._record(result.problem, label)
            page = failure_page(result.status_line, label, result.problem)
            return self._send(start_response, result.status, "text/plain; charset=utf-8", page)
        if result.problem and self.log is not None:
            self.log.message(f"cgi: {label}: {result.problem}")
        headers = [(k, v) for k, v in result.headers if k.lower() not in HOP_BY_HOP]
        headers.append(("Content-Length", str(len(result.body))))
        start_response(f"{result.status} {result.reason or 'Unknown'}", headers)
        return [result.body]

    def _read_body(self, environ: Environ) -> bytes:
        raw = (environ.get("CONTENT_LENGTH") or "").strip()
        stream = environ.get("wsgi.input")
        if stream is None:
            return b""
        if not raw:
            if not environ.get("wsgi.input_terminated"):
                return b""
            wanted = self.max_input + 1  # chunked: read to the end, within the cap
        elif not raw.isdigit():
            raise _BodyError(400, f"The request's Content-Length {raw!r} is not a number.")
        else:
            wanted = int(raw)
            if wanted > self.max_input:
                raise _BodyError(
                    413,
                    (
                        f"The request body is {wanted:,} bytes; this CGI server accepts at "
                        f"most {self.max_input:,} (max_input=...)."
                    ),
                )
        chunks, got = [], 0
        while got < wanted:
            chunk = stream.read(min(wanted - got, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        if got > self.max_input:
            raise _BodyError(
                413,
                (
                    f"The request body is over {self.max_input:,} bytes, this CGI server's "
                    f"limit (max_input=...)."
                ),
            )
        return b"".join(chunks)

    def _refuse(self, start_response: StartResponse, label: str, why: str) -> list[bytes]:
        self._record(why, label)
        return self._send(start_response, 403, "text/html; charset=utf-8", refused_page(why))

    def _record(self, summary: str, label: str) -> None:
        if self.log is not None:
            self.log.error(summary, request=label, where="cgi")

    @staticmethod
    def _send(
        start_response: StartResponse, status: int, content_type: str, body: bytes
    ) -> list[bytes]:
        start_response(
            f"{status} {reason_for(status)}",
            [("Content-Type", content_type), ("Content-Length", str(len(body)))],
        )
        return [body]


def _as_text(value: str) -> str:
    """A PEP 3333 (latin-1) string as the UTF-8 text its bytes spell, losslessly.

    ``run_cgi`` takes text and sends it as UTF-8, so this round trip hands the
    script the very bytes of the request (bytes that are not UTF-8 included, as
    surrogate escapes). A string beyond latin-1 is text already.
    """
    try:
        return value.encode("latin-1").decode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value


def _request_headers(environ: Environ) -> list[tuple[str, str]]:
    """The request headers, rebuilt from the environ's HTTP_* keys."""
    headers: list[tuple[str, str]] = []
    for key, value in environ.items():
        if key.startswith("HTTP_") and key != "HTTP_PROXY" and isinstance(value, str):
            headers.append((key[5:].replace("_", "-").title(), value))
    if environ.get("CONTENT_TYPE"):
        headers.append(("Content-Type", environ["CONTENT_TYPE"]))
    return headers
