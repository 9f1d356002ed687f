"""Full-text search over message text: the conversations that mention something.

Accent- and case-insensitive in Portuguese and English alike; words match as prefixes ("entreg"
finds "entrega", "entregamos"). SQLite uses the FTS5 table `fts_messages` (migration 0007),
PostgreSQL a GIN index over the stored column `messages.fts_vector` with the same folding
(migration 0013). A search is one more list filter (`filters.py`): the conversations of the
organisation with a matching message, in the list's own order and paging.
"""

import re
import unicodedata
from typing import Any

from sqlalchemy import Select, func, literal_column, select, text
from sqlalchemy.sql.elements import ColumnClause

from atende.inbox.models import Message

MAX_TERMS = 8
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


def matching_conversations(dialect: str, *, org_id: int, query: str) -> Select[Any] | None:
    """The ids of the organisation's conversations with a message matching every word (to
    use as `Conversation.id IN (…)`); None when the query has no words at all."""
    terms = terms_of(query)
    if not terms:
        return None
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
    return select(Message.conversation_id).where(Message.org_id == org_id, Message.id.in_(matching))
