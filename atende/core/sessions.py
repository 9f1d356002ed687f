"""The session cookie: HttpOnly, SameSite=Lax, Secure when served over HTTPS."""

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from atende.core.access import start_session
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


async def sign_in(
    session: AsyncSession,
    request: Request,
    response: Response,
    settings: Settings,
    *,
    user_id: int,
    org_id: int,
) -> None:
    """Starts a sign-in session in `org_id` and puts its cookie on `response`."""
    token = await start_session(
        session,
        user_id=user_id,
        org_id=org_id,
        days=settings.session_days,
        user_agent=request.headers.get("user-agent", ""),
    )
    set_session_cookie(response, request, settings, token)
