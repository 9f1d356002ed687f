"""Large knowledge sources are indexed in the background, in batches: `queued`, `indexing` with
progress announced by `knowledge.progress` events, then `ready`; a source that cannot be
indexed ends `failed` with its reason, and an interrupted indexing resumes where it stopped."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import func, select

from atende.agents.indexing import BATCH_CHUNKS, KnowledgeIndexer
from atende.agents.knowledge import INDEX_JOB, MAX_CHUNKS_PER_SOURCE, SYNC_TEXT_CHARS, chunk_rows
from atende.agents.models import KnowledgeChunk, KnowledgeSource
from atende.core.db import Database
from atende.core.jobs import Job
from tests.support.direct_db import direct_session, problem_of
from tests.support.server import Server
from tests.support.sse import SseEvent, iter_events
from tests.support.tenants import Tenant


def big_text(chars: int) -> str:
    paragraphs = []
    n = 0
    while sum(len(p) + 2 for p in paragraphs) < chars:
        n += 1
        paragraphs.append(
            f"Seção {n}: a política de trocas da loja {n} aceita devoluções em até {n % 30 + 1} "
            "dias, com nota fiscal, produto sem uso e na embalagem original. " * 3
        )
    return "\n\n".join(paragraphs)


async def new_agent(tenant: Tenant) -> int:
    agent = await tenant.client.post("/api/v1/agents", json={"name": "Ana"})
    assert agent.status_code == 201, agent.text
    return int(agent.json()["id"])


async def progress_until_settled(events: AsyncIterator[SseEvent]) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    async def take() -> None:
        async for event in events:
            if event.event == "knowledge.progress":
                seen.append(event.json["data"])
                if seen[-1]["status"] in ("ready", "failed"):
                    return

    await asyncio.wait_for(take(), timeout=60)
    return seen


async def test_a_large_source_is_indexed_in_batches_with_live_progress(tenant: Tenant) -> None:
    agent_id = await new_agent(tenant)
    text = big_text(SYNC_TEXT_CHARS * 3)
    async with tenant.client.stream("GET", "/api/v1/events") as stream:
        created = await tenant.client.post(
            f"/api/v1/agents/{agent_id}/knowledge",
            json={"kind": "text", "title": "Manual", "text": text},
        )
        assert created.status_code == 201, created.text
        source = created.json()
        assert (source["status"], source["progress_done"], source["chunk_count"]) == (
            "queued",
            0,
            0,
        )
        progress = await progress_until_settled(iter_events(stream))
    assert {p["source_id"] for p in progress} == {source["id"]}
    assert progress[0]["status"] == "queued"
    total = progress[-1]["total"]
    assert total > 2 * BATCH_CHUNKS, progress[-1]["error"]
    assert progress[-1] == {
        "agent_id": agent_id,
        "source_id": source["id"],
        "status": "ready",
        "done": total,
        "total": total,
        "error": None,
    }
    indexing = [p["done"] for p in progress if p["status"] == "indexing"]
    assert indexing[0] == 0
    assert indexing == sorted(indexing)
    assert len(indexing) >= 3  # batch by batch
    (listed,) = (await tenant.client.get(f"/api/v1/agents/{agent_id}/knowledge")).json()
    assert (listed["status"], listed["chunk_count"]) == ("ready", total)
    assert (listed["progress_done"], listed["progress_total"]) == (total, total)
    fragment = await tenant.client.get(f"/agents/{agent_id}/knowledge/sources")
    assert fragment.status_code == 200
    assert "<progress" not in fragment.text
    answer = await tenant.client.post(
        f"/api/v1/agents/{agent_id}/test", json={"text": "política de trocas da loja 7"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["passages"], answer.json()


async def test_a_small_source_is_ready_in_the_request(tenant: Tenant, other_tenant: Tenant) -> None:
    agent_id = await new_agent(tenant)
    created = await tenant.client.post(
        f"/api/v1/agents/{agent_id}/knowledge",
        json={"kind": "text", "title": "Curto", "text": big_text(3000)},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "ready"
    assert body["progress_done"] == body["progress_total"] == body["chunk_count"] > 0
    fragment = await tenant.client.get(f"/agents/{agent_id}/knowledge/sources")
    assert "Curto" in fragment.text
    foreign = await other_tenant.client.get(f"/agents/{agent_id}/knowledge/sources")
    assert foreign.status_code == 404
    assert "Curto" not in foreign.text


async def test_a_file_that_cannot_be_indexed_ends_failed_with_its_reason(tenant: Tenant) -> None:
    agent_id = await new_agent(tenant)
    rows = "\n".join(f"Pergunta {n}?,Resposta {n}." for n in range(MAX_CHUNKS_PER_SOURCE + 1))
    async with tenant.client.stream("GET", "/api/v1/events") as stream:
        created = await tenant.client.post(
            f"/api/v1/agents/{agent_id}/knowledge",
            files={"file": ("faq.csv", f"question,answer\n{rows}\n".encode(), "text/csv")},
        )
        assert created.status_code == 201, created.text
        assert created.json()["status"] == "queued"
        progress = await progress_until_settled(iter_events(stream))
    reason = (
        f"This source would make {MAX_CHUNKS_PER_SOURCE + 1} chunks; the limit is "
        f"{MAX_CHUNKS_PER_SOURCE}. Split it into several sources."
    )
    assert (progress[-1]["status"], progress[-1]["error"]) == ("failed", reason)
    (listed,) = (await tenant.client.get(f"/api/v1/agents/{agent_id}/knowledge")).json()
    assert (listed["status"], listed["error"], listed["chunk_count"]) == ("failed", reason, 0)
    page = await tenant.client.get(f"/agents/{agent_id}")
    assert reason in page.text


async def test_an_interrupted_indexing_resumes_after_its_last_batch(
    server: Server, tenant: Tenant
) -> None:
    """A process killed mid-way left two batches committed; the job, claimed again, goes on
    from there: the committed chunks stay, none is indexed twice."""
    agent_id = await new_agent(tenant)
    async with direct_session(server.database_url) as session:
        source = KnowledgeSource(
            org_id=tenant.org_id,
            agent_id=agent_id,
            kind="text",
            title="Interrompido",
            content={"text": big_text(SYNC_TEXT_CHARS * 2)},
            status="indexing",
        )
        session.add(source)
        await session.flush()
        rows = chunk_rows(source)
        committed = 2 * BATCH_CHUNKS
        for row in rows[:committed]:
            session.add(KnowledgeChunk(**row))
        source.progress_done = source.chunk_count = committed
        source.progress_total = len(rows)
    reindex = await tenant.client.post(f"/api/v1/agents/{agent_id}/knowledge/{source.id}/reindex")
    assert reindex.status_code == 409
    assert "being indexed" in str(problem_of(reindex)["detail"])
    async with direct_session(server.database_url) as session:
        first_ids = list(
            await session.scalars(
                select(KnowledgeChunk.id)
                .where(KnowledgeChunk.source_id == source.id)
                .order_by(KnowledgeChunk.ordinal)
            )
        )
    database = Database(server.database_url)
    try:
        job = Job(1, INDEX_JOB, "knowledge:test", {"source_id": source.id}, tenant.org_id, 2)
        await KnowledgeIndexer(database)(job)
    finally:
        await database.dispose()
    async with direct_session(server.database_url) as session:
        indexed = await session.get(KnowledgeSource, source.id)
        assert indexed is not None
        assert (indexed.status, indexed.chunk_count) == ("ready", len(rows))
        assert indexed.progress_done == indexed.progress_total == len(rows)
        ordinals = list(
            await session.scalars(
                select(KnowledgeChunk.ordinal)
                .where(KnowledgeChunk.source_id == source.id)
                .order_by(KnowledgeChunk.ordinal)
            )
        )
        assert ordinals == list(range(len(rows)))
        kept = await session.scalar(
            select(func.count()).where(KnowledgeChunk.id.in_(first_ids[:committed]))
        )
        assert kept == committed
