"""Internal notes: what operators tell each other about a conversation.

Notes live in their own table (see `ConversationNote`), so nothing that reads messages (the
sender, unread counts, previews, search, the agent's memory) can mistake one for something the
customer said or was sent. The page shows them in the timeline, by time, between messages.
"""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from atende.core.errors import InvalidInput, NotFound
from atende.core.events import record_event
from atende.inbox.conversations import get_conversation
from atende.inbox.events import NoteCreated
from atende.inbox.models import ConversationNote

MAX_NOTE_CHARS = 4000


async def add_note(
    session: AsyncSession, *, org_id: int, conversation_id: int, user_id: int | None, text: str
) -> ConversationNote:
    await get_conversation(session, org_id=org_id, conversation_id=conversation_id)
    text = text.strip()
    if not text:
        raise InvalidInput("Write the note.", field="text")
    if len(text) > MAX_NOTE_CHARS:
        raise InvalidInput(f"A note has at most {MAX_NOTE_CHARS} characters.", field="text")
    note = ConversationNote(
        org_id=org_id, conversation_id=conversation_id, author_user_id=user_id, text=text
    )
    session.add(note)
    await session.flush()
    await record_event(
        session,
        org_id=org_id,
        payload=NoteCreated(
            note_id=note.id,
            conversation_id=conversation_id,
            author_user_id=user_id,
            at=note.created_at.isoformat(),
        ),
    )
    return note


async def list_notes(
    session: AsyncSession, *, org_id: int, conversation_id: int
) -> list[ConversationNote]:
    """Oldest first (a conversation's notes are few: people write them by hand)."""
    await get_conversation(session, org_id=org_id, conversation_id=conversation_id)
    return await notes_between(session, org_id=org_id, conversation_id=conversation_id)


async def notes_between(
    session: AsyncSession,
    *,
    org_id: int,
    conversation_id: int,
    after: datetime | None = None,
    before: datetime | None = None,
) -> list[ConversationNote]:
    """Notes written in [after, before), oldest first: the ones among a page of history."""
    query = (
        select(ConversationNote)
        .where(
            ConversationNote.conversation_id == conversation_id,
            ConversationNote.org_id == org_id,
        )
        .order_by(ConversationNote.created_at, ConversationNote.id)
    )
    if after is not None:
        query = query.where(ConversationNote.created_at >= after)
    if before is not None:
        query = query.where(ConversationNote.created_at < before)
    return list(await session.scalars(query))


async def get_note(
    session: AsyncSession, *, org_id: int, conversation_id: int, note_id: int
) -> ConversationNote:
    note = await session.scalar(
        select(ConversationNote).where(
            ConversationNote.id == note_id,
            ConversationNote.conversation_id == conversation_id,
            ConversationNote.org_id == org_id,
        )
    )
    if note is None:
        raise NotFound("Note not found.")
    return note
