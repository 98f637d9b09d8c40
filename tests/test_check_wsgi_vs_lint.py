"""The checker side by side with werkzeug's lint middleware, on the corpus of WSGI apps.

``werkzeug.middleware.lint.LintMiddleware`` wraps an app and warns (or raises)
when it breaks PEP 3333. It is an outside reference, like ``wsgiref.validate``
in tests/test_check_wsgi.py: each corpus app is run through it for a GET, a
HEAD and a POST, each by werkzeug's own test client, and what it says is
compared with ``gl.check_wsgi``:

* every wrong app gets its rule from the checker (tests/test_check_wsgi.py),
  including the ones lint lets through; those are listed here, so a lint
  that learns more, or a corpus app that changes, is noticed;
* no valid app gets an error from the checker, including the ones lint
  complains about; each of those complaints is lint's (or its test
  client's) blind spot, and says which.

The lists hold for the werkzeug that requirements.txt pins.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import pytest
from corpus import wsgi_valid, wsgi_wrong
from werkzeug.middleware.lint import LintMiddleware, WSGIWarning
from werkzeug.test import Client

import gateway_lab as gl

REQUESTS = (("GET", None), ("HEAD", None), ("POST", b"name=Ada&x=1"))

# Wrong apps whose mistake lint does not notice (the checker names each one).
LINT_MISSES = {
    "starts_twice",
    "status_beyond_latin1",
    "status_trailing_space",
    "status_with_crlf",
    "traps_the_reraise",
    "writes_from_the_iterable",
    "length_lies",
    "header_not_latin1",
    "header_name_space",
    "sets_connection",
    "sets_transfer_encoding",
    "no_content_type",
    "length_not_a_number",
    "two_content_types",
    "two_equal_lengths",
    "head_length_zero",
    "body_on_204",
    "body_on_head",
    "reads_too_much",
    "reads_a_block",
    "reads_until_empty",
    "hangs",
}

# Valid apps lint complains about, and why the complaint is not the app's mistake.
LINT_FALSE_ALARMS = {
    "hello": "lint counts the bytes of a HEAD response, which has no body, against its "
    "Content-Length",
    "skips_the_body_on_head": "the same: a HEAD answer's Content-Length is the GET body's",
    "exc_info_before_body": "werkzeug's test client re-raises every exc_info, where PEP "
    "3333 lets a server that has sent nothing yet replace the status and headers",
    "exc_info_first_call": "the same re-raise of exc_info by the test client",
    "error_after_body_lets_it_propagate": "the same re-raise of exc_info by the test client",
    "form_reader": "lint's input stream has no readlines(), which PEP 3333 lists among "
    "the methods of wsgi.input",
    "reads_lines_of_a_body_that_has_them": "lint warns on readline(size), which PEP 3333 "
    "asks servers to support (the checker gives the same warning, wsgi.readline-size)",
}


def lint_complaints(app: Any) -> list[str]:
    """What werkzeug's lint says about ``app`` over the three requests."""
    said: list[str] = []
    for method, body in REQUESTS:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                errors = io.StringIO()  # an app that closes wsgi.errors closes only this
                response = Client(LintMiddleware(app)).open(
                    "/", method=method, data=body, environ_overrides={"wsgi.errors": errors}
                )
                response.get_data()
                response.close()
            except Exception as exc:  # noqa: BLE001 - lint raises for some mistakes
                said.append(f"{method}: {type(exc).__name__}: {exc}")
            said += [
                f"{method}: {w.message}" for w in caught if issubclass(w.category, WSGIWarning)
            ]
    return said


def _name(app: Any) -> str:
    return str(getattr(app, "__name__", app))


# For a body that is not iterable, lint's iterator wrapper reports an "exception ignored" from
# its own __del__: werkzeug's report, not a failure of the test.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_wrong_apps_lint_misses_are_exactly_the_listed_ones() -> None:
    quick = [app for app in wsgi_wrong.APPS if _name(app) != "hangs"]  # lint would wait
    missed = {_name(app) for app in quick if not lint_complaints(app)} | {"hangs"}
    assert missed == LINT_MISSES
    for app in quick:
        if _name(app) in LINT_MISSES:
            report = gl.check_wsgi(app, timeout=app.check_timeout)
            assert app.expected_rule in report.rules(app.expected_severity), _name(app)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_valid_apps_lint_complains_about_get_no_error_from_the_checker() -> None:
    complained = {_name(app): lint_complaints(app) for app in wsgi_valid.APPS}
    alarms = {name for name, said in complained.items() if said}
    assert alarms == set(LINT_FALSE_ALARMS), {n: complained[n] for n in alarms}
    for app in wsgi_valid.APPS:
        if _name(app) in alarms:
            assert gl.check_wsgi(app).ok, _name(app)
    readline = gl.check_wsgi(wsgi_valid.reads_lines_of_a_body_that_has_them)
    assert "wsgi.readline-size" in readline.rules("warning")  # the one complaint we share
