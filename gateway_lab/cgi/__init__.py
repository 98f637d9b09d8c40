"""An RFC 3875 CGI gateway, written here (Python 3.13 removed the stdlib's).

Theory of operation: CGI is the oldest gateway interface and the plainest.
For every request the server starts a new process and talks to it through
what every program already has:

* **meta-variables** in its environment: ``REQUEST_METHOD``, ``PATH_INFO``,
  ``QUERY_STRING``, ``CONTENT_LENGTH``, ``HTTP_*`` for the request headers
  (RFC 3875 section 4.1);
* the request **body on stdin**, exactly ``CONTENT_LENGTH`` bytes;
* its response on **stdout**: header lines, an empty line, the body
  (section 6), with ``Status:`` and ``Location:`` telling the status.

The gateway is split by job, one small module each:

=====================  ===================================================
``run``                :func:`run_cgi`, one exchange, and :class:`CGIResult`
``process``            the child process: stdin/stdout/stderr at once, a
                       deadline, an output cap
``supervisor``         a per-request child subreaper that ends every
                       descendant of the script (Linux)
``launch``             ``Popen`` off the main thread, so that an interrupt
                       cannot land inside the fork
``parse``              the script's output -> status, headers, body
``explain``            why a script failed, in words a learner can act on
``paths``              URL -> script file, never outside the folder
``app``                :class:`CGIApp`, a folder of scripts as a WSGI app
``pages``              the index, 404, 403 and failure pages
=====================  ===================================================

Safety, because a CGI server runs programs chosen by a URL: no shell ever
(``argv`` is a list); only files inside the folder, after following symbolic
links; a ``Proxy`` request header never becomes ``HTTP_PROXY`` ("httpoxy");
the child's environment is the meta-variables plus ``PATH`` and ``LANG``,
never the kernel's own (which may hold tokens and passwords); every script
runs with a deadline (504) and an output cap (502), and nothing it starts
outlives its request or the kernel, even a process that leaves its group
with ``setsid`` or a double fork (on Linux; elsewhere the script's process
group is killed, which such a process escapes). ``PATH`` is
``/usr/local/bin:/usr/bin:/bin`` led by the folder of the Python running the
kernel, so that ``#!/usr/bin/env python3`` finds the course's Python.

>>> import gateway_lab as gl
>>> result = gl.run_cgi("cgi-bin/hello.py", path="/?name=Ada")  # doctest: +SKIP
>>> result.status, result.text                                  # doctest: +SKIP
(200, 'Hello, Ada!\\n')
>>> srv = gl.serve_cgi("cgi-bin")                               # doctest: +SKIP

See https://www.rfc-editor.org/rfc/rfc3875 for the whole interface.
"""

from __future__ import annotations

from gateway_lab.cgi.app import CGIApp
from gateway_lab.cgi.parse import CGIOutputError, parse_cgi_output
from gateway_lab.cgi.paths import CGIFolderError, ScriptNotFoundError, ScriptOutsideFolderError
from gateway_lab.cgi.run import CGIResult, child_environment, run_cgi

__all__ = [
    "CGIApp",
    "CGIFolderError",
    "CGIOutputError",
    "CGIResult",
    "ScriptNotFoundError",
    "ScriptOutsideFolderError",
    "child_environment",
    "parse_cgi_output",
    "run_cgi",
]
