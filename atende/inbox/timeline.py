"""A page of a conversation as the inbox shows it: messages and internal notes in time order,
the messages they quote (one query per page), who wrote what, and where the reader's unread
messages start."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from babel.dates import format_date
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from atende.core import accounts
from atende.core.access import Principal
from atende.inbox import conversations, notes, thread
from atende.inbox.models import ConversationNote, Message
from atende.web.shell import shell_of


@dataclass(frozen=True, slots=True)
class Entry:
    at: datetime
    message: Message | None = None
    note: ConversationNote | None = None


@dataclass(slots=True)
class Page:
    entries: list[Entry]
    older: str | None
    quoted: dict[str, thread.Quoted] = field(default_factory=dict)
    first_unread: int | None = None  # the message the "new messages" marker goes above

    def context(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "older": self.older,
            "quoted": self.quoted,
            "first_unread": self.first_unread,
            "newest_id": max((e.message.id for e in self.entries if e.message), default=None),
        }


def day_labeller(request: Request) -> Any:
    """Days of the history in the reader's language (the page regroups them in local time)."""
    locale = shell_of(request).translator(request).locale
    return lambda at: format_date(at, "medium", locale=locale)


async def senders(session: AsyncSession, principal: Principal) -> dict[int, str]:
    members = await accounts.list_members(session, org_id=principal.org_id)
    return {m.user_id: m.name for m in members}


async def history_page(
    session: AsyncSession,
    principal: Principal,
    conversation_id: int,
    *,
    before: int | None = None,
    limit: int,
    mark_unread: bool = False,
) -> Page:
    """Messages newest page first (`before`: older pages), oldest first on screen, with the
    notes written in the same span of time."""
    newest_first, older = await conversations.list_messages(
        session,
        org_id=principal.org_id,
        conversation_id=conversation_id,
        before=before,
        limit=limit,
    )
    messages = newest_first[::-1]
    # Notes from this page's first message (or forever, on the oldest page) up to the message
    # after the page (or now, on the newest page).
    after = messages[0].sent_at if messages and older else None
    upper = None
    if before is not None:
        upper_message = await conversations.get_message(
            session, org_id=principal.org_id, conversation_id=conversation_id, message_id=before
        )
        upper = upper_message.sent_at
    found = await notes.notes_between(
        session, org_id=principal.org_id, conversation_id=conversation_id, after=after, before=upper
    )
    entries = [Entry(m.sent_at, message=m) for m in messages]
    entries += [Entry(n.created_at, note=n) for n in found]
    entries.sort(key=lambda e: (e.at, 0 if e.message else 1))
    page = Page(entries, older)
    page.quoted = await thread.quoted_messages(
        session, org_id=principal.org_id, conversation_id=conversation_id, messages=messages
    )
    if mark_unread and principal.user_id is not None:
        seen = await thread.last_read(
            session, user_id=principal.user_id, conversation_id=conversation_id
        )
        page.first_unread = next(
            (
                m.id
                for m in messages
                if m.id > (seen or 0) and m.sender_user_id != principal.user_id
            ),
            None,
        )
    return page
