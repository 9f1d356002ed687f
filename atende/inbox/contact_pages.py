"""Contacts in the pages: the list (search, paging) and one contact (name, labels, opt-out)."""

from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, Response

from atende.core.access import Principal
from atende.core.deps import DbSession
from atende.core.errors import Problem
from atende.core.schemas import MAX_ID, PathId
from atende.inbox import contacts, labels
from atende.web.guards import PagePrincipal
from atende.web.shell import problem_message, redirect, shell_of, templates_for

router = APIRouter(include_in_schema=False)
render = templates_for(Path(__file__).parent / "templates")

PAGE = 50


@router.get("/contacts")
async def contacts_page(
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    q: Annotated[str, Query(max_length=200)] = "",
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    rows, next_cursor = await contacts.list_contacts(
        session, org_id=principal.org_id, query=q or None, before=before, limit=PAGE
    )
    more = {"q": q, "before": next_cursor} if q else {"before": next_cursor}
    return render(
        request,
        "inbox/contacts.html",
        contacts=rows,
        contact_labels=await labels.labels_of_contacts(session, (c.id for c in rows)),
        q=q,
        more_link=f"/contacts?{urlencode(more)}" if next_cursor else "",
    )


async def _contact_page(
    request: Request,
    session: DbSession,
    principal: Principal,
    contact_id: int,
    *,
    status_code: int = 200,
    error: str = "",
) -> Response:
    detail = await contacts.get_contact(session, org_id=principal.org_id, contact_id=contact_id)
    own = (await labels.labels_of_contacts(session, [contact_id])).get(contact_id, [])
    return render(
        request,
        "inbox/contact.html",
        status_code=status_code,
        detail=detail,
        all_labels=await labels.list_labels(session, org_id=principal.org_id),
        chosen={label.id for label in own},
        error=error,
    )


@router.get("/contacts/{contact_id}")
async def contact_page(
    request: Request, principal: PagePrincipal, session: DbSession, contact_id: PathId
) -> Response:
    return await _contact_page(request, session, principal, contact_id)


@router.post("/contacts/{contact_id}")
async def update_contact(
    *,
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    contact_id: PathId,
    name: Annotated[str, Form(max_length=200)] = "",
    labels_: Annotated[list[int] | None, Form(alias="labels", max_length=200)] = None,
) -> Response:
    """Name and labels together; an unknown label changes nothing."""
    try:
        await contacts.update_contact(
            session,
            org_id=principal.org_id,
            contact_id=contact_id,
            name=name,
            label_ids=labels_ or [],
        )
    except Problem as problem:
        await session.rollback()
        t = shell_of(request).translator(request)
        return await _contact_page(
            request,
            session,
            principal,
            contact_id,
            status_code=problem.status,
            error=problem_message(t, problem, "contacts"),
        )
    return redirect(request, f"/contacts/{contact_id}")


@router.post("/contacts/{contact_id}/opt-out")
async def set_opt_out(
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    contact_id: PathId,
    opted_out: Annotated[str, Form(max_length=1)] = "1",
) -> Response:
    await contacts.update_contact(
        session, org_id=principal.org_id, contact_id=contact_id, opted_out=opted_out == "1"
    )
    return redirect(request, f"/contacts/{contact_id}")
