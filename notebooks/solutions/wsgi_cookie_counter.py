# Reference solution: exercise "wsgi-cookie-counter"
# (check: gl.exercise("wsgi-cookie-counter")(count_visits))
from http.cookies import CookieError, SimpleCookie


def count_visits(app):
    """Count this browser's visits in a `visits` cookie and tell the inner app."""

    def middleware(environ, start_response):
        cookies = SimpleCookie()
        try:
            cookies.load(environ.get("HTTP_COOKIE", ""))
        except CookieError:
            pass  # a garbled Cookie header: count as a first visit
        morsel = cookies.get("visits")
        visits = int(morsel.value) + 1 if morsel and morsel.value.isdigit() else 1
        environ["counter.visits"] = visits

        def counting_start_response(status, headers, exc_info=None):
            headers = [*headers, ("Set-Cookie", f"visits={visits}; Path=/; SameSite=Lax")]
            return start_response(status, headers, exc_info)

        return app(environ, counting_start_response)

    return middleware
