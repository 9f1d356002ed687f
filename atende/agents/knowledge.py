"""Knowledge sources of an agent: pasted text, FAQ pairs, files and web pages, chunked and
indexed.

A source keeps what it was made from (`content`), so it can be indexed again; a web page
keeps its URL too, and re-indexing fetches it again (`webpage.py`, before the transaction). A
small source is indexed in the caller's transaction: the chunks, the source's status and the
search index (kept in sync by the database, see `models.py`) change together or not at all,
and the request answers with it `ready` (under `SYNC_TEXT_CHARS`, about 150 chunks, that takes
well under a second, and the API client or the page needs no second look). A larger one is
`queued` and indexed by a durable job in batches (`indexing.py`), its progress announced by
`knowledge.progress` events, so an upload never holds a request (or a write lock) for long.
"""

import uuid
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from atende.agents.chunking import chunk_text
from atende.agents.events import KnowledgeProgress
from atende.agents.extract import Extracted
from atende.agents.models import KnowledgeChunk, KnowledgeSource
from atende.agents.schemas import FaqSourceIn, KnowledgeSourceOut, SourceStatus, TextSourceIn
from atende.agents.service import get_agent
from atende.agents.webpage import WebPage
from atende.core.audit import Actor, record_audit
from atende.core.db import utcnow
from atende.core.errors import Conflict, InvalidInput, NotFound
from atende.core.events import record_event
from atende.core.jobs import enqueue

MAX_CHUNKS_PER_SOURCE = 5000
INDEX_JOB = "agents.index_knowledge"
INDEX_ATTEMPTS = 5
SYNC_TEXT_CHARS = 100_000
SYNC_PAIRS = 200
# A source `indexing` without progress for this long lost its job: it may be indexed again.
STALE_AFTER = timedelta(minutes=15)


def source_out(source: KnowledgeSource) -> KnowledgeSourceOut:
    return KnowledgeSourceOut(
        id=source.id,
        agent_id=source.agent_id,
        kind=source.kind,
        title=source.title,
        filename=source.filename,
        url=source.content.get("url") if source.kind == "url" else None,
        status=cast(SourceStatus, source.status),
        error=source.error,
        chunk_count=source.chunk_count,
        progress_done=source.progress_done,
        progress_total=source.progress_total,
        created_at=source.created_at,
        updated_at=source.updated_at,
    )


def chunk_rows(source: KnowledgeSource) -> list[dict[str, Any]]:
    base = {"source_id": source.id, "agent_id": source.agent_id, "org_id": source.org_id}
    pairs = source.content.get("pairs") or []
    if pairs:
        return [
            {**base, "ordinal": n, "text": answer, "question": question, "answer": answer}
            for n, (question, answer) in enumerate(pairs)
        ]
    chunks = chunk_text(source.content.get("text", ""))
    return [
        {**base, "ordinal": n, "text": chunk, "question": "", "answer": None}
        for n, chunk in enumerate(chunks)
    ]


def too_many_chunks(count: int) -> str | None:
    if count <= MAX_CHUNKS_PER_SOURCE:
        return None
    return (
        f"This source would make {count} chunks; the limit is {MAX_CHUNKS_PER_SOURCE}. "
        "Split it into several sources."
    )


def is_large(content: dict[str, Any]) -> bool:
    """Indexed in the background (see the module's docstring)."""
    text = content.get("text") or ""
    return len(text) > SYNC_TEXT_CHARS or len(content.get("pairs") or []) > SYNC_PAIRS


async def _index(session: AsyncSession, source: KnowledgeSource) -> None:
    """Replaces the source's chunks with fresh ones from its content (a large source: queues
    the job that does it)."""
    if is_large(source.content):
        await _queue(session, source)
        return
    rows = chunk_rows(source)
    if problem := too_many_chunks(len(rows)):
        raise InvalidInput(problem, field={"file": "file", "url": "url"}.get(source.kind, "text"))
    await session.execute(delete(KnowledgeChunk).where(KnowledgeChunk.source_id == source.id))
    if rows:
        await session.execute(insert(KnowledgeChunk), rows)
    source.chunk_count = source.progress_done = source.progress_total = len(rows)
    source.status = "ready"
    source.error = None
    source.updated_at = utcnow()
    await session.flush()


async def _queue(session: AsyncSession, source: KnowledgeSource) -> None:
    source.status = "queued"
    source.error = None
    source.progress_done = source.progress_total = 0
    source.updated_at = utcnow()
    await session.flush()
    await enqueue(
        session,
        kind=INDEX_JOB,
        key=f"knowledge:{source.id}:{uuid.uuid4().hex}",  # each indexing of the source
        payload={"source_id": source.id},
        org_id=source.org_id,
        max_attempts=INDEX_ATTEMPTS,
    )
    await record_event(
        session,
        org_id=source.org_id,
        payload=KnowledgeProgress(
            agent_id=source.agent_id, source_id=source.id, status="queued", done=0, total=0
        ),
    )


async def _add(
    session: AsyncSession,
    *,
    org_id: int,
    agent_id: int,
    kind: str,
    title: str,
    content: dict[str, Any],
    actor: Actor,
    filename: str | None = None,
) -> KnowledgeSource:
    await get_agent(session, org_id=org_id, agent_id=agent_id)
    source = KnowledgeSource(
        org_id=org_id,
        agent_id=agent_id,
        kind=kind,
        title=title,
        content=content,
        filename=filename,
        status="indexing",
        chunk_count=0,
        progress_done=0,
        progress_total=0,
    )
    session.add(source)
    await session.flush()
    await _index(session, source)
    await record_audit(
        session, actor=actor, action="knowledge.added", target=f"{agent_id}/{source.id}"
    )
    return source


async def add_text(
    session: AsyncSession, *, org_id: int, agent_id: int, data: TextSourceIn, actor: Actor
) -> KnowledgeSource:
    return await _add(
        session,
        org_id=org_id,
        agent_id=agent_id,
        kind="text",
        title=data.title,
        content={"text": data.text},
        actor=actor,
    )


async def add_faq(
    session: AsyncSession, *, org_id: int, agent_id: int, data: FaqSourceIn, actor: Actor
) -> KnowledgeSource:
    return await _add(
        session,
        org_id=org_id,
        agent_id=agent_id,
        kind="faq",
        title=data.title,
        content={"pairs": [[p.question, p.answer] for p in data.pairs]},
        actor=actor,
    )


async def add_file(
    session: AsyncSession,
    *,
    org_id: int,
    agent_id: int,
    title: str,
    filename: str,
    extracted: Extracted,
    actor: Actor,
) -> KnowledgeSource:
    content: dict[str, Any] = (
        {"pairs": [list(p) for p in extracted.pairs]}
        if extracted.pairs
        else {"text": extracted.text}
    )
    return await _add(
        session,
        org_id=org_id,
        agent_id=agent_id,
        kind="file",
        title=title or filename,
        content=content,
        actor=actor,
        filename=filename,
    )


async def add_url(
    session: AsyncSession,
    *,
    org_id: int,
    agent_id: int,
    url: str,
    title: str,
    page: WebPage,
    actor: Actor,
) -> KnowledgeSource:
    """A web page fetched (`webpage.read_page`) by the caller before the transaction."""
    return await _add(
        session,
        org_id=org_id,
        agent_id=agent_id,
        kind="url",
        title=title or page.title or url[:200],
        content={"url": url, "text": page.text},
        actor=actor,
    )


async def list_sources(
    session: AsyncSession, *, org_id: int, agent_id: int
) -> list[KnowledgeSource]:
    await get_agent(session, org_id=org_id, agent_id=agent_id)
    rows = await session.scalars(
        select(KnowledgeSource)
        .where(KnowledgeSource.org_id == org_id, KnowledgeSource.agent_id == agent_id)
        .order_by(KnowledgeSource.id)
    )
    return list(rows)


async def get_source(
    session: AsyncSession, *, org_id: int, agent_id: int, source_id: int
) -> KnowledgeSource:
    source = await session.scalar(
        select(KnowledgeSource).where(
            KnowledgeSource.id == source_id,
            KnowledgeSource.agent_id == agent_id,
            KnowledgeSource.org_id == org_id,
        )
    )
    if source is None:
        raise NotFound("Knowledge source not found.")
    return source


async def delete_source(
    session: AsyncSession, *, org_id: int, agent_id: int, source_id: int, actor: Actor
) -> None:
    source = await get_source(session, org_id=org_id, agent_id=agent_id, source_id=source_id)
    await session.delete(source)
    await session.flush()
    await record_audit(
        session, actor=actor, action="knowledge.deleted", target=f"{agent_id}/{source_id}"
    )


async def reindex_source(
    session: AsyncSession,
    *,
    org_id: int,
    agent_id: int,
    source_id: int,
    actor: Actor,
    page: WebPage | None = None,
) -> KnowledgeSource:
    """Indexes the source again; a web page from `page`, fetched again by the caller."""
    source = await get_source(session, org_id=org_id, agent_id=agent_id, source_id=source_id)
    busy = source.status in {"queued", "indexing"}
    if busy and utcnow() - source.updated_at < STALE_AFTER:
        raise Conflict("This source is being indexed; it can be indexed again once it is done.")
    if source.kind == "url" and page is not None:
        source.content = {**source.content, "text": page.text}
    await _index(session, source)
    await record_audit(
        session, actor=actor, action="knowledge.reindexed", target=f"{agent_id}/{source_id}"
    )
    return source
