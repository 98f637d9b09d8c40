#!/usr/bin/env python3
"""Reference solution of the exercise "cgi-form" (notebook 01).

A CGI script that answers a form: GET with no name shows the form; a name
sent with GET (in QUERY_STRING) or with POST (in the body, on stdin) gets
"Hello, NAME!", with the name HTML-escaped.
"""

import html
import os
import sys
from urllib.parse import parse_qs

method = os.environ.get("REQUEST_METHOD", "GET")
if method == "POST":
    # The body is exactly CONTENT_LENGTH bytes: read that many, never "until the end".
    length = int(os.environ.get("CONTENT_LENGTH") or 0)
    fields = parse_qs(sys.stdin.buffer.read(length).decode("utf-8", "replace"))
else:
    fields = parse_qs(os.environ.get("QUERY_STRING", ""))
name = fields.get("name", [""])[0].strip()

print("Content-Type: text/html; charset=utf-8")
print()  # the empty line: headers end, body begins
if name:
    print(f"<h1>Hello, {html.escape(name)}!</h1>")
    print('<p><a href="?">Again</a></p>')
else:
    print(
        """<form method="post">
  <label>Your name: <input name="name"></label>
  <button>Send</button>
</form>"""
    )
