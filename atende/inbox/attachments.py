"""Files people send in a conversation: stored first, then sent as WhatsApp media by the job."""

import asyncio
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from atende.core.errors import Conflict, InvalidInput, PayloadTooLarge, UnsupportedMediaType
from atende.core.files import store_bytes
from atende.inbox.conversations import get_conversation
from atende.inbox.models import Conversation, Message
from atende.inbox.service import queue_outbound

# What WhatsApp accepts as each kind of media (anything else goes as a document).
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
AUDIO_TYPES = frozenset({"audio/ogg", "audio/mpeg", "audio/mp4", "audio/aac", "audio/amr"})
VIDEO_TYPES = frozenset({"video/mp4", "video/3gpp"})
REFUSED_TYPES = frozenset({"text/html", "application/x-msdownload", "application/x-sh"})
MAX_CAPTION = 1024


def media_kind(mime_type: str) -> str:
    if mime_type in IMAGE_TYPES:
        return "image"
    if mime_type in AUDIO_TYPES:
        return "audio"
    if mime_type in VIDEO_TYPES:
        return "video"
    return "document"


async def writable_conversation(
    session: AsyncSession, *, org_id: int, conversation_id: int
) -> Conversation:
    """The conversation, if people may write in it now (not closed, contact not opted out)."""
    conversation, contact = await get_conversation(
        session, org_id=org_id, conversation_id=conversation_id
    )
    if conversation.mode == "closed":
        raise Conflict("The conversation is closed; reopen it to write.", field="mode")
    if contact.opted_out:
        raise Conflict("This contact asked not to be contacted.", field="contact")
    return conversation


async def send_file(
    session: AsyncSession,
    *,
    org_id: int,
    conversation_id: int,
    user_id: int | None,
    data: bytes,
    mime_type: str,
    filename: str,
    caption: str,
    root: Path,
    max_bytes: int,
) -> Message:
    """Stores the file and queues it as an operator message (the bot steps back)."""
    # Whose conversation first: another organisation's id is not found, whatever the file.
    conversation = await writable_conversation(
        session, org_id=org_id, conversation_id=conversation_id
    )
    mime_type = mime_type.split(";", 1)[0].strip().lower() or "application/octet-stream"
    if mime_type in REFUSED_TYPES:
        raise UnsupportedMediaType(f"Files of type {mime_type} cannot be sent.", field="file")
    if not data:
        raise InvalidInput("The file is empty.", field="file")
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"Files can be at most {max_bytes} bytes.", field="file")
    if len(caption) > MAX_CAPTION:
        raise InvalidInput(f"A caption has at most {MAX_CAPTION} characters.", field="caption")
    path = await asyncio.to_thread(store_bytes, root, data)
    if conversation.mode == "bot":
        conversation.mode = "human"
    kind = media_kind(mime_type)
    message_id = await queue_outbound(
        session,
        org_id=org_id,
        conversation_id=conversation.id,
        author="operator",
        text=caption.strip() or None,
        type_=kind,
        media={
            "path": path,
            "mime_type": mime_type,
            "filename": Path(filename).name[:200] or f"file.{kind}",
            "size": len(data),
        },
        sender_user_id=user_id,
    )
    message = await session.get(Message, message_id)
    assert message is not None
    return message
