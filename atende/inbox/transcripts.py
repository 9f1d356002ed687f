"""What whoever answers (the agents module) may do with a customer's voice note or image:
read its stored bytes, and keep a voice note's transcript with its message.

The transcript (or why there is none) is part of the message's media record (`media.py`):
`transcript` / `transcript_error`. The inbox shows it under the audio, the API returns it, the
agent's memory reads it as the customer's words (`replies.py`).
"""

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from atende.core.events import record_event
from atende.core.files import path_inside
from atende.inbox.events import MessageUpdated
from atende.inbox.models import Message
from atende.inbox.replies import Attachment

MAX_TRANSCRIPT = 20_000
MAX_ERROR = 300


def read_attachment(root: Path, attachment: Attachment, *, max_bytes: int) -> bytes | None:
    """The stored bytes of a voice note or image; None when there are none (not downloaded,
    failed, gone from disk) or they are larger than `max_bytes`. Blocking: use a thread."""
    if attachment.path is None:
        return None
    file = path_inside(root, attachment.path)
    if file is None or not file.is_file() or file.stat().st_size > max_bytes:
        return None
    return file.read_bytes()


async def record_transcript(
    session: AsyncSession,
    *,
    org_id: int,
    message_id: int,
    transcript: str | None = None,
    error: str | None = None,
) -> bool:
    """Keeps a voice note's transcript, or why it could not be made, and announces
    `message.updated`. False when the message is gone or has no media."""
    message = await session.scalar(
        select(Message).where(Message.id == message_id, Message.org_id == org_id)
    )
    if message is None or not message.media:
        return False
    changes: dict[str, str | None] = (
        {"transcript": transcript[:MAX_TRANSCRIPT], "transcript_error": None}
        if transcript is not None
        else {"transcript_error": (error or "transcription failed")[:MAX_ERROR]}
    )
    message.media = {**message.media, **changes}  # a new dict: JSON columns need reassignment
    await session.flush()
    await record_event(
        session,
        org_id=org_id,
        payload=MessageUpdated(
            message_id=message.id,
            conversation_id=message.conversation_id,
            transcript=message.media.get("transcript"),
            transcript_error=message.media.get("transcript_error"),
        ),
    )
    return True
