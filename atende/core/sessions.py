"""The session cookie: HttpOnly, SameSite=Lax, Secure when served over HTTPS."""

from fastapi import Request, Response

from atende.core.csrf import SESSION_COOKIE
from atende.core.settings import Settings


def cookie_secure(request: Request, settings: Settings) -> bool:
    if settings.cookie_secure == "always":
        return True
    if settings.cookie_secure == "never":
        return False
    return request.url.scheme == "https"


def set_session_cookie(
    response: Response, request: Request, settings: Settings, token: str
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_days * 86400,
        path="/",
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request, settings),
    )
