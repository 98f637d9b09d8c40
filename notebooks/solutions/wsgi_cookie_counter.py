# Reference solution: exercise "wsgi-cookie-counter"
# (check: gl.exercise("wsgi-cookie-counter")(count_visits))


def cookie_value(header, name):
    """The value of cookie `name` in a Cookie header, or None.

    Read pair by pair: SimpleCookie gives up on the whole header, silently,
    when any one cookie in it is malformed ("visits=3; a b=c" gives nothing).
    """
    for pair in header.split(";"):
        key, _, value = pair.strip().partition("=")
        if key == name:
            return value.strip().strip('"')
    return None


def count_visits(app):
    """Count this browser's visits in a `visits` cookie and tell the inner app."""

    def middleware(environ, start_response):
        value = cookie_value(environ.get("HTTP_COOKIE", ""), "visits")
        visits = int(value) + 1 if value and value.isdecimal() else 1  # not a number: start again
        environ["counter.visits"] = visits

        def counting_start_response(status, headers, exc_info=None):
            headers = [*headers, ("Set-Cookie", f"visits={visits}; Path=/; SameSite=Lax")]
            return start_response(status, headers, exc_info)

        return app(environ, counting_start_response)

    return middleware
