#!/bin/sh
# CGI does not care about the language: this is the same idea in shell.
# Headers, an empty line, then the body, all on standard output.
printf 'Content-Type: text/plain; charset=utf-8\n'
printf '\n'
printf 'Hello from a shell script!\n'
printf 'You asked for %s with the query string "%s".\n' "${PATH_INFO:-/}" "${QUERY_STRING}"
