"""Signing in and out, signing up, joining by invitation, and choosing the language."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from atende.core import access, accounts
from atende.core.csrf import SESSION_COOKIE
from atende.core.deps import AppSettings, DbSession, OptionalPrincipal, client_ip
from atende.core.errors import InvalidCredentials, NotFound, Problem
from atende.core.models import User
from atende.core.ratelimit import LoginRateLimiter
from atende.core.sessions import cookie_secure, sign_in
from atende.web.i18n import LANG_COOKIE, LOCALES
from atende.web.shell import problem_message, redirect, render, safe_next, shell_of

router = APIRouter(include_in_schema=False)
FormText = Annotated[str, Form(max_length=500)]
Password = Annotated[str, Form(max_length=1000)]
LANG_COOKIE_SECONDS = 365 * 86400


def _limiter(request: Request) -> LoginRateLimiter:
    limiter: LoginRateLimiter = request.app.state.login_limiter
    return limiter


async def _sign_in(
    request: Request, session: DbSession, settings: AppSettings, *, user: User, org_id: int, to: str
) -> Response:
    response = redirect(request, safe_next(to))
    await sign_in(session, request, response, settings, user_id=user.id, org_id=org_id)
    return response


# --- sign in / out ------------------------------------------------------------------------------


@router.get("/login")
async def login_page(request: Request, principal: OptionalPrincipal, next: str = "") -> Response:
    if principal is not None and not principal.is_api_key:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "auth/login.html", next=safe_next(next, ""), email="", error="")


@router.post("/login")
async def login_submit(
    *,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    email: FormText = "",
    password: Password = "",
    next: FormText = "",
) -> Response:
    t = shell_of(request).translator(request)
    try:
        await _limiter(request).hit(ip=client_ip(request), email=email)
        user = await accounts.authenticate(session, email=email, password=password)
        if user is None:
            raise InvalidCredentials()
        orgs = await accounts.memberships_of(session, user_id=user.id)
        if not orgs:
            raise InvalidCredentials("This account belongs to no organisation.", field="org")
    except Problem as problem:
        return render(
            request,
            "auth/login.html",
            status_code=problem.status,
            next=safe_next(next, ""),
            email=email,
            error=problem_message(t, problem, "login"),
        )
    return await _sign_in(request, session, settings, user=user, org_id=orgs[0][0].id, to=next)


@router.post("/logout")
async def logout(request: Request, session: DbSession) -> Response:
    if token := request.cookies.get(SESSION_COOKIE):
        await access.end_session(session, token=token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- sign up ------------------------------------------------------------------------------------


@router.get("/signup")
async def signup_page(request: Request, settings: AppSettings) -> Response:
    return render(
        request,
        "auth/signup.html",
        enabled=settings.signup_enabled,
        form={},
        error="",
        error_field="",
    )


@router.post("/signup")
async def signup_submit(
    *,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    name: FormText = "",
    email: FormText = "",
    password: Password = "",
    organisation: FormText = "",
) -> Response:
    if not settings.signup_enabled:
        return render(
            request,
            "auth/signup.html",
            status_code=403,
            enabled=False,
            form={},
            error="",
            error_field="",
        )
    t = shell_of(request).translator(request)
    try:
        await _limiter(request).hit(ip=client_ip(request), email=email)
        user, org = await accounts.sign_up(
            session, email=email, name=name, password=password, organisation=organisation
        )
    except Problem as problem:
        await session.rollback()
        return render(
            request,
            "auth/signup.html",
            status_code=problem.status,
            enabled=True,
            form={"name": name, "email": email, "organisation": organisation},
            error=problem_message(t, problem, "signup"),
            error_field=str(problem.extensions.get("field", "")),
        )
    return await _sign_in(request, session, settings, user=user, org_id=org.id, to="/dashboard")


# --- invitations --------------------------------------------------------------------------------


async def _invitation_view(session: DbSession, token: str) -> dict[str, Any]:
    invitation = await accounts.find_invitation(session, token=token)
    org = await accounts.get_organisation(session, org_id=invitation.org_id)
    existing = await accounts.user_by_email(session, email=invitation.email)
    return {
        "token": token,
        "org_name": org.name,
        "role": invitation.role,
        "email": invitation.email,
        "has_account": existing is not None,
    }


@router.get("/invite/{token}")
async def invitation_page(request: Request, session: DbSession, token: str) -> Response:
    if len(token) > 200:
        raise NotFound("This invitation link is not valid.")
    try:
        view = await _invitation_view(session, token)
    except Problem as problem:
        return _invalid_invitation(request, problem)
    return render(request, "auth/invite.html", error="", name="", **view)


def _invalid_invitation(request: Request, problem: Problem) -> Response:
    return render(
        request, "auth/invite_invalid.html", status_code=problem.status, gone=problem.status == 410
    )


@router.post("/invite/{token}")
async def invitation_accept(
    *,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    token: str,
    name: FormText = "",
    password: Password = "",
) -> Response:
    """Like `POST /api/v1/invitations/{token}/accept`: creates or authenticates, then joins."""
    t = shell_of(request).translator(request)
    try:
        view = await _invitation_view(session, token)
    except Problem as problem:
        return _invalid_invitation(request, problem)
    email = str(view["email"])
    try:
        await _limiter(request).hit(ip=client_ip(request), email=email)
        user = await accounts.user_by_email(session, email=email)
        if user is None:
            user = await accounts.create_user(session, email=email, name=name, password=password)
        elif not await accounts.authenticate(session, email=email, password=password):
            raise InvalidCredentials("Enter the password of your existing account.")
        org_id = await accounts.accept_invitation(session, token=token, user=user)
    except Problem as problem:
        await session.rollback()
        error = problem_message(t, problem, "invite")
        return render(
            request,
            "auth/invite.html",
            status_code=problem.status,
            error=error,
            name=name,
            **view,
        )
    return await _sign_in(request, session, settings, user=user, org_id=org_id, to="/dashboard")


# --- language -----------------------------------------------------------------------------------


@router.post("/lang")
async def choose_language(
    request: Request, settings: AppSettings, lang: FormText = "", next: FormText = ""
) -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    if lang in LOCALES:
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=LANG_COOKIE_SECONDS,
            path="/",
            samesite="lax",
            secure=cookie_secure(request, settings),
        )
    return response
