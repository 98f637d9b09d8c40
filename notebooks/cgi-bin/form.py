#!/usr/bin/env python3
"""A form, answered twice: GET puts the fields in QUERY_STRING, POST on stdin.

A POST body is exactly CONTENT_LENGTH bytes: read that many, never "until
the end" (the server may keep stdin open).
"""

import html
import os
import sys
from urllib.parse import parse_qs

method = os.environ.get("REQUEST_METHOD", "GET")
if method == "POST":
    length = int(os.environ.get("CONTENT_LENGTH") or 0)
    fields = parse_qs(sys.stdin.buffer.read(length).decode("utf-8", "replace"))
else:
    fields = parse_qs(os.environ.get("QUERY_STRING", ""))
name = fields.get("name", [""])[0].strip()

print("Content-Type: text/html; charset=utf-8")
print()
if name:
    print(f"<p>Hello, {html.escape(name)}! (sent with {html.escape(method)})</p>")
print(
    """<form method="get"><label>Name (GET): <input name="name"></label>
<button>Send</button></form>
<form method="post"><label>Name (POST): <input name="name"></label>
<button>Send</button></form>"""
)
