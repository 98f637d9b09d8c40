"""A CGI answer's page as a browser shows it, and what to change when its greeting is off.

Theory of operation: a CGI exercise asks for a page that says, say, ``Hello,
Ada!``. A browser shows text, not markup, so :func:`page_text` reads the page
the way one does (html.parser: tags and comments dropped, entities decoded,
runs of white space made one space), and ``Hello, <b>Ada</b>!`` reads
``Hello, Ada!``. When the greeting is not there, the hints below say what the
page showed instead: a list printed whole, the whole ``name=...`` field, a
name still URL-encoded, or the name in other words. A name that is HTML
(``%3Cscript%3E``) and is still URL-encoded on the page gets the decoding
advice too (:data:`ENCODED_HTML_HINT`): html.escape has nothing to escape in it
yet, so telling the learner to escape it would miss the fault.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = [
    "DECODE_HINT",
    "ENCODED_HTML_HINT",
    "FIELD_HINT",
    "LIST_HINT",
    "TAKE_FIRST",
    "WORDING_HINT",
    "page_text",
    "without_comments",
]

# What a failed greeting's page showed, and what to change for it.
TAKE_FIRST = (
    "parse_qs gives a list for each name (parse_qs('name=Ada') is {'name': ['Ada']}): "
    "take [0], as in fields.get('name', [''])[0]."
)
LIST_HINT = "The page shows a list: " + TAKE_FIRST
FIELD_HINT = (
    "The page shows the whole field, {field!r} and all: parse the text with "
    "urllib.parse.parse_qs, which splits each field into its name and its value, then "
    "take fields.get({name!r}, [''])[0]."
)
DECODE_HINT = (
    "The name still has its URL encoding (a '+' or a %XX) on the page: decode it: "
    "parse_qs turns + into a space and %XX into bytes (then text), so parse the query "
    "string or the body with urllib.parse.parse_qs rather than splitting it by hand."
)
ENCODED_HTML_HINT = (
    "The name still has its URL encoding on the page (%3C where the visitor sent <), so "
    "html.escape finds nothing to escape yet: decode it first: parse the query string or the "
    "body with urllib.parse.parse_qs rather than splitting it by hand (parse_qs turns %XX "
    "into bytes, then text), then escape the decoded name."
)
WORDING_HINT = (
    "The name is on the page, but not in the words asked for: print exactly {wanted!r}, "
    "with NAME the name (tags around it, such as <b>NAME</b>, are fine)."
)


class _PageText(HTMLParser):
    """The text of an HTML page as a browser shows it: no tags, no comments, no scripts."""

    _HIDDEN = frozenset({"script", "style", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN and self.hidden:
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def page_text(page: str) -> str:
    """The text a browser shows for ``page``: tags and comments dropped, entities decoded.

    Runs of white space become one space, as a browser draws them.

    >>> page_text("<h1>Hello, <b>Ada</b>!</h1><!-- a note -->\\n<p>Tom &amp; Jerry</p>")
    'Hello, Ada! Tom & Jerry'
    """
    parser = _PageText()
    try:
        parser.feed(page)
        parser.close()
    except Exception:  # html.parser is lenient; a page it cannot read shows no text
        return ""
    return " ".join("".join(parser.parts).split())


def without_comments(page: str) -> str:
    """``page`` with its HTML comments removed (an unclosed one runs to the end)."""
    return re.sub(r"<!--.*?(?:-->|\Z)", "", page, flags=re.DOTALL)
