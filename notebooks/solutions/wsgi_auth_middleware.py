# Reference solution: exercise "wsgi-auth-middleware"
# (check: gl.exercise("wsgi-auth-middleware")(basic_auth))
import base64
import binascii
import hmac


def basic_auth(app, users):
    """Let a request reach `app` only with a right HTTP Basic user and password."""

    def refuse(start_response):
        body = b"Please log in."
        start_response(
            "401 Unauthorized",
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("WWW-Authenticate", 'Basic realm="notes", charset="UTF-8"'),
            ],
        )
        return [body]

    def middleware(environ, start_response):
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "basic":
            return refuse(start_response)
        try:
            decoded = base64.b64decode(token, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return refuse(start_response)
        user, colon, password = decoded.partition(":")  # the password may contain ':'
        if not colon:  # no ':' at all: garbled too
            return refuse(start_response)
        expected = users.get(user)
        # compare_digest takes as long for a near miss as for a far one
        if expected is None or not hmac.compare_digest(password.encode(), expected.encode()):
            return refuse(start_response)
        environ["REMOTE_USER"] = user  # tell the inner app who came in
        return app(environ, start_response)

    return middleware
