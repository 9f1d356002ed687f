"""Settings → Canned replies: everyone sees them, managers add, change and remove them.

A refused change re-renders the page with the reason in the user's language and rolls back.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response

from atende.core.access import Principal
from atende.core.deps import DbSession
from atende.core.errors import Problem
from atende.core.schemas import PathId
from atende.inbox import canned
from atende.inbox.pages import render
from atende.web.guards import PageManager, PagePrincipal
from atende.web.shell import problem_message, redirect, shell_of

router = APIRouter(prefix="/settings/canned-replies", include_in_schema=False)
Shortcut = Annotated[str, Form(max_length=40)]
ReplyText = Annotated[str, Form(max_length=8000)]


async def _page(
    request: Request, session: DbSession, principal: Principal, status_code: int = 200, **extra: Any
) -> Response:
    context: dict[str, Any] = {"error": "", "error_id": None, "shortcut": "", "text": ""}
    context.update(extra)
    return render(
        request,
        "inbox/canned_replies.html",
        status_code=status_code,
        section="canned-replies",
        replies=await canned.list_canned(session, org_id=principal.org_id),
        can_manage=principal.role.can_manage,
        **context,
    )


async def _refused(
    request: Request, session: DbSession, principal: Principal, problem: Problem, **extra: Any
) -> Response:
    await session.rollback()
    t = shell_of(request).translator(request)
    error = problem_message(t, problem, "canned")
    return await _page(request, session, principal, problem.status, error=error, **extra)


@router.get("")
async def canned_page(request: Request, principal: PagePrincipal, session: DbSession) -> Response:
    return await _page(request, session, principal)


@router.post("")
async def create(
    request: Request,
    principal: PageManager,
    session: DbSession,
    shortcut: Shortcut = "",
    text: ReplyText = "",
) -> Response:
    try:
        await canned.create_canned(session, org_id=principal.org_id, shortcut=shortcut, text=text)
    except Problem as problem:
        return await _refused(request, session, principal, problem, shortcut=shortcut, text=text)
    return redirect(request, "/settings/canned-replies")


@router.post("/{canned_id}")
async def update(
    *,
    request: Request,
    principal: PageManager,
    session: DbSession,
    canned_id: PathId,
    shortcut: Shortcut = "",
    text: ReplyText = "",
) -> Response:
    try:
        await canned.update_canned(
            session, org_id=principal.org_id, canned_id=canned_id, shortcut=shortcut, text=text
        )
    except Problem as problem:
        return await _refused(request, session, principal, problem, error_id=canned_id)
    return redirect(request, "/settings/canned-replies")


@router.post("/{canned_id}/delete")
async def delete(
    request: Request, principal: PageManager, session: DbSession, canned_id: PathId
) -> Response:
    await canned.delete_canned(session, org_id=principal.org_id, canned_id=canned_id)
    return redirect(request, "/settings/canned-replies")
