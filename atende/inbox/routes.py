"""REST API of the inbox: conversations, their history, operator messages and handoff."""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Header, Query, Request, Response, UploadFile

from atende.core import idempotency
from atende.core.deps import CurrentPrincipal, DbSession
from atende.core.schemas import PathId
from atende.core.settings import Settings
from atende.inbox import attachments, conversations, search
from atende.inbox.models import Contact, Conversation, Message
from atende.inbox.schemas import (
    ContactOut,
    ConversationOut,
    ConversationPage,
    MessageOut,
    MessagePage,
    Mode,
    SendIn,
)

router = APIRouter(prefix="/api/v1/conversations", tags=["inbox"])


def conversation_out(conversation: Conversation, contact: Contact) -> ConversationOut:
    return ConversationOut(
        id=conversation.id,
        instance_id=conversation.instance_id,
        mode=conversation.mode,
        assignee_user_id=conversation.assignee_user_id,
        unread_count=conversation.unread_count,
        last_message_at=conversation.last_message_at,
        last_message_preview=conversation.last_message_preview,
        contact=ContactOut(
            id=contact.id,
            name=contact.name,
            phone=contact.phone,
            wa_id=contact.wa_id,
            is_group=contact.is_group,
            opted_out=contact.opted_out,
        ),
    )


def message_out(message: Message) -> MessageOut:
    out = MessageOut.model_validate(message)
    transcript = (message.media or {}).get("transcript")
    out.transcript = transcript if isinstance(transcript, str) else None
    if out.status == "sending":  # internal step of the sender; still queued for people
        out.status = "queued"
    return out


@router.get("", response_model=ConversationPage)
async def list_conversations(
    *,
    principal: CurrentPrincipal,
    session: DbSession,
    mode: Mode | None = None,
    instance_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 30,
    q: Annotated[str | None, Query(max_length=200, description="Words in the messages.")] = None,
) -> ConversationPage:
    """Newest activity first (keyset `cursor`); with `q`, the conversations whose messages
    contain every word (accents and case ignored), latest match first, one page."""
    if q is not None and q.strip():
        found = await search.search_conversations(
            session, org_id=principal.org_id, query=q, limit=limit
        )
        return ConversationPage(
            items=[conversation_out(c, contact) for c, contact in found], next_cursor=None
        )
    rows, next_cursor = await conversations.list_conversations(
        session,
        org_id=principal.org_id,
        mode=mode,
        instance_id=instance_id,
        cursor=cursor,
        limit=limit,
    )
    return ConversationPage(
        items=[conversation_out(c, contact) for c, contact in rows], next_cursor=next_cursor
    )


@router.get("/{conversation_id}", response_model=ConversationOut)
async def get_conversation(
    conversation_id: PathId, principal: CurrentPrincipal, session: DbSession
) -> ConversationOut:
    conversation, contact = await conversations.get_conversation(
        session, org_id=principal.org_id, conversation_id=conversation_id
    )
    return conversation_out(conversation, contact)


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
    conversation = await conversations.set_mode(
        session, org_id=principal.org_id, conversation_id=conversation_id, mode=mode
    )
    _c, contact = await conversations.get_conversation(
        session, org_id=principal.org_id, conversation_id=conversation.id
    )
    return conversation_out(conversation, contact)


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
