"""gateway_lab.views.inspector and .keys: environs and scopes, grouped and explained."""

from __future__ import annotations

import re

import pytest

import gateway_lab as gl
from gateway_lab.events.flow import Flow
from gateway_lab.views.inspector import (
    diff_html,
    environ_html,
    find_request,
    path_story_html,
    scope_html,
)
from gateway_lab.views.keys import (
    CGI,
    EXTRAS,
    HEADERS,
    WSGI,
    explain_environ_key,
    explain_scope_key,
)


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hi"]


def test_keys_are_grouped_and_linked_to_their_spec_section():
    assert explain_environ_key("PATH_INFO").group == CGI
    assert explain_environ_key("PATH_INFO").link.endswith("rfc3875#section-4.1.5")
    assert explain_environ_key("QUERY_STRING").link.endswith("#section-4.1.7")
    header = explain_environ_key("HTTP_USER_AGENT")
    assert header.group == HEADERS and "User-Agent" in header.text
    assert explain_environ_key("wsgi.input").group == WSGI
    assert "pep-3333" in explain_environ_key("wsgi.input").link
    assert explain_environ_key("werkzeug.request").group == EXTRAS
    assert "www.html" in explain_scope_key("raw_path").link
    assert explain_scope_key("uvicorn.something").group == "server extras"


def test_environ_table_shows_groups_keys_explanations_and_links():
    environ = gl.make_environ("POST", "/a?x=1", {"User-Agent": "lab"}, b"hi")
    environ["werkzeug.extra"] = object()
    page = environ_html(environ)
    for group in (CGI, HEADERS, WSGI, EXTRAS):
        assert group in page
    assert "HTTP_USER_AGENT" in page and "lab" in page
    assert "https://www.rfc-editor.org/rfc/rfc3875#section-4.1.12" in page
    assert "x=1" in page
    assert "non-ASCII" not in page  # no story for an ASCII path
    assert page.index(CGI) < page.index(HEADERS) < page.index(WSGI) < page.index(EXTRAS)


def test_values_are_escaped():
    environ = gl.make_environ("GET", "/", {"X-Evil": "<script>alert(1)</script>"})
    page = environ_html(environ)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_non_ascii_path_in_an_environ_tells_the_latin1_story():
    recorded, flow = gl.record_wsgi(hello)
    gl.call_wsgi(recorded, path="/caf%C3%A9")
    page = gl.environ_html(flow)
    assert "/caf\u00c3\u00a9" in page  # what PATH_INFO holds
    assert "&#x27;/café&#x27;" in page  # what the learner meant
    assert "encode('latin-1').decode('utf-8')" in page


def test_scope_table_keeps_bytes_as_bytes():
    scope = gl.make_http_scope("GET", "/caf%C3%A9?q=1", {"Accept": "text/plain"})
    page = scope_html(scope)
    assert "b&#x27;/caf%C3%A9&#x27;" in page  # raw_path
    assert "b&#x27;q=1&#x27;" in page
    assert "(b&#x27;accept&#x27;, b&#x27;text/plain&#x27;)" in page
    assert "already UTF-8 text" in page  # the story, from the scope side
    assert "ASGI scope (http)" in page


def test_path_story_is_computed_not_written_down():
    page = path_story_html("/naïve/日本")
    assert "b&#x27;/na%C3%AFve/%E6%97%A5%E6%9C%AC&#x27;" in page
    assert repr("/naïve/日本".encode().decode("latin-1")).replace("'", "&#x27;") in page
    assert "One path, three dialects" in page


def test_find_request_accepts_mappings_events_flows_and_cgi_flows():
    environ = gl.make_environ()
    assert find_request(environ)[0] == "environ"
    assert find_request(gl.make_http_scope())[0] == "scope"
    cgi = Flow("cgi", ["client", "gateway", "script"])
    cgi.add("client", "gateway", "request", {"summary": "GET /"})
    cgi.add("gateway", "script", "environment", {"environ": {"REQUEST_METHOD": "GET"}})
    assert find_request(cgi) == ("environ", {"REQUEST_METHOD": "GET"})
    with pytest.raises(ValueError, match="no environ"):
        find_request(Flow("empty"))
    with pytest.raises(TypeError, match="WSGI environ, an ASGI scope"):
        find_request(42)


def test_diff_puts_differences_first_and_folds_the_rest():
    a = gl.make_environ("GET", "/one", {"Accept": "text/html"})
    b = gl.make_environ("POST", "/one", {"Cookie": "id=1"}, b"x")
    page = diff_html(a, b, ("first", "second"))
    changed, _, folded = page.partition("keys are the same")
    assert "REQUEST_METHOD" in changed and "HTTP_ACCEPT" in changed and "HTTP_COOKIE" in changed
    assert "only in first" in changed and "only in second" in changed and "changed" in changed
    assert "PATH_INFO" in folded  # equal: folded away
    assert "wsgi.input" in folded  # streams compare by kind, not identity
    assert "first" in changed and "second" in changed
    assert "No differences" in diff_html(a, a)


def test_diff_status_words_use_the_labels():
    a = gl.make_environ("GET", "/", {"Accept": "text/html"})
    b = gl.make_environ("GET", "/", {"Cookie": "id=1"})
    page = diff_html(a, b, ("tiny", "mini"))
    assert "only in tiny" in page and "only in mini" in page
    assert "only in A" not in page and "only in B" not in page
    accept_row = page[page.index("HTTP_ACCEPT") :].split("</tr>")[0]
    cookie_row = page[page.index("HTTP_COOKIE") :].split("</tr>")[0]
    assert "only in tiny" in accept_row and "only in mini" in cookie_row
    default = diff_html(a, b)
    assert "only in request A" in default and "only in request B" in default
    assert "only in &lt;b&gt;" in diff_html(a, b, ("<b>", "mini"))  # labels are escaped


def test_a_real_cgi_run_is_inspected_and_drawn(tmp_path):
    import sys

    script = tmp_path / "hello.py"
    script.write_text(
        f"#!{sys.executable}\n"
        "import os\n"
        "print('Content-Type: text/plain')\n"
        "print()\n"
        "print('hello', os.environ.get('PATH_INFO'))\n"
    )
    script.chmod(0o755)
    result = gl.run_cgi(script, path="/extra", headers={"Accept": "text/plain"})
    page = gl.environ_html(result.flow)
    assert "GATEWAY_INTERFACE" in page and "HTTP_ACCEPT" in page
    assert "CGI environment" in page and "WSGI environ" not in page
    assert "/extra" in page
    drawing = gl.flow_html(result.flow)
    for label in ("request GET /extra", "spawn pid", "environment", "stdin", "stdout", "exit"):
        assert label in drawing


def _hrefs(page: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', page)


def test_every_key_links_to_a_section_of_its_spec_not_a_whole_page():
    environ = gl.make_environ("POST", "/a", {"User-Agent": "lab"}, b"hi")
    environ["werkzeug.extra"] = 1
    scope = gl.make_http_scope("GET", "/caf%C3%A9", {"Accept": "text/plain"})
    websocket = {**scope, "type": "websocket", "subprotocols": [], "uvicorn.x": 1}
    for page in (environ_html(environ), scope_html(scope), scope_html(websocket)):
        hrefs = _hrefs(page)
        assert hrefs
        assert all("#" in href and not href.endswith("#") for href in hrefs), hrefs
    assert explain_scope_key("method").link.endswith("www.html#http-connection-scope")
    assert explain_scope_key("path", "websocket").link.endswith("#websocket-connection-scope")
    assert explain_scope_key("type", "lifespan").link.endswith("lifespan.html#scope")
    assert explain_scope_key("state").link.endswith("lifespan.html#lifespan-state")
    assert explain_scope_key("asgi").link.endswith("main.html#applications")
    assert explain_scope_key("uvicorn.x").link.endswith("main.html#extensions")
    assert explain_environ_key("wsgi.input").link.endswith("pep-3333/#input-and-error-streams")
    assert explain_environ_key("wsgi.file_wrapper").link.endswith(
        "#optional-platform-specific-file-handling"
    )
    assert explain_environ_key("wsgi.url_scheme").link.endswith("pep-3333/#environ-variables")
    assert "#websocket-connection-scope" in scope_html(websocket)  # the page follows the type


def test_links_look_like_links_in_html_and_in_the_widget():
    page = environ_html(gl.make_environ())
    anchors = re.findall(r"<a [^>]*>", page)
    assert anchors
    for anchor in anchors:
        assert "text-decoration:underline" in anchor and "color:#" in anchor
    view = gl.show_environ(gl.make_environ())
    try:
        assert "text-decoration:underline" in view.picture.value
    finally:
        view.close()


def test_the_notes_spec_link_stands_on_its_own_line():
    pages = (
        scope_html(gl.make_http_scope("GET", "/caf%C3%A9")),
        environ_html(gl.make_environ("GET", "/caf%C3%A9")),
        path_story_html("/café"),
    )
    for page in pages:
        spec_links = [
            page[max(0, m.start() - 12) : m.start()]
            for m in re.finditer("<a ", page)
            if not page[: m.start()].endswith("<code>")  # the keys in the table
        ]
        assert spec_links
        for before in spec_links:
            assert before.endswith(("see: ", "&middot; ")), before
    note = pages[0]
    assert "still percent-encoded bytes.<div" in note  # the sentence ends; the links follow
    assert "see: <a" in note
