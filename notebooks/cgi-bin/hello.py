#!/usr/bin/env python3
"""The smallest useful CGI script: headers, an empty line, the body.

Try it with ?name=Ada at the end of the link.
"""

import html
import os
from urllib.parse import parse_qs

query = parse_qs(os.environ.get("QUERY_STRING", ""))
name = query.get("name", ["world"])[0]

print("Content-Type: text/html; charset=utf-8")
print()  # the empty line: the headers end here, the body begins
print(f"<h1>Hello, {html.escape(name)}!</h1>")
print(f"<p>This page was made by process {os.getpid()}, started just for you.</p>")
