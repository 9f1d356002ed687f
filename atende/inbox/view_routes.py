"""REST API of the conversation view: internal notes, canned replies, sending a failed
message again."""

from fastapi import APIRouter, Response

from atende.core.deps import CurrentPrincipal, DbSession, ManagerPrincipal
from atende.core.schemas import PathId
from atende.inbox import canned, notes, thread
from atende.inbox.routes import message_out
from atende.inbox.schemas import CannedIn, CannedOut, CannedPatch, MessageOut, NoteIn, NoteOut

router = APIRouter(prefix="/api/v1", tags=["inbox"])


@router.get("/conversations/{conversation_id}/notes", response_model=list[NoteOut])
async def list_notes(
    conversation_id: PathId, principal: CurrentPrincipal, session: DbSession
) -> list[NoteOut]:
    """The conversation's internal notes, oldest first."""
    found = await notes.list_notes(
        session, org_id=principal.org_id, conversation_id=conversation_id
    )
    return [NoteOut.model_validate(note) for note in found]


@router.post("/conversations/{conversation_id}/notes", response_model=NoteOut, status_code=201)
async def add_note(
    conversation_id: PathId, body: NoteIn, principal: CurrentPrincipal, session: DbSession
) -> NoteOut:
    """An internal note for the team (`note.created`): never sent to the customer, not
    counted as unread, not part of the agent's memory."""
    note = await notes.add_note(
        session,
        org_id=principal.org_id,
        conversation_id=conversation_id,
        user_id=principal.user_id,
        text=body.text,
    )
    return NoteOut.model_validate(note)


@router.post(
    "/conversations/{conversation_id}/messages/{message_id}/retry",
    response_model=MessageOut,
    status_code=202,
    responses={409: {"description": "The message is not a failed outbound message."}},
)
async def retry_message(
    conversation_id: PathId, message_id: PathId, principal: CurrentPrincipal, session: DbSession
) -> MessageOut:
    """Sends a failed message again (queued, then `message.status`); only once however many
    times it is asked while it is not failed."""
    message = await thread.retry_send(
        session, org_id=principal.org_id, conversation_id=conversation_id, message_id=message_id
    )
    return message_out(message)


@router.get("/canned-replies", response_model=list[CannedOut])
async def list_canned(principal: CurrentPrincipal, session: DbSession) -> list[CannedOut]:
    """The organisation's canned replies by shortcut."""
    found = await canned.list_canned(session, org_id=principal.org_id)
    return [CannedOut.model_validate(reply) for reply in found]


@router.post("/canned-replies", response_model=CannedOut, status_code=201)
async def create_canned(
    body: CannedIn, principal: ManagerPrincipal, session: DbSession
) -> CannedOut:
    """A new canned reply; its shortcut is unique in the organisation (409 otherwise)."""
    reply = await canned.create_canned(
        session, org_id=principal.org_id, shortcut=body.shortcut, text=body.text
    )
    return CannedOut.model_validate(reply)


@router.patch("/canned-replies/{canned_id}", response_model=CannedOut)
async def update_canned(
    canned_id: PathId, body: CannedPatch, principal: ManagerPrincipal, session: DbSession
) -> CannedOut:
    reply = await canned.update_canned(
        session,
        org_id=principal.org_id,
        canned_id=canned_id,
        shortcut=body.shortcut,
        text=body.text,
    )
    return CannedOut.model_validate(reply)


@router.delete("/canned-replies/{canned_id}", status_code=204)
async def delete_canned(
    canned_id: PathId, principal: ManagerPrincipal, session: DbSession
) -> Response:
    await canned.delete_canned(session, org_id=principal.org_id, canned_id=canned_id)
    return Response(status_code=204)
