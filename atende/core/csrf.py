"""CSRF protection for cookie-authenticated requests (double-submit token + Origin check).

A random token lives in a cookie readable by our own pages; unsafe requests authenticated by the
session cookie, or sent as HTML forms, must echo it in the `X-CSRF-Token` header (htmx and
fetch) or a `csrf_token` form field. Requests with an API key carry no ambient authority and are
exempt, as are provider webhooks (they authenticate by signature or per-instance secret).
"""

import secrets
from urllib.parse import urlsplit

from fastapi import Request

from atende.core.errors import CsrfFailed
from atende.core.security import constant_time_equals

CSRF_COOKIE = "atende_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SESSION_COOKIE = "atende_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
EXEMPT_PREFIXES = ("/webhooks/",)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_token_for(request: Request) -> str:
    """The token pages embed: the cookie's, or a new one that the response will set."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf_token", None)
    if not token:
        token = new_csrf_token()
        request.state.new_csrf_token = token
    return str(token)


def _needs_check(request: Request) -> bool:
    if request.method in SAFE_METHODS or request.url.path.startswith(EXEMPT_PREFIXES):
        return False
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return False
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    # JSON cannot be sent cross-site without a CORS preflight, which we never grant; so a JSON
    # request without our session cookie (e.g. the API sign-in) cannot be forged.
    return SESSION_COOKIE in request.cookies or content_type in FORM_TYPES or not content_type


def _origin_matches(request: Request) -> bool:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", request.url.netloc)


async def csrf_protect(request: Request) -> None:
    """App-wide dependency: rejects unsafe cookie/form requests without the right token."""
    if not _needs_check(request):
        return
    if not _origin_matches(request):
        raise CsrfFailed("The request came from another site.")
    expected = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    content_type = request.headers.get("content-type", "")
    if not sent and content_type.startswith(FORM_TYPES[:2]):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else ""
    if not expected or not sent or not constant_time_equals(expected, sent):
        raise CsrfFailed("Reload the page and try again.")
