"""Labels and assignment in the pages: the conversation header's chips and assignee, and
the organisation's label list (owners and admins keep it; everyone sees it)."""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from atende.core.access import Principal
from atende.core.deps import DbSession
from atende.core.errors import Problem
from atende.core.schemas import MAX_ID, PathId
from atende.inbox import contacts, labels
from atende.inbox.list_pages import render_header
from atende.web.guards import PageManager, PagePrincipal
from atende.web.shell import is_htmx, problem_message, redirect, shell_of, templates_for

router = APIRouter(include_in_schema=False)
render = templates_for(Path(__file__).parent / "templates")

FormId = Annotated[int, Form(ge=1, le=MAX_ID)]
FormText = Annotated[str, Form(max_length=200)]


async def _after(
    request: Request, session: DbSession, principal: Principal, conversation_id: int
) -> Response:
    if not is_htmx(request):
        return RedirectResponse(f"/inbox/{conversation_id}", status_code=303)
    return await render_header(request, session, principal, conversation_id)


@router.post("/inbox/{conversation_id}/labels")
async def add_label(
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    conversation_id: PathId,
    label_id: FormId,
) -> Response:
    await labels.conversation_for(session, org_id=principal.org_id, conversation_id=conversation_id)
    label = await labels.get_label(session, org_id=principal.org_id, label_id=label_id)
    await labels.label_conversation(
        session, org_id=principal.org_id, conversation_id=conversation_id, label=label
    )
    return await _after(request, session, principal, conversation_id)


@router.post("/inbox/{conversation_id}/labels/{label_id}/remove")
async def remove_label(
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    conversation_id: PathId,
    label_id: PathId,
) -> Response:
    await labels.unlabel_conversation(
        session, org_id=principal.org_id, conversation_id=conversation_id, label_id=label_id
    )
    return await _after(request, session, principal, conversation_id)


@router.post("/inbox/{conversation_id}/assign")
async def assign(
    *,
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    conversation_id: PathId,
    assignee: Annotated[str, Form(max_length=20)] = "",
    assign_me: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """To a member, to nobody (empty), or to the one who clicks "assign to me"."""
    user_id = principal.user_id if assign_me else (int(assignee) if assignee.isdigit() else None)
    await contacts.assign(
        session, org_id=principal.org_id, conversation_id=conversation_id, user_id=user_id
    )
    return await _after(request, session, principal, conversation_id)


async def _labels_page(
    request: Request,
    session: DbSession,
    principal: Principal,
    *,
    status_code: int = 200,
    error: str = "",
    name: str = "",
) -> Response:
    return render(
        request,
        "inbox/labels.html",
        status_code=status_code,
        labels=await labels.list_labels(session, org_id=principal.org_id),
        palette=labels.PALETTE,
        error=error,
        name=name,
    )


async def _refused(
    request: Request, session: DbSession, principal: Principal, problem: Problem, name: str
) -> Response:
    await session.rollback()
    t = shell_of(request).translator(request)
    error = problem_message(t, problem, "labels")
    return await _labels_page(
        request, session, principal, status_code=problem.status, error=error, name=name
    )


@router.get("/labels")
async def labels_page(request: Request, principal: PagePrincipal, session: DbSession) -> Response:
    return await _labels_page(request, session, principal)


@router.post("/labels")
async def create_label(
    request: Request,
    principal: PageManager,
    session: DbSession,
    name: FormText = "",
    colour: FormText = "grey",
) -> Response:
    try:
        await labels.create_label(session, org_id=principal.org_id, name=name, colour=colour)
    except Problem as problem:
        return await _refused(request, session, principal, problem, name)
    return redirect(request, "/labels")


@router.post("/labels/{label_id}")
async def update_label(
    *,
    request: Request,
    principal: PageManager,
    session: DbSession,
    label_id: PathId,
    name: FormText = "",
    colour: FormText = "grey",
) -> Response:
    """Rename and recolour in one form."""
    try:
        await labels.update_label(
            session, org_id=principal.org_id, label_id=label_id, name=name, colour=colour
        )
    except Problem as problem:
        return await _refused(request, session, principal, problem, "")
    return redirect(request, "/labels")


@router.post("/labels/{label_id}/delete")
async def delete_label(
    request: Request, principal: PageManager, session: DbSession, label_id: PathId
) -> Response:
    await labels.delete_label(session, org_id=principal.org_id, label_id=label_id)
    return redirect(request, "/labels")
