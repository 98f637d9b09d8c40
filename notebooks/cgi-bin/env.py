#!/usr/bin/env python3
"""Show the environment this CGI script received: the request, as variables."""

import os

print("Content-Type: text/plain; charset=utf-8")
print()
for key in sorted(os.environ):
    print(f"{key}={os.environ[key]}")
