"""The exercises of notebook 04 (WSGI middleware), checked with ``gl.exercise(name)``.

Theory of operation: both answers are middleware *factories*, so both are
:class:`~gateway_lab.exercises.middleware.MiddlewareExercise` records: the checker wraps
the learner's middleware around a small known app (which greets
``REMOTE_USER`` or prints ``environ["counter.visits"]``) and follows it over
several requests. This module is only the data.

* ``wsgi-auth-middleware``: ``basic_auth(app, users)`` returns a middleware
  that lets a request through only with a right HTTP Basic user and password
  (RFC 7617), answers everyone else ``401`` with
  ``WWW-Authenticate: Basic realm="notes"`` without calling the app, and tells
  the app who came in (``REMOTE_USER``, as in RFC 3875). The challenge is
  checked on *every* 401 (RFC 9110 section 15.5.2: a 401 MUST carry one),
  in order: there at all, naming the Basic scheme, with a realm (RFC 7617
  requires it) written as a quoted string (RFC 9110 section 11.5); a
  complaint that repeats on several 401s is said once. Everyone else
  includes a user who is not in ``users`` (``users[user]`` would raise
  KeyError: a 500, not a 401), credentials with no ``:`` at all
  (``user, password = text.split(":", 1)`` raises ValueError), a password
  with a non-ASCII letter (``hmac.compare_digest`` on ``str`` raises
  TypeError for those: compare bytes) and a right user and password sent
  under another scheme (``Bearer``: the task says to check the scheme is
  Basic; told so only when that request got in). And ada's right password
  under the scheme written ``basic``, in lower case, must get in: scheme
  names are case-insensitive (RFC 9110 section 11.1, as the task says), so
  ``scheme == "Basic"`` turns her away and hears to compare
  ``scheme.lower() == "basic"`` (only when she was turned away: a middleware
  that let her in but forgot ``REMOTE_USER`` hears about that instead).
  grace, whose password is ``cobol:1959``, must get in too: a middleware that
  splits at the last ``:`` turns her away and hears to split at the first.
  An answer whose source never calls ``compare_digest`` (a plain ``==``)
  passes, with a warning row on timing attacks.
* ``wsgi-cookie-counter``: ``count_visits(app)`` returns a middleware that
  reads a ``visits`` cookie, puts the new count in
  ``environ["counter.visits"]`` and adds ``Set-Cookie: visits=N; Path=/`` to
  the app's headers. The checker's cookie jar forgets a cookie that expires
  at once (``Max-Age=0``, an ``Expires`` date in the past), as a browser
  does, and the feedback says so.

The reference solutions are ``notebooks/solutions/wsgi_auth_middleware.py``
and ``notebooks/solutions/wsgi_cookie_counter.py``.
"""

from __future__ import annotations

import base64
from typing import Any

from gateway_lab import specs
from gateway_lab.exercises.case import Case
from gateway_lab.exercises.framework import register
from gateway_lab.exercises.middleware import MiddlewareExercise, Step, inner_app
from gateway_lab.types import Environ

__all__ = ["AUTH_MIDDLEWARE", "COOKIE_COUNTER", "SECRET", "USERS", "basic_credentials", "inner_app"]

SECRET = "the secret plans"
USERS = {"ada": "lovelace", "grace": "cobol:1959"}


def basic_credentials(user: str, password: str, scheme: str = "Basic") -> str:
    """The value of an ``Authorization`` header for HTTP Basic (RFC 7617).

    ``scheme`` puts the same token under another scheme (``"Bearer"``), which
    a Basic middleware must refuse, or under Basic spelled otherwise
    (``"basic"``), which it must accept.
    """
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"{scheme} {token}"


def _greeting(environ: Environ) -> str:
    return f"Hello, {environ.get('REMOTE_USER', 'stranger')}! Here are {SECRET}."


def _visits(environ: Environ) -> str:
    return f"Visit number {environ.get('counter.visits', '?')}."


# --------------------------------------------------------------------------- the two exercises


# The inner app greets "stranger" when it finds no REMOTE_USER in its environ.
STRANGER = (
    "Hello, stranger",
    "the app greeted a stranger, so it did not get REMOTE_USER: set "
    "environ['REMOTE_USER'] to the user name before calling app(environ, start_response).",
)


# What the task cell asks for, word for word.
CHALLENGE = 'Basic realm="notes"'

# RFC 9110 section 15.5.2, quoted: every 401 carries a challenge, not only the first.
NO_CHALLENGE = (
    'RFC 9110 says: "The server generating a 401 response MUST send a WWW-Authenticate '
    "header field (Section 11.6.1) containing at least one challenge applicable to the "
    f"target resource.\" What to change: send ('WWW-Authenticate', '{CHALLENGE}') with "
    "every 401 your middleware answers (task step 2): a wrong, garbled or unknown login "
    "needs it as much as a missing one, or the browser shows no login box to try again. "
    f"See {specs.RFC9110}#section-15.5.2"
)
# The scheme first: 'Bearer realm="notes"' has a realm, but asks for another login.
BASIC_SCHEME = (
    "WWW-Authenticate",
    r"basic(?:\s.*)?",
    "The scheme in it is wrong: a challenge begins with the scheme the client must log in "
    "with, and this middleware takes Basic credentials only, so a client that follows this "
    "challenge sends what it refuses (a browser shows its user-and-password box for Basic). "
    f"What to change: begin it with Basic: ('WWW-Authenticate', '{CHALLENGE}'). See "
    f"{specs.RFC7617_BASIC}",
)
# RFC 7617 section 2, quoted: the realm is what the browser shows in its login box.
REALM = (
    r'basic\s+(?:[^,]*,\s*)*realm\s*=\s*(?:"(?:[^"\\]|\\.)*"|[-!#$%&\'*+.^_`|~0-9a-z]+)(?:\s*,.*)?',
    "RFC 7617 says: \"The authentication parameter 'realm' is REQUIRED ([RFC7235], "
    f"Section 2.2).\" What to change: send ('WWW-Authenticate', '{CHALLENGE}'), as the "
    f"task asks. See {specs.RFC7617_BASIC}",
)
# RFC 9110 section 11.5, quoted: a token realm (realm=notes) is for recipients to
# put up with, never for a sender to write.
QUOTED_REALM = (
    r'basic\s+(?:[^,]*,\s*)*realm\s*=\s*"(?:[^"\\]|\\.)*"(?:\s*,.*)?',
    'The realm needs double quotes around it: RFC 9110 says "For historical reasons, a '
    f'sender MUST only generate the quoted-string syntax." What to change: send '
    f"('WWW-Authenticate', '{CHALLENGE}'), quotes included (werkzeug's WWWAuthenticate "
    "leaves a one-word realm unquoted: write the header yourself). See "
    f"{specs.RFC9110}#section-11.5",
)
OTHER_SCHEME = (
    "check the scheme: a request under any scheme but Basic gets a 401, even when the rest "
    "decodes to a right user and password. Split the header with scheme, _, token = "
    "environ.get('HTTP_AUTHORIZATION', '').partition(' ') and answer 401 unless "
    "scheme.lower() == 'basic' (scheme names are case-insensitive), before decoding token."
)
LOWER_CASE_SCHEME = (
    "scheme names are case-insensitive (RFC 9110 section 11.1): basic, Basic and BASIC are "
    "the same scheme, and a client may send any of them, so scheme == 'Basic' turns a right "
    "user away. Compare scheme.lower() == 'basic' instead. See "
    f"{specs.RFC9110}#section-11.1"
)
UNKNOWN_USER = (
    "the middleware raised instead of answering 401 (see app.raised below): a user who is "
    "not in users makes users[user] raise KeyError, which a server turns into a 500. Look "
    "the password up with users.get(user) and answer 401 when it is None."
)
NO_COLON = (
    "the middleware raised instead of answering 401 (see app.raised below): the token "
    "decodes to 'ada', with no ':' in it, so unpacking it into user and password finds one "
    "value, not two (ValueError). Credentials with no ':' are garbled too, and get a 401: "
    "split with user, colon, password = text.partition(':') and answer 401 when colon is "
    "'' (there was no ':' at all)."
)
COLON_IN_PASSWORD = (
    "grace's password is 'cobol:1959', with a ':' of its own, so the decoded text is "
    "'grace:cobol:1959': split it at the first ':' only, with "
    "user, _, password = text.partition(':') or text.split(':', 1), not at the last one "
    "or at every one. A user name cannot hold a ':', a password can: RFC 7617 says "
    f'"a user-id containing a colon character is invalid". See {specs.RFC7617_BASIC}'
)
NON_ASCII = (
    "the middleware raised instead of answering 401 (see app.raised below): "
    "hmac.compare_digest refuses str with non-ASCII characters (TypeError), and a "
    "password may hold any character. Compare bytes: "
    "hmac.compare_digest(given.encode(), expected.encode())."
)


def _refused(says: str, authorization: str | None = None, **extras: Any) -> Step:
    """A request the middleware must answer 401, with the challenge, before the app runs."""
    headers = () if authorization is None else (("Authorization", authorization),)
    return Step(
        Case("GET /", headers=headers, status=401, says=says),
        inner_called=False,
        hides=SECRET,
        header_form=BASIC_SCHEME,
        header_details=(REALM, QUOTED_REALM),
        if_no_header=NO_CHALLENGE,
        **extras,
    )


def _auth_steps() -> list[Step]:
    ada = (("Authorization", basic_credentials("ada", "lovelace")),)
    no_colon = "Basic " + base64.b64encode(b"ada").decode("ascii")
    return [
        _refused("no credentials"),
        _refused("a wrong password", basic_credentials("ada", "wrong")),
        _refused("garbled credentials", "Basic %%%not-base64%%%"),
        _refused("credentials with no ':' in them", no_colon, if_raised=NO_COLON),
        _refused(
            "ada's right password, under the Bearer scheme",
            basic_credentials("ada", "lovelace", "Bearer"),
            if_let_in=OTHER_SCHEME,
        ),
        _refused(
            "a user who is not in users",
            basic_credentials("mallory", "lovelace"),
            if_raised=UNKNOWN_USER,
        ),
        _refused(
            "a wrong password with a non-ASCII letter",
            basic_credentials("ada", "lövelace"),
            if_raised=NON_ASCII,
        ),
        Step(
            Case(
                "GET /",
                headers=ada,
                contains="Hello, ada",
                headers_expected={"X-Inner": "yes"},
                says="ada's right password: the app should see REMOTE_USER",
            ),
            inner_called=True,
            body_hint=STRANGER,
        ),
        Step(
            Case(
                "GET /",
                headers=(("Authorization", basic_credentials("ada", "lovelace", "basic")),),
                contains="Hello, ada",
                says="ada's right password, under the scheme written basic in lower case",
            ),
            inner_called=True,
            body_hint=STRANGER,
            if_refused=LOWER_CASE_SCHEME,
        ),
        Step(
            Case(
                "GET /",
                headers=(("Authorization", basic_credentials("grace", "cobol:1959")),),
                contains="Hello, grace",
                says="a password with ':' in it",
            ),
            inner_called=True,
            body_hint=STRANGER,
            if_refused=COLON_IN_PASSWORD,
        ),
        Step(
            Case("GET /missing", headers=ada, status=404, says="the inner app's own status"),
            inner_called=True,
        ),
    ]


def _timing_safe(source: str) -> str:
    """A warning when the answer's source compares passwords without compare_digest."""
    if not source or "compare_digest" in source:
        return ""
    return (
        "basic_auth compares passwords without hmac.compare_digest: a plain `==` (or "
        "`!=`) stops at the first character that differs, so how long a 401 takes tells "
        "an attacker how much of a guess was right (section 2 says why). What to change: "
        "compare with "
        "hmac.compare_digest(password.encode(), users[user].encode())."
    )


AUTH_MIDDLEWARE = register(
    MiddlewareExercise(
        "wsgi-auth-middleware",
        title="HTTP Basic authentication middleware",
        call="basic_auth(app, users)",
        build=lambda answer, inner: answer(inner, dict(USERS)),
        render=_greeting,
        steps=_auth_steps(),
        arguments=2,
        read_source=_timing_safe,
    )
)


def _counter_steps() -> list[Step]:
    text = {"Content-Type": "text/plain"}
    return [
        Step(
            Case("GET /", contains="Visit number 1", headers_expected=text, says="first visit"),
            inner_called=True,
            cookie=("visits", "1"),
            keeps_headers="Set-Cookie",
        ),
        Step(
            Case("GET /", contains="Visit number 2", says="the cookie sent back"),
            cookie=("visits", "2"),
            send_cookies=True,
        ),
        Step(
            Case("GET /", contains="Visit number 3", says="and once more"),
            cookie=("visits", "3"),
            send_cookies=True,
        ),
        Step(
            Case(
                "GET /",
                headers=(("Cookie", "theme=dark; visits=41"),),
                contains="Visit number 42",
                says="other cookies too",
            ),
            cookie=("visits", "42"),
        ),
        Step(
            Case(
                "GET /",
                headers=(("Cookie", "visits=lots"),),
                contains="Visit number 1",
                says="a cookie that is not a number: start again",
            ),
            cookie=("visits", "1"),
        ),
    ]


COOKIE_COUNTER = register(
    MiddlewareExercise(
        "wsgi-cookie-counter",
        title="Cookie counter middleware",
        call="count_visits(app)",
        build=lambda answer, inner: answer(inner),
        render=_visits,
        steps=_counter_steps(),
        arguments=1,
    )
)
