"""Core REST API: sessions, the caller, members, invitations, API keys, audit log."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from atende.core import access, accounts
from atende.core.audit import list_audit
from atende.core.csrf import SESSION_COOKIE, csrf_token_for
from atende.core.deps import (
    AppSettings,
    CurrentPrincipal,
    DbSession,
    HumanManager,
    ManagerPrincipal,
    client_ip,
)
from atende.core.errors import Forbidden, InvalidCredentials, NotFound, SignupDisabled
from atende.core.models import Role, User
from atende.core.ratelimit import LoginRateLimiter
from atende.core.schemas import (
    AcceptInvitationIn,
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    AuditOut,
    InvitationCreated,
    InvitationIn,
    InvitationOut,
    LoginIn,
    MemberOut,
    MeOut,
    OrganisationOut,
    PathId,
    RoleIn,
    SignupIn,
    SwitchIn,
)
from atende.core.sessions import sign_in

router = APIRouter(prefix="/api/v1", tags=["core"])


def get_login_limiter(request: Request) -> LoginRateLimiter:
    limiter: LoginRateLimiter = request.app.state.login_limiter
    return limiter


LoginLimiter = Annotated[LoginRateLimiter, Depends(get_login_limiter)]


@router.post("/auth/login", response_model=MeOut)
async def login(
    body: LoginIn,
    *,
    request: Request,
    response: Response,
    session: DbSession,
    settings: AppSettings,
    limiter: LoginLimiter,
) -> MeOut:
    """Sign in; sets the session cookie (send `X-CSRF-Token` with unsafe requests after)."""
    await limiter.hit(ip=client_ip(request), email=body.email)
    user = await accounts.authenticate(session, email=body.email, password=body.password)
    if user is None:
        raise InvalidCredentials()
    orgs = await accounts.memberships_of(session, user_id=user.id)
    chosen = [(o, r) for o, r in orgs if body.org_id in (None, o.id)]
    if not chosen:
        raise InvalidCredentials("This account belongs to no such organisation.")
    org, role = chosen[0]
    await sign_in(session, request, response, settings, user_id=user.id, org_id=org.id)
    return _signed_in(request, response, user, org_id=org.id, role=role)


@router.post("/auth/signup", response_model=MeOut, status_code=201)
async def signup(
    body: SignupIn,
    *,
    request: Request,
    response: Response,
    session: DbSession,
    settings: AppSettings,
    limiter: LoginLimiter,
) -> MeOut:
    """Create an account with a new organisation (unless sign-up is disabled) and sign in."""
    if not settings.signup_enabled:
        raise SignupDisabled()
    await limiter.hit(ip=client_ip(request), email=body.email)
    user, org = await accounts.sign_up(
        session,
        email=body.email,
        name=body.name,
        password=body.password,
        organisation=body.organisation,
    )
    await sign_in(session, request, response, settings, user_id=user.id, org_id=org.id)
    return _signed_in(request, response, user, org_id=org.id, role=Role.owner)


def _signed_in(
    request: Request, response: Response, user: User, *, org_id: int, role: Role
) -> MeOut:
    # Clients echo this token (also in the `atende_csrf` cookie) on unsafe requests.
    response.headers["X-CSRF-Token"] = csrf_token_for(request)
    return MeOut(
        user_id=user.id,
        name=user.name,
        email=user.email,
        org_id=org_id,
        role=role,
        via_api_key=False,
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(request: Request, response: Response, session: DbSession) -> None:
    if token := request.cookies.get(SESSION_COOKIE):
        await access.end_session(session, token=token)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/me", response_model=MeOut)
async def me(principal: CurrentPrincipal) -> MeOut:
    return MeOut(
        user_id=principal.user_id,
        name=principal.name,
        email=principal.email,
        org_id=principal.org_id,
        role=principal.role,
        via_api_key=principal.is_api_key,
    )


@router.get("/me/organisations", response_model=list[OrganisationOut])
async def my_organisations(
    principal: CurrentPrincipal, session: DbSession
) -> list[OrganisationOut]:
    """The organisations the signed-in person belongs to (an API key sees only its own)."""
    if principal.user_id is None:
        org = await accounts.get_organisation(session, org_id=principal.org_id)
        return [OrganisationOut(org_id=org.id, name=org.name, role=principal.role, current=True)]
    return [
        OrganisationOut(org_id=org.id, name=org.name, role=role, current=org.id == principal.org_id)
        for org, role in await accounts.memberships_of(session, user_id=principal.user_id)
    ]


@router.post("/auth/switch", response_model=MeOut)
async def switch_organisation(
    body: SwitchIn, principal: CurrentPrincipal, session: DbSession
) -> MeOut:
    """Moves the signed-in session to another organisation the person belongs to."""
    if principal.session_id is None or principal.user_id is None:
        raise Forbidden("An API key belongs to one organisation; it cannot switch.")
    role = await accounts.role_in(session, org_id=body.org_id, user_id=principal.user_id)
    if role is None:
        raise NotFound("Organisation not found.")
    await access.switch_session_org(session, session_id=principal.session_id, org_id=body.org_id)
    return MeOut(
        user_id=principal.user_id,
        name=principal.name,
        email=principal.email,
        org_id=body.org_id,
        role=role,
        via_api_key=False,
    )


@router.get("/members", response_model=list[MemberOut])
async def list_members(principal: CurrentPrincipal, session: DbSession) -> list[MemberOut]:
    members = await accounts.list_members(session, org_id=principal.org_id)
    return [MemberOut(user_id=m.user_id, name=m.name, email=m.email, role=m.role) for m in members]


@router.patch("/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def change_member_role(
    user_id: PathId, body: RoleIn, request: Request, principal: HumanManager, session: DbSession
) -> None:
    await accounts.change_role(
        session,
        org_id=principal.org_id,
        user_id=user_id,
        role=body.role,
        actor=principal.actor(client_ip(request)),
        actor_role=principal.role,
    )


@router.delete("/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(
    user_id: PathId, request: Request, principal: HumanManager, session: DbSession
) -> None:
    await accounts.remove_member(
        session,
        org_id=principal.org_id,
        user_id=user_id,
        actor=principal.actor(client_ip(request)),
        actor_role=principal.role,
    )


@router.get("/invitations", response_model=list[InvitationOut])
async def list_invitations(principal: HumanManager, session: DbSession) -> list[InvitationOut]:
    rows = await accounts.list_invitations(session, org_id=principal.org_id)
    return [InvitationOut.model_validate(row) for row in rows]


@router.post("/invitations", response_model=InvitationCreated, status_code=201)
async def create_invitation(
    body: InvitationIn,
    request: Request,
    principal: HumanManager,
    session: DbSession,
    settings: AppSettings,
) -> InvitationCreated:
    invitation, token = await accounts.create_invitation(
        session,
        org_id=principal.org_id,
        email=body.email,
        role=body.role,
        actor=principal.actor(client_ip(request)),
        actor_role=principal.role,
    )
    return InvitationCreated(
        id=invitation.id,
        email=invitation.email,
        role=body.role,
        expires_at=invitation.expires_at,
        url=f"{settings.base_url}/invite/{token}",
    )


@router.post("/invitations/{token}/accept", response_model=MeOut)
async def accept_invitation(
    token: str,
    body: AcceptInvitationIn,
    *,
    request: Request,
    response: Response,
    session: DbSession,
    settings: AppSettings,
    limiter: LoginLimiter,
) -> MeOut:
    """Join the inviting organisation: signs in the invited account (created if new)."""
    invitation = await accounts.find_invitation(session, token=token)
    await limiter.hit(ip=client_ip(request), email=invitation.email)
    user = await accounts.user_by_email(session, email=invitation.email)
    if user is None:
        user = await accounts.create_user(
            session, email=invitation.email, name=body.name, password=body.password
        )
    elif not await accounts.authenticate(session, email=user.email, password=body.password):
        raise InvalidCredentials("Enter the password of your existing account.")
    org_id = await accounts.accept_invitation(session, token=token, user=user)
    role = await accounts.role_in(session, org_id=org_id, user_id=user.id)
    await sign_in(session, request, response, settings, user_id=user.id, org_id=org_id)
    return _signed_in(request, response, user, org_id=org_id, role=role or Role.operator)


@router.delete("/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_invitation(
    invitation_id: PathId, request: Request, principal: HumanManager, session: DbSession
) -> None:
    await accounts.revoke_invitation(
        session,
        org_id=principal.org_id,
        invitation_id=invitation_id,
        actor=principal.actor(client_ip(request)),
    )


@router.get("/api-keys", response_model=list[ApiKeyOut])
async def list_api_keys(principal: HumanManager, session: DbSession) -> list[ApiKeyOut]:
    rows = await access.list_api_keys(session, org_id=principal.org_id)
    return [ApiKeyOut.model_validate(row) for row in rows]


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=201)
async def create_api_key(
    body: ApiKeyIn, request: Request, principal: HumanManager, session: DbSession
) -> ApiKeyCreated:
    row, key = await access.create_api_key(
        session, org_id=principal.org_id, name=body.name, actor=principal.actor(client_ip(request))
    )
    return ApiKeyCreated(**ApiKeyOut.model_validate(row).model_dump(), key=key)


@router.delete("/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_key(
    key_id: PathId, request: Request, principal: HumanManager, session: DbSession
) -> None:
    await access.revoke_api_key(
        session, org_id=principal.org_id, key_id=key_id, actor=principal.actor(client_ip(request))
    )


@router.get("/audit-log", response_model=list[AuditOut])
async def audit_log(principal: ManagerPrincipal, session: DbSession) -> list[AuditOut]:
    rows = await list_audit(session, org_id=principal.org_id)
    return [AuditOut.model_validate(row) for row in rows]
