"""Page routes of the conversation view: internal notes, the read mark, canned reply
suggestions in the composer. (The inbox page itself is `pages.py`.)"""

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from atende.core.deps import DbSession
from atende.core.errors import Problem
from atende.core.schemas import PathId
from atende.inbox import canned, conversations, notes, thread, timeline
from atende.inbox.pages import render
from atende.web.guards import PagePrincipal
from atende.web.shell import is_htmx, problem_message, shell_of

router = APIRouter(include_in_schema=False)


@router.post("/inbox/{conversation_id}/notes")
async def add_note(
    *,
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    conversation_id: PathId,
    text: Annotated[str, Form(max_length=8000)] = "",
) -> Response:
    """The composer in note mode: the note, ready to put in the thread."""
    try:
        note = await notes.add_note(
            session,
            org_id=principal.org_id,
            conversation_id=conversation_id,
            user_id=principal.user_id,
            text=text,
        )
    except Problem as problem:
        await session.rollback()
        t = shell_of(request).translator(request)
        error = problem_message(t, problem, "inbox.note")
        return render(request, "inbox/_send_error.html", status_code=problem.status, error=error)
    if not is_htmx(request):
        return RedirectResponse(f"/inbox/{conversation_id}", status_code=303)
    senders = await timeline.senders(session, principal)
    return render(request, "inbox/_note.html", n=note, senders=senders)


@router.get("/inbox/{conversation_id}/notes/{note_id}")
async def note_fragment(
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    conversation_id: PathId,
    note_id: PathId,
) -> Response:
    """One note, fetched when `note.created` tells the other operators' pages."""
    note = await notes.get_note(
        session, org_id=principal.org_id, conversation_id=conversation_id, note_id=note_id
    )
    senders = await timeline.senders(session, principal)
    return render(request, "inbox/_note.html", n=note, senders=senders)


@router.post("/inbox/{conversation_id}/seen")
async def seen(
    principal: PagePrincipal,
    session: DbSession,
    conversation_id: PathId,
    up_to: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    """The conversation is open on someone's screen: nothing in it is unread for the team any
    more, and this person has read it up to `up_to` (default: its newest message)."""
    await conversations.mark_seen(session, org_id=principal.org_id, conversation_id=conversation_id)
    if principal.user_id is not None:
        await thread.mark_read(
            session,
            org_id=principal.org_id,
            user_id=principal.user_id,
            conversation_id=conversation_id,
            up_to=up_to,
        )
    return HTMLResponse(status_code=204)


@router.get("/inbox/canned/suggest")
async def canned_suggestions(
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    q: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """The canned replies matching what follows `/` in the composer (a listbox's options)."""
    found = await canned.suggest(session, org_id=principal.org_id, typed=q)
    return render(request, "inbox/_canned_menu.html", replies=found)
