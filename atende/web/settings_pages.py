"""Settings: members (everyone reads, managers change), invitations and API keys (managers).

Forms post to these routes with the CSRF field; management goes through the core's services,
which check the finer rules (only owners touch ownership, one owner always remains). A refused
change re-renders the form with the reason in the user's language and rolls back.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response

from atende.core import access, accounts
from atende.core.access import Principal
from atende.core.deps import AppSettings, DbSession, client_ip
from atende.core.errors import InvalidInput, Problem
from atende.core.models import Role
from atende.core.settings import Settings
from atende.web.guards import PageManager, PagePrincipal
from atende.web.shell import is_htmx, problem_message, redirect, render, shell_of

router = APIRouter(prefix="/settings", include_in_schema=False)
FormText = Annotated[str, Form(max_length=500)]


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidInput("Choose a role.", field="role") from None


def _assignable_roles(principal: Principal) -> list[Role]:
    """Only owners may hand out ownership; the services enforce it, the form just agrees."""
    return [r for r in Role if r is not Role.owner or principal.role is Role.owner]


# --- members ------------------------------------------------------------------------------------


async def _members_context(session: DbSession, principal: Principal) -> dict[str, Any]:
    return {
        "members": await accounts.list_members(session, org_id=principal.org_id),
        "can_manage": principal.role.can_manage,
        "roles": _assignable_roles(principal),
        "error": "",
        "oob_error": False,
    }


@router.get("/members")
async def members_page(request: Request, principal: PagePrincipal, session: DbSession) -> Response:
    context = await _members_context(session, principal)
    return render(request, "settings/members.html", section="members", **context)


@router.get("/members/list")
async def members_list(request: Request, principal: PagePrincipal, session: DbSession) -> Response:
    """The member list alone: fetched again when a live event says membership changed."""
    context = await _members_context(session, principal)
    return render(request, "settings/_members.html", **context)


async def _after_member_change(
    request: Request, session: DbSession, principal: Principal, problem: Problem | None
) -> Response:
    if problem is None and not is_htmx(request):
        return redirect(request, "/settings/members")
    context = await _members_context(session, principal)
    context["oob_error"] = is_htmx(request)  # also clears an earlier error once a change works
    status = 200
    if problem is not None:
        t = shell_of(request).translator(request)
        context["error"] = problem_message(t, problem, "members")
        status = problem.status
    template = "settings/_members.html" if is_htmx(request) else "settings/members.html"
    return render(request, template, status_code=status, section="members", **context)


@router.post("/members/{user_id}/role")
async def change_member_role(
    request: Request, principal: PageManager, session: DbSession, user_id: int, role: FormText = ""
) -> Response:
    try:
        await accounts.change_role(
            session,
            org_id=principal.org_id,
            user_id=user_id,
            role=_role(role),
            actor=principal.actor(client_ip(request)),
            actor_role=principal.role,
        )
    except Problem as problem:
        await session.rollback()
        return await _after_member_change(request, session, principal, problem)
    return await _after_member_change(request, session, principal, None)


@router.post("/members/{user_id}/remove")
async def remove_member(
    request: Request, principal: PageManager, session: DbSession, user_id: int
) -> Response:
    try:
        await accounts.remove_member(
            session,
            org_id=principal.org_id,
            user_id=user_id,
            actor=principal.actor(client_ip(request)),
            actor_role=principal.role,
        )
    except Problem as problem:
        await session.rollback()
        return await _after_member_change(request, session, principal, problem)
    return await _after_member_change(request, session, principal, None)


# --- invitations --------------------------------------------------------------------------------


def _site_url(request: Request, settings: Settings) -> str:
    return settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")


async def _invitations_page(
    request: Request, session: DbSession, principal: Principal, status_code: int = 200, **extra: Any
) -> Response:
    context: dict[str, Any] = {"created_url": "", "error": "", "form": {}}
    context.update(extra)
    return render(
        request,
        "settings/invitations.html",
        status_code=status_code,
        section="invitations",
        invitations=await accounts.list_invitations(session, org_id=principal.org_id),
        roles=_assignable_roles(principal),
        **context,
    )


@router.get("/invitations")
async def invitations_page(
    request: Request, principal: PageManager, session: DbSession
) -> Response:
    return await _invitations_page(request, session, principal)


@router.post("/invitations")
async def create_invitation(
    *,
    request: Request,
    principal: PageManager,
    session: DbSession,
    settings: AppSettings,
    email: FormText = "",
    role: FormText = "operator",
) -> Response:
    try:
        _invitation, token = await accounts.create_invitation(
            session,
            org_id=principal.org_id,
            email=email,
            role=_role(role),
            actor=principal.actor(client_ip(request)),
            actor_role=principal.role,
        )
    except Problem as problem:
        await session.rollback()
        t = shell_of(request).translator(request)
        return await _invitations_page(
            request,
            session,
            principal,
            status_code=problem.status,
            error=problem_message(t, problem, "invitations"),
            form={"email": email, "role": role},
        )
    created_url = f"{_site_url(request, settings)}/invite/{token}"
    return await _invitations_page(request, session, principal, created_url=created_url)


@router.post("/invitations/{invitation_id}/revoke")
async def revoke_invitation(
    request: Request, principal: PageManager, session: DbSession, invitation_id: int
) -> Response:
    await accounts.revoke_invitation(
        session,
        org_id=principal.org_id,
        invitation_id=invitation_id,
        actor=principal.actor(client_ip(request)),
    )
    return redirect(request, "/settings/invitations")


# --- API keys -----------------------------------------------------------------------------------


async def _api_keys_page(
    request: Request, session: DbSession, principal: Principal, status_code: int = 200, **extra: Any
) -> Response:
    context: dict[str, Any] = {"created_key": "", "error": "", "name": ""}
    context.update(extra)
    return render(
        request,
        "settings/api_keys.html",
        status_code=status_code,
        section="api-keys",
        keys=await access.list_api_keys(session, org_id=principal.org_id),
        **context,
    )


@router.get("/api-keys")
async def api_keys_page(request: Request, principal: PageManager, session: DbSession) -> Response:
    return await _api_keys_page(request, session, principal)


@router.post("/api-keys")
async def create_api_key(
    request: Request, principal: PageManager, session: DbSession, name: FormText = ""
) -> Response:
    try:
        _row, key = await access.create_api_key(
            session, org_id=principal.org_id, name=name, actor=principal.actor(client_ip(request))
        )
    except Problem as problem:
        await session.rollback()
        t = shell_of(request).translator(request)
        return await _api_keys_page(
            request,
            session,
            principal,
            status_code=problem.status,
            error=problem_message(t, problem, "api_keys"),
            name=name,
        )
    return await _api_keys_page(request, session, principal, created_key=key)


@router.post("/api-keys/{key_id}/revoke")
async def revoke_api_key(
    request: Request, principal: PageManager, session: DbSession, key_id: int
) -> Response:
    await access.revoke_api_key(
        session, org_id=principal.org_id, key_id=key_id, actor=principal.actor(client_ip(request))
    )
    return redirect(request, "/settings/api-keys")
