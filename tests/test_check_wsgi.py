"""check_wsgi: the corpus of wrong and valid apps, side by side with wsgiref.validate."""

from __future__ import annotations

import io
import time
import warnings
from typing import Any
from wsgiref.validate import WSGIWarning, validator

import pytest
from corpus import wsgi_valid, wsgi_wrong
from werkzeug.wrappers import Request, Response

import gateway_lab as gl
from gateway_lab.check import DEFAULT_BATTERY, Probe
from gateway_lab.check.report import SEVERITIES
from gateway_lab.check.rules import RULES
from gateway_lab.events.flow import Event
from gateway_lab.interface.environ import make_environ
from gateway_lab.protocol.wsgi import SENTENCES


def _name(app: Any) -> str:
    return app.__name__


@pytest.mark.parametrize("app", wsgi_wrong.APPS, ids=_name)
def test_wrong_app_is_flagged_with_its_rule(app: Any) -> None:
    report = gl.check_wsgi(app, timeout=app.check_timeout)
    assert app.expected_rule in report.rules(app.expected_severity), str(report)
    # one mistake, one error: no cascade of other errors (a KeyError with no
    # fallback is both the exception and the missing variable that caused it)
    allowed = {app.expected_rule} | (
        {"app.raised"} if app.expected_rule == "wsgi.environ-key-missing" else set()
    )
    assert report.rules("error") <= allowed, str(report)
    if app.expected_severity == "error":
        assert not report.ok


@pytest.mark.parametrize("app", wsgi_valid.APPS, ids=_name)
def test_valid_app_gets_no_error(app: Any) -> None:
    report = gl.check_wsgi(app)
    assert report.ok, str(report)


_NEAR = [a for a in wsgi_valid.APPS if getattr(a, "near_miss_of", ())]


@pytest.mark.parametrize("app", _NEAR, ids=_name)
def test_near_miss_does_not_get_its_rule(app: Any) -> None:
    report = gl.check_wsgi(app)
    assert not report.rules() & set(app.near_miss_of), str(report)


def test_every_wsgi_rule_has_a_wrong_app_and_a_near_miss() -> None:
    """The corpus covers the rule table: each rule fires on one app and not on its near miss."""
    fired = {a.expected_rule for a in wsgi_wrong.APPS}
    near = {rule for a in _NEAR for rule in a.near_miss_of}
    # rules shown by dedicated tests below instead of a corpus app
    by_test = {
        "wsgi.start-response-args",
        # unreachable from an app: write exists only once start_response returned it
        "wsgi.write-before-start-response",
        "wsgi.write-after-close",
        "wsgi.exc-info-form",
        "wsgi.status-informational",
        "wsgi.write-used",
        "wsgi.body-before-start-response",
        "wsgi.no-start-response",
    }
    wsgi = {rule for rule in RULES if rule.startswith("wsgi.")}
    assert not wsgi - fired - by_test, sorted(wsgi - fired - by_test)
    assert not wsgi - near - {"wsgi.status-informational"}, sorted(wsgi - near)


def _wsgiref_complains(app: Any) -> bool:
    """Run ``app`` under wsgiref's validator with the default battery."""
    checked = validator(app)
    for probe in DEFAULT_BATTERY:
        environ = make_environ(probe.method, probe.target, probe.all_headers(), probe.body)
        environ["wsgi.errors"] = io.StringIO()

        def start_response(status: Any, headers: Any, exc_info: Any = None) -> Any:
            return lambda data: None

        result = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = checked(environ, start_response)
                for _ in result:
                    pass
            except Exception:
                return True
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    try:
                        close()
                    except Exception:
                        return True
        if any(issubclass(w.category, WSGIWarning) for w in caught):
            return True
    return False


# wsgiref's IteratorWrapper fails in __init__ for a non-iterable body, then again in
# __del__ (an "exception ignored" report that is wsgiref's, not ours).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("app", [a for a in wsgi_wrong.APPS if a.wsgiref_notices], ids=_name)
def test_wsgiref_validator_agrees_the_app_is_wrong(app: Any) -> None:
    assert _wsgiref_complains(app)


def test_wsgiref_validator_accepts_a_valid_app() -> None:
    assert not _wsgiref_complains(wsgi_valid.hello)  # the harness itself can pass


# -- frameworks -------------------------------------------------------------------------
@Request.application
def werkzeug_app(request: Request) -> Response:
    name = request.form.get("name") or request.args.get("name", "World")
    return Response(f"Hello, {name}! ({len(request.get_data())} bytes)")


def werkzeug_streaming(environ: Any, start_response: Any) -> Any:
    request = Request(environ)

    def generate() -> Any:
        yield "Hello, "
        yield request.form.get("name", "World")

    return Response(generate(), mimetype="text/plain")(environ, start_response)


@pytest.mark.parametrize("app", [werkzeug_app, werkzeug_streaming], ids=_name)
def test_werkzeug_apps_get_no_finding(app: Any) -> None:
    report = gl.check_wsgi(app)
    assert report.ok, str(report)
    assert report.rules("warning") == set()


def test_flask_app_gets_no_error() -> None:
    flask = pytest.importorskip("flask")
    app = flask.Flask("checked")

    @app.route("/", methods=["GET", "POST"])
    def index() -> Any:
        return {"name": flask.request.form.get("name", "nobody")}

    report = gl.check_wsgi(app)
    assert report.ok, str(report)
    assert report.responses[2] is not None and report.responses[2].json() == {"name": "Ada"}


# -- the report and its findings ----------------------------------------------------------
def test_finding_fields_say_what_where_and_why() -> None:
    report = gl.check_wsgi(wsgi_wrong.yields_str)
    (item,) = report.findings
    assert item.rule == "wsgi.body-not-bytes"
    assert "'Hello, '" in item.message and "bytes" in item.message
    assert ".encode('utf-8')" in item.hint
    assert item.spec.startswith("https://peps.python.org/pep-3333/")
    assert item.severity in SEVERITIES
    assert item.request == "GET /"
    assert item.also == ["HEAD /", "POST / (body in 3 chunks)"]
    assert item.events and all(isinstance(e, Event) for e in item.events)
    assert item.events[0].kind == "body"


def test_app_exception_is_explained_with_its_line() -> None:
    report = gl.check_wsgi(wsgi_wrong.raises)
    (item,) = report.findings
    assert item.rule == "app.raised"
    assert "ZeroDivisionError" in item.message
    assert "raises()" in item.message and "line" in item.message
    assert "1 / 0" in item.message


def test_input_finding_names_the_read() -> None:
    report = gl.check_wsgi(wsgi_wrong.reads_too_much)
    on_get, on_post = report.findings
    assert "has no body" in on_get.message and on_get.also == ["HEAD /"]
    assert "1048576 bytes (read(1048576)) when only 28 of the 28-byte body" in on_post.message
    assert on_post.events[0].kind == "read"


def test_content_length_finding_gives_both_numbers() -> None:
    report = gl.check_wsgi(wsgi_wrong.length_of_str)
    item = next(f for f in report.findings if f.rule == "wsgi.content-length-mismatch")
    assert "says 5 bytes but the app sent 7" in item.message


def test_flow_records_each_request() -> None:
    report = gl.check_wsgi(wsgi_valid.uses_write)
    kinds = [e.kind for e in report.flow if e.connection == 1]
    assert kinds == ["environ", "start_response", "write", "return", "body"]
    assert report.flow.connections() == [1, 2, 3]


def test_report_renders_as_text_and_html() -> None:
    report = gl.check_wsgi(wsgi_wrong.header_crlf)
    text = str(report)
    assert text.startswith("✗ check_wsgi(header_crlf)")
    assert "wsgi.header-crlf" in text and "What to change" in text
    page = report._repr_html_()
    assert "wsgi.header-crlf" in page and "<a href=" in page
    assert "\r\n" not in page
    good = gl.check_wsgi(wsgi_valid.hello)
    assert str(good).startswith("✓ check_wsgi(hello): looks right")


def test_report_html_escapes_the_app_text() -> None:
    def app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/html")])
        return ["<script>alert(1)</script>"]

    page = gl.check_wsgi(app)._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page


# -- never raises, never hangs ---------------------------------------------------------
@pytest.mark.parametrize("thing", [None, ..., "app", 42])
def test_not_an_app_is_a_finding_not_an_exception(thing: Any) -> None:
    report = gl.check_wsgi(thing)
    assert report.rules() == {"app.not-callable"}


def test_asgi_app_given_to_check_wsgi() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        pass

    report = gl.check_wsgi(app)
    assert report.rules() == {"app.wrong-kind"}
    assert "check_asgi" in report.findings[0].hint


def test_hanging_app_times_out_per_request() -> None:
    report = gl.check_wsgi(wsgi_wrong.hangs, timeout=0.2)
    item = next(f for f in report.findings if f.rule == "app.timeout")
    assert "0.2 s" in item.message
    assert len(report.flow.of_kind("timeout")) == 3


def test_system_exit_in_app_is_reported() -> None:
    def app(environ: Any, start_response: Any) -> Any:
        raise SystemExit(3)

    assert gl.check_wsgi(app).rules() == {"app.raised"}


def test_custom_requests() -> None:
    probe = Probe("PUT", "/items/1?x=1", (("Content-Type", "text/plain"),), (b"abc",))
    report = gl.check_wsgi(wsgi_valid.echo_with_length, [probe])
    assert report.requests == ["PUT /items/1?x=1 (3-byte body)"]
    assert report.responses[0].body == b"abc"


def test_endless_body_is_abandoned_at_the_timeout() -> None:
    produced = []

    def app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain")])
        while True:
            produced.append(1)
            yield b"x" * 1024

    report = gl.check_wsgi(app, [Probe()], timeout=0.2)
    assert report.rules() == {"app.timeout"}
    assert "body bytes so far" in report.findings[0].message
    time.sleep(0.05)
    count = len(produced)
    time.sleep(0.05)
    assert len(produced) == count  # the worker stopped iterating
    assert len(report.flow) <= 600  # and stopped recording long before


def test_write_after_the_body_was_closed() -> None:
    class Body:
        def __init__(self, write: Any) -> None:
            self.write = write

        def __iter__(self) -> Any:
            return iter([b"Hello"])

        def close(self) -> None:
            self.write(b"Goodbye")  # too late: the response is over

    def app(environ: Any, start_response: Any) -> Any:
        return Body(start_response("200 OK", [("Content-Type", "text/plain")]))

    report = gl.check_wsgi(app)
    assert "wsgi.write-after-close" in report.rules("error")
    assert report.responses[0].body == b"Hello"


def test_number_chunk_gets_a_number_hint():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [3]

    report = gl.check_wsgi(app)
    finding = next(f for f in report.findings if f.rule == "wsgi.body-not-bytes")
    assert "str(3).encode()" in finding.hint


# -- one wording for every server side -------------------------------------------------
def test_the_checker_and_call_wsgi_say_the_same_sentence():
    def twice(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"x"]

    found = next(f for f in gl.check_wsgi(twice).findings if f.rule == "wsgi.start-response-twice")
    with pytest.raises(gl.ProtocolError) as caught:
        gl.call_wsgi(twice)
    said = str(caught.value)
    assert said.startswith(found.message) and found.hint in said and found.spec in said


@pytest.mark.parametrize(
    "status, rule",
    [
        ("100 Continue", "wsgi.status-informational"),
        ("200 \u00d6k \u2603", "wsgi.status-not-latin1"),
    ],
)
def test_a_status_no_server_could_send_is_an_error(status, rule):
    def app(environ, start_response):
        start_response(status, [("Content-Type", "text/plain")])
        return [b"x"]

    assert gl.check_wsgi(app).rules("error") == {rule}
    with pytest.raises(gl.ProtocolError, match=SENTENCES[rule[5:]].hint[:20]):
        gl.call_wsgi(app)


def test_start_response_with_keywords_is_an_error() -> None:
    """PEP 3333: the application must invoke start_response using positional arguments."""

    def app(environ: Any, start_response: Any) -> Any:
        start_response(status="200 OK", headers=[("Content-Type", "text/plain")])
        return [b"Hello"]

    report = gl.check_wsgi(app)
    assert report.rules("error") == {"wsgi.start-response-args"}, str(report)
    (item,) = report.errors
    assert "keywords headers, status" in item.message and "positional" in item.message


def test_read_without_size_and_a_fixed_block_get_the_same_rule_and_severity() -> None:
    """read() and read(65536) both ask past CONTENT_LENGTH: one rule, one severity."""
    whole = gl.check_wsgi(wsgi_wrong.reads_without_size)
    block = gl.check_wsgi(wsgi_wrong.reads_a_block)
    (a,) = {f.severity for f in whole.findings if f.rule == "wsgi.input-past-content-length"}
    (b,) = {f.severity for f in block.findings if f.rule == "wsgi.input-past-content-length"}
    assert a == b == "warning"
    assert whole.findings[0].hint == block.findings[0].hint


def test_read_minus_one_is_a_read_to_the_end() -> None:
    """read(length - 1) with no CONTENT_LENGTH is read(-1): everything, past the body."""

    def app(environ: Any, start_response: Any) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        data = environ["wsgi.input"].read(length - 1)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [data]

    report = gl.check_wsgi(app)
    (item,) = [f for f in report.findings if f.rule == "wsgi.input-past-content-length"]
    assert "read(-1)" in item.message and "no body" in item.message


def test_a_small_body_on_head_gets_no_note() -> None:
    """Every server drops a HEAD body: a few bytes of it are no news to the learner."""
    assert gl.check_wsgi(wsgi_valid.hello).findings == []
    big = gl.check_wsgi(wsgi_wrong.body_on_head)
    assert big.rules() == {"wsgi.body-on-head"} and "100000" in big.findings[0].message


def test_exc_info_trapped_names_the_exception() -> None:
    report = gl.check_wsgi(wsgi_wrong.traps_the_reraise)
    (item,) = [f for f in report.findings if f.rule == "wsgi.exc-info-trapped"]
    assert "ValueError: the database went away" in item.message
    assert "propagate" in item.hint


# -- Flask apps: every common feature, no error and no warning ------------------------------
def _flask_features() -> Any:
    flask = pytest.importorskip("flask")
    app = flask.Flask("features")

    @app.route("/", methods=["GET", "POST", "HEAD"])
    def index() -> Any:
        if flask.request.method == "POST":
            return {
                "name": flask.request.form.get("name", ""),
                "size": flask.request.content_length,
            }
        return "<p>Hello</p>"

    @app.route("/old")
    def old() -> Any:
        return flask.redirect("/")

    @app.route("/stream")
    def stream() -> Any:
        return flask.Response((f"{n}\n" for n in range(3)), mimetype="text/plain")

    @app.route("/empty")
    def empty() -> Any:
        return "", 204

    @app.route("/cookie")
    def cookie() -> Any:
        response = flask.make_response("set")
        response.set_cookie("visits", "1")
        return response

    @app.route("/fails")
    def fails() -> Any:
        flask.abort(404)

    return app


def test_flask_features_get_no_error_and_no_warning() -> None:
    probes = [
        Probe("GET", "/"),
        Probe("HEAD", "/"),
        Probe(
            "POST", "/", (("Content-Type", "application/x-www-form-urlencoded"),), (b"name=Ada",)
        ),
        Probe("GET", "/old"),
        Probe("GET", "/stream"),
        Probe("GET", "/empty"),
        Probe("GET", "/cookie"),
        Probe("GET", "/fails"),
        Probe("GET", "/no-such-page"),
    ]
    report = gl.check_wsgi(_flask_features(), probes)
    assert report.ok and not report.warnings, str(report)
    assert [r.status for r in report.responses] == [200, 200, 200, 302, 200, 204, 200, 404, 404]


def test_a_missing_content_length_gets_a_fix_that_also_reads_an_empty_one() -> None:
    """PEP 3333: CONTENT_LENGTH "May be empty or absent"; environ.get(..., '0') fails on ''."""
    report = gl.check_wsgi(wsgi_wrong.needs_content_length)
    hints = [f.hint for f in report.findings if f.rule == "wsgi.environ-key-missing"]
    assert hints and all("int(environ.get('CONTENT_LENGTH') or 0)" in h for h in hints), hints
