"""Full-text search over message text: the conversations that mention something.

Accent- and case-insensitive in Portuguese and English alike; words match as prefixes ("entreg"
finds "entrega", "entregamos"). SQLite uses the FTS5 table `fts_messages` (migration 0007),
PostgreSQL a GIN index over the stored column `messages.fts_vector` with the same folding
(migration 0013). Conversations come newest match first, read in batches of matches so that a
common word costs no more than a rare one.
"""

import re
import unicodedata
from typing import Any

from sqlalchemy import Integer, Select, column, func, literal_column, select, table, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnClause

from atende.inbox.models import Contact, Conversation, Message

MAX_TERMS = 8
MATCH_BATCH = 500  # matching messages read per round trip, newest first
FTS_MESSAGES = table("fts_messages", column("rowid", Integer))
_WORD = re.compile(r"\w+")
# PostgreSQL: the accent-folded vector stored with each message (migration 0013), GIN-indexed.
PG_VECTOR: ColumnClause[Any] = literal_column("messages.fts_vector")


def terms_of(query: str) -> list[str]:
    """The query's words, folded (no accents, lower case), at most a few."""
    decomposed = unicodedata.normalize("NFKD", query)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    unique: list[str] = []
    for word in _WORD.findall(folded):
        if word not in unique:
            unique.append(word)
    return unique[:MAX_TERMS]


async def search_conversations(
    session: AsyncSession, *, org_id: int, query: str, limit: int = 30
) -> list[tuple[Conversation, Contact]]:
    """Conversations with a message matching every word, latest match first.

    Matches are read newest first, a batch at a time, until `limit` conversations have been
    seen: a common word matches a large share of all messages, and aggregating every match
    per conversation cost hundreds of milliseconds on a million messages."""
    terms = terms_of(query)
    if not terms:
        return []
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    matches = _matches_pg if dialect == "postgresql" else _matches_sqlite
    latest: dict[int, None] = {}  # conversation ids in order of their latest match
    before = None
    while len(latest) < limit:
        rows = (await session.execute(matches(org_id, terms, before))).all()
        for _message_id, conversation_id in rows:
            latest.setdefault(conversation_id)
        if len(rows) < MATCH_BATCH:
            break
        before = rows[-1][0]
    wanted = list(latest)[:limit]
    if not wanted:
        return []
    pairs = await session.execute(
        select(Conversation, Contact)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(Conversation.org_id == org_id, Conversation.id.in_(wanted))
    )
    found = {conversation.id: (conversation, contact) for conversation, contact in pairs}
    return [found[conversation_id] for conversation_id in wanted if conversation_id in found]


def _matches_sqlite(org_id: int, terms: list[str], before: int | None) -> Select[int, int]:
    """Driven by the FTS5 index in descending rowid order (it stops at the LIMIT)."""
    fts = " ".join(f'"{term}"*' for term in terms)
    query = (
        select(Message.id, Message.conversation_id)
        .select_from(FTS_MESSAGES)
        .join(Message, Message.id == FTS_MESSAGES.c.rowid)
        .where(text("fts_messages MATCH :fts").bindparams(fts=fts), Message.org_id == org_id)
        .order_by(FTS_MESSAGES.c.rowid.desc())
        .limit(MATCH_BATCH)
    )
    return query if before is None else query.where(FTS_MESSAGES.c.rowid < before)


def _matches_pg(org_id: int, terms: list[str], before: int | None) -> Select[int, int]:
    """The planner picks: the GIN index for rare words, the primary key backwards (testing
    each row's stored vector) for common ones."""
    tsquery = " & ".join(f"{term}:*" for term in terms)
    query = (
        select(Message.id, Message.conversation_id)
        .where(
            Message.org_id == org_id,
            PG_VECTOR.op("@@")(func.to_tsquery("simple", tsquery)),
        )
        .order_by(Message.id.desc())
        .limit(MATCH_BATCH)
    )
    return query if before is None else query.where(Message.id < before)
