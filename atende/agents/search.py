"""Full-text retrieval over an agent's knowledge chunks, on SQLite and PostgreSQL alike.

Text is folded (accents removed, lower case) and split into words without any language's
stemming or stop words in the index, so Portuguese and English both work. A query keeps its
meaningful words (a small list of Portuguese and English function words is dropped) and
matches words that start like them (the first six letters of a long word, a crude stemming
that works in both languages: "cancelamento" finds "cancelar", "horários" finds "horário").
Any word may match; ranking decides (bm25 on SQLite's FTS5, ts_rank on PostgreSQL), the
question of an FAQ pair weighing more than the text. Each hit also carries its `coverage`, the
share of query words it contains, which is comparable across both databases (the offline brain
decides by it).

The index itself is created by the migration `0005` (objects named `fts_*`); the PostgreSQL
expression here must stay identical to the indexed one, or the index is not used.
"""

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

PREFIX_LETTERS = 6
MAX_TERMS = 24
_PT_STOPWORDS = (
    "a o as os um uma uns umas de da do das dos em no na nos nas por pelo pela para pra com "
    "sem e ou que qual quais quem como onde quando porque se nao sim ao aos isso esse essa este "
    "esta estao estou ser sao eh e foi tem ter tenho voce voces vcs eu meu minha me mim nosso "
    "nossa seu sua ja so mais muito pode podem posso consigo gostaria queria quero saber "
    "preciso favor oi ola obrigado obrigada la aqui ate tambem entao vou vai"
)
_EN_STOPWORDS = (
    "an the of to in on at for with and or is are was be do does did can could would should i "
    "you we my your our it its this that what how when where which who why there any have has "
    "if me please hi hello thanks about get from by as will much many want need know tell us "
    "am"
)
STOPWORDS = frozenset(f"{_PT_STOPWORDS} {_EN_STOPWORDS}".split())  # folded
_WORD = re.compile(r"[a-z0-9]+")

ACCENTED = "ÁÀÂÃÄÅáàâãäåÉÈÊËéèêëÍÌÎÏíìîïÓÒÔÕÖóòôõöÚÙÛÜúùûüÇçÑñÝýÿ"
PLAIN = "AAAAAAaaaaaaEEEEeeeeIIIIiiiiOOOOOoooooUUUUuuuuCcNnYyy"
_PG_VECTOR = (
    f"setweight(to_tsvector('simple', lower(translate(c.question, '{ACCENTED}', '{PLAIN}'))),"
    " 'A') || setweight(to_tsvector('simple', lower(translate(c.\"text\", "
    f"'{ACCENTED}', '{PLAIN}'))), 'B')"
)
_SELECT = (
    "SELECT c.id, c.source_id, s.title, c.text, c.question, c.answer, {score} AS score "
    "FROM {source} JOIN knowledge_sources s ON s.id = c.source_id "
    "WHERE {match} AND c.org_id = :org_id AND c.agent_id = :agent_id AND s.status = 'ready' "
    "ORDER BY score DESC, c.id LIMIT :limit"
)
_SQLITE = _SELECT.format(
    score="-bm25(fts_knowledge_chunks, 4.0, 1.0)",
    source="fts_knowledge_chunks JOIN knowledge_chunks c ON c.id = fts_knowledge_chunks.rowid",
    match="fts_knowledge_chunks MATCH :query",
)
_POSTGRESQL = _SELECT.format(
    score=f"ts_rank({_PG_VECTOR}, to_tsquery('simple', :query))",
    source="knowledge_chunks c",
    match=f"({_PG_VECTOR}) @@ to_tsquery('simple', :query)",
)


@dataclass(frozen=True, slots=True)
class SearchHit:
    chunk_id: int
    source_id: int
    source_title: str
    text: str
    question: str
    answer: str | None
    score: float  # higher is better; comparable only within one database
    coverage: float  # share of the query's words found in the chunk, 0..1


def fold(value: str) -> str:
    """Lower case without accents: "Não É" -> "nao e"."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def words(value: str) -> list[str]:
    return _WORD.findall(fold(value))


def query_terms(query: str) -> list[str]:
    """The query's meaningful words as match patterns: a word, or a prefix ending in `*`."""
    terms: list[str] = []
    for word in words(query):
        if word in STOPWORDS or (len(word) < 2 and not word.isdigit()):
            continue
        term = word if len(word) < 4 else word[:PREFIX_LETTERS] + "*"
        if term not in terms:
            terms.append(term)
    return terms[:MAX_TERMS]


def coverage(terms: list[str], *texts: str) -> float:
    found = {w for t in texts for w in words(t)}
    if not terms:
        return 0.0
    hits = sum(
        1
        for term in terms
        if (any(w.startswith(term[:-1]) for w in found) if term.endswith("*") else term in found)
    )
    return hits / len(terms)


async def search(
    session: AsyncSession, *, org_id: int, agent_id: int, query: str, limit: int = 5
) -> list[SearchHit]:
    """The agent's chunks best matching `query`, best first (only of sources that are ready)."""
    terms = query_terms(query)
    if not terms:
        return []
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    if dialect == "postgresql":
        sql, expression = _POSTGRESQL, " | ".join(t.replace("*", ":*") for t in terms)
    else:
        sql, expression = _SQLITE, " OR ".join(terms)
    rows = await session.execute(
        text(sql),
        {"query": expression, "org_id": org_id, "agent_id": agent_id, "limit": limit},
    )
    return [
        SearchHit(
            chunk_id=row[0],
            source_id=row[1],
            source_title=row[2],
            text=row[3],
            question=row[4],
            answer=row[5],
            score=float(row[6]),
            coverage=coverage(terms, row[4], row[3]),
        )
        for row in rows
    ]
