"""Full-text search over message text: the conversations that mention something.

Accent- and case-insensitive in Portuguese and English alike; words match as prefixes ("entreg"
finds "entrega", "entregamos"). SQLite uses the FTS5 table `fts_messages`, PostgreSQL a GIN
index over the same folding; both are created by migration 0007, whose expressions the
queries here must repeat.
"""

import re
import unicodedata
from typing import Any

from sqlalchemy import func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnClause

from atende.inbox.models import Contact, Conversation, Message

MAX_TERMS = 8
_WORD = re.compile(r"\w+")
ACCENTED = "ÁÀÂÃÄÅáàâãäåÉÈÊËéèêëÍÌÎÏíìîïÓÒÔÕÖóòôõöÚÙÛÜúùûüÇçÑñÝýÿ"
PLAIN = "AAAAAAaaaaaaEEEEeeeeIIIIiiiiOOOOOoooooUUUUuuuuCcNnYyy"
PG_VECTOR: ColumnClause[Any] = literal_column(
    f"to_tsvector('simple', lower(translate(coalesce(messages.\"text\", ''), "
    f"'{ACCENTED}', '{PLAIN}')))"
)


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
    """Conversations with a message matching every word, latest match first."""
    terms = terms_of(query)
    if not terms:
        return []
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    if dialect == "postgresql":
        tsquery = " & ".join(f"{term}:*" for term in terms)
        matching = select(Message.id).where(PG_VECTOR.op("@@")(func.to_tsquery("simple", tsquery)))
    else:
        fts = " ".join(f'"{term}"*' for term in terms)
        matching = (
            select(text("rowid"))
            .select_from(text("fts_messages"))
            .where(text("fts_messages MATCH :fts").bindparams(fts=fts))
        )
    latest = (
        select(Message.conversation_id, func.max(Message.id).label("last_match"))
        .where(Message.org_id == org_id, Message.id.in_(matching))
        .group_by(Message.conversation_id)
        .subquery()
    )
    rows = await session.execute(
        select(Conversation, Contact)
        .join(latest, latest.c.conversation_id == Conversation.id)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(Conversation.org_id == org_id)
        .order_by(latest.c.last_match.desc())
        .limit(limit)
    )
    return [(conversation, contact) for conversation, contact in rows.tuples()]
