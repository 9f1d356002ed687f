"""REST API of the inbox: conversations, their history, operator messages and handoff."""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Header, Query, Request, Response, UploadFile

from atende.core import idempotency
from atende.core.deps import CurrentPrincipal, DbSession
from atende.core.schemas import MAX_ID, PathId
from atende.core.settings import Settings
from atende.inbox import attachments, conversations
from atende.inbox.filters import resolve_filter
from atende.inbox.models import Message
from atende.inbox.outputs import conversation_out, conversations_out
from atende.inbox.schemas import (
    ConversationOut,
    ConversationPage,
    MessageOut,
    MessagePage,
    Mode,
    SendIn,
)

router = APIRouter(prefix="/api/v1/conversations", tags=["inbox"])


def message_out(message: Message) -> MessageOut:
    out = MessageOut.model_validate(message)
    transcript = (message.media or {}).get("transcript")
    out.transcript = transcript if isinstance(transcript, str) else None
    if out.status == "sending":  # internal step of the sender; still queued for people
        out.status = "queued"
    return out


AssigneeParam = Annotated[
    str | None,
    Query(
        max_length=20,
        pattern=r"^(none|[1-9][0-9]*)$",
        description="A member's user id, or `none` for unassigned conversations.",
    ),
]
IdParam = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@router.get("", response_model=ConversationPage)
async def list_conversations(
    *,
    principal: CurrentPrincipal,
    session: DbSession,
    mode: Mode | None = None,
    instance_id: IdParam = None,
    agent_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Conversations on the numbers it answers.")
    ] = None,
    label_id: IdParam = None,
    assignee: AssigneeParam = None,
    mine: Annotated[bool, Query(description="Assigned to the caller (not for API keys).")] = False,
    unread: Annotated[bool, Query(description="Only those with unread messages.")] = False,
    q: Annotated[str | None, Query(max_length=200, description="Words in the messages.")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 30,
) -> ConversationPage:
    """Newest activity first (keyset `cursor`), with every filter given combined; `q` keeps
    the conversations whose messages contain every word (accents and case ignored)."""
    filter_ = await resolve_filter(
        session,
        org_id=principal.org_id,
        user_id=principal.user_id,
        mode=mode,
        instance_id=instance_id,
        agent_id=agent_id,
        label_id=label_id,
        assignee=assignee,
        mine=mine,
        unread=unread,
        q=q,
    )
    rows, next_cursor = await conversations.list_conversations(
        session, org_id=principal.org_id, filter_=filter_, cursor=cursor, limit=limit
    )
    return ConversationPage(items=await conversations_out(session, rows), next_cursor=next_cursor)


@router.get("/{conversation_id}", response_model=ConversationOut)
async def get_conversation(
    conversation_id: PathId, principal: CurrentPrincipal, session: DbSession
) -> ConversationOut:
    return await conversation_out(session, org_id=principal.org_id, conversation_id=conversation_id)


@router.get("/{conversation_id}/messages", response_model=MessagePage)
async def list_messages(
    conversation_id: PathId,
    principal: CurrentPrincipal,
    session: DbSession,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> MessagePage:
    rows, next_cursor = await conversations.list_messages(
        session,
        org_id=principal.org_id,
        conversation_id=conversation_id,
        before=before,
        limit=limit,
    )
    return MessagePage(items=[message_out(m) for m in rows], next_cursor=next_cursor)


@router.post("/{conversation_id}/messages", response_model=MessageOut, status_code=202)
async def send_message(
    *,
    conversation_id: PathId,
    body: SendIn,
    response: Response,
    principal: CurrentPrincipal,
    session: DbSession,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> MessageOut:
    """Queues an operator message (sent by a job; watch `message.status`). With an
    `Idempotency-Key`, a retried request returns the first answer and sends nothing again."""
    claim = None
    if idempotency_key is not None:
        print_ = idempotency.fingerprint(f"send:{conversation_id}", body.model_dump(mode="json"))
        claim = await idempotency.claim(
            session, org_id=principal.org_id, key=idempotency_key, print_=print_
        )
        if claim.replay is not None:
            response.headers["Idempotent-Replayed"] = "true"
            return MessageOut.model_validate(claim.replay)
    message = await conversations.operator_send(
        session,
        org_id=principal.org_id,
        conversation_id=conversation_id,
        user_id=principal.user_id,
        text=body.text,
        reply_to_message_id=body.reply_to_message_id,
    )
    out = message_out(message)
    if claim is not None:
        await idempotency.remember(
            session, record_id=claim.record_id, response=out.model_dump(mode="json")
        )
    return out


@router.post("/{conversation_id}/attachments", response_model=MessageOut, status_code=202)
async def send_attachment(
    *,
    conversation_id: PathId,
    request: Request,
    principal: CurrentPrincipal,
    session: DbSession,
    file: Annotated[UploadFile | None, File(description="Image, audio, video or a document.")] = (
        None
    ),
    caption: Annotated[str, Form(max_length=1024)] = "",
) -> MessageOut:
    """Sends a file (multipart): images, audio and video as such, anything else as a
    document; queued like a text message and sent by a job."""
    settings: Settings = request.app.state.settings
    message = await attachments.send_file(
        session,
        org_id=principal.org_id,
        conversation_id=conversation_id,
        user_id=principal.user_id,
        data=await file.read(settings.media_max_bytes + 1) if file else b"",
        mime_type=(file.content_type if file else None) or "application/octet-stream",
        filename=(file.filename if file else None) or "",
        caption=caption,
        root=Path(settings.data_dir) / "media",
        max_bytes=settings.media_max_bytes,
    )
    return message_out(message)


async def _set_mode(
    conversation_id: int, principal: CurrentPrincipal, session: DbSession, mode: str
) -> ConversationOut:
    await conversations.set_mode(
        session, org_id=principal.org_id, conversation_id=conversation_id, mode=mode
    )
    return await conversation_out(session, org_id=principal.org_id, conversation_id=conversation_id)


@router.post("/{conversation_id}/takeover", response_model=ConversationOut)
async def take_over(
    conversation_id: PathId, principal: CurrentPrincipal, session: DbSession
) -> ConversationOut:
    """A person answers from now on; the bot stays quiet."""
    return await _set_mode(conversation_id, principal, session, "human")


@router.post("/{conversation_id}/release", response_model=ConversationOut)
async def release(
    conversation_id: PathId, principal: CurrentPrincipal, session: DbSession
) -> ConversationOut:
    """Hands the conversation back to the bot."""
    return await _set_mode(conversation_id, principal, session, "bot")


@router.post("/{conversation_id}/close", response_model=ConversationOut)
async def close(
    conversation_id: PathId, principal: CurrentPrincipal, session: DbSession
) -> ConversationOut:
    return await _set_mode(conversation_id, principal, session, "closed")
