"""Canned replies: the organisation's ready answers, typed in the composer as `/shortcut`."""

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from atende.core.db import utcnow
from atende.core.errors import Conflict, InvalidInput, NotFound
from atende.inbox.models import CannedReply

MAX_SHORTCUT = 32
MAX_TEXT = 4096  # what one WhatsApp message holds
SUGGESTIONS = 8
_SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def shortcut_of(value: str) -> str:
    """`/Prices` and `prices` are the same shortcut: no slash, lower case."""
    shortcut = value.strip().removeprefix("/").lower()
    if not shortcut:
        raise InvalidInput("Give the shortcut, like /prices.", field="shortcut")
    if len(shortcut) > MAX_SHORTCUT or not _SHORTCUT.match(shortcut):
        raise InvalidInput(
            f"A shortcut is letters, digits, - and _ (at most {MAX_SHORTCUT}).", field="shortcut"
        )
    return shortcut


def _text_of(value: str) -> str:
    text = value.strip()
    if not text:
        raise InvalidInput("Write the reply's text.", field="text")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"A reply has at most {MAX_TEXT} characters.", field="text")
    return text


async def _refuse_taken(
    session: AsyncSession, *, org_id: int, shortcut: str, except_id: int | None = None
) -> None:
    query = select(CannedReply.id).where(
        CannedReply.org_id == org_id, CannedReply.shortcut == shortcut
    )
    if except_id is not None:
        query = query.where(CannedReply.id != except_id)
    if await session.scalar(query) is not None:
        raise Conflict(f"The shortcut /{shortcut} exists already.", field="shortcut")


async def list_canned(session: AsyncSession, *, org_id: int) -> list[CannedReply]:
    return list(
        await session.scalars(
            select(CannedReply).where(CannedReply.org_id == org_id).order_by(CannedReply.shortcut)
        )
    )


async def suggest(session: AsyncSession, *, org_id: int, typed: str) -> list[CannedReply]:
    """The replies whose shortcut starts with what was typed after `/`, then those that
    contain it, alphabetically; a few at most."""
    typed = typed.strip().removeprefix("/").lower()[:MAX_SHORTCUT]
    escaped = typed.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    starts = CannedReply.shortcut.like(f"{escaped}%", escape="\\")
    rows = await session.scalars(
        select(CannedReply)
        .where(CannedReply.org_id == org_id, CannedReply.shortcut.like(f"%{escaped}%", escape="\\"))
        .order_by(starts.desc(), CannedReply.shortcut)
        .limit(SUGGESTIONS)
    )
    return list(rows)


async def get_canned(session: AsyncSession, *, org_id: int, canned_id: int) -> CannedReply:
    reply = await session.scalar(
        select(CannedReply).where(CannedReply.id == canned_id, CannedReply.org_id == org_id)
    )
    if reply is None:
        raise NotFound("Canned reply not found.")
    return reply


async def create_canned(
    session: AsyncSession, *, org_id: int, shortcut: str, text: str
) -> CannedReply:
    shortcut = shortcut_of(shortcut)
    text = _text_of(text)
    await _refuse_taken(session, org_id=org_id, shortcut=shortcut)
    reply = CannedReply(org_id=org_id, shortcut=shortcut, text=text)
    session.add(reply)
    await session.flush()
    return reply


async def update_canned(
    session: AsyncSession,
    *,
    org_id: int,
    canned_id: int,
    shortcut: str | None = None,
    text: str | None = None,
) -> CannedReply:
    reply = await get_canned(session, org_id=org_id, canned_id=canned_id)
    new_shortcut = shortcut_of(shortcut) if shortcut is not None else reply.shortcut
    new_text = _text_of(text) if text is not None else reply.text
    await _refuse_taken(session, org_id=org_id, shortcut=new_shortcut, except_id=reply.id)
    reply.shortcut, reply.text, reply.updated_at = new_shortcut, new_text, utcnow()
    await session.flush()
    return reply


async def delete_canned(session: AsyncSession, *, org_id: int, canned_id: int) -> None:
    reply = await get_canned(session, org_id=org_id, canned_id=canned_id)
    await session.delete(reply)
    await session.flush()
