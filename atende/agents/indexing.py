"""The durable job that indexes a large knowledge source in batches (`knowledge.INDEX_JOB`).

The source goes `queued` → `indexing` → `ready`, or `failed` with the reason. Each batch of
`BATCH_CHUNKS` chunks is inserted in its own transaction with the source's progress and a
`knowledge.progress` event, so the page's progress bar moves and a killed process resumes:
its job is claimed again once its lease expires, and goes on from the last committed batch.
A source that cannot be indexed (too many chunks, an error on the last attempt) ends
`failed`; one deleted meanwhile ends the job quietly.
"""

import asyncio
import logging
from dataclasses import dataclass
from typing import cast

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from atende.agents.events import KnowledgeProgress
from atende.agents.knowledge import INDEX_ATTEMPTS, chunk_rows, too_many_chunks
from atende.agents.models import KnowledgeChunk, KnowledgeSource
from atende.agents.schemas import SourceStatus
from atende.core.db import Database, utcnow
from atende.core.events import record_event
from atende.core.jobs import Job, PermanentFailure

log = logging.getLogger("atende.agents.indexing")
BATCH_CHUNKS = 100
MAX_REASON = 500


async def _source(session: AsyncSession, org_id: int, source_id: int) -> KnowledgeSource | None:
    return await session.scalar(
        select(KnowledgeSource).where(
            KnowledgeSource.id == source_id, KnowledgeSource.org_id == org_id
        )
    )


async def _announce(session: AsyncSession, source: KnowledgeSource) -> None:
    source.updated_at = utcnow()
    await session.flush()
    await record_event(
        session,
        org_id=source.org_id,
        payload=KnowledgeProgress(
            agent_id=source.agent_id,
            source_id=source.id,
            status=cast(SourceStatus, source.status),
            done=source.progress_done,
            total=source.progress_total,
            error=source.error,
        ),
    )


@dataclass
class KnowledgeIndexer:
    database: Database
    batch: int = BATCH_CHUNKS

    async def __call__(self, job: Job) -> None:
        source_id = int(job.payload["source_id"])
        assert job.org_id is not None
        try:
            await self._index(job.org_id, source_id)
        except PermanentFailure as failure:
            await self._fail(job.org_id, source_id, failure.reason)
            raise
        except Exception as exc:
            if job.attempt >= INDEX_ATTEMPTS:  # no retry is left: say so on the source
                await self._fail(job.org_id, source_id, f"indexing failed: {exc}")
            raise

    async def _index(self, org_id: int, source_id: int) -> None:
        async with self.database.unit_of_work(write=False) as session:
            source = await _source(session, org_id, source_id)
            if source is not None:
                session.expunge(source)  # read after the session (chunking takes a while)
        if source is None or source.status not in ("queued", "indexing"):
            return  # deleted, or settled by an earlier run of this job
        # Resuming: what earlier batches committed stays; a fresh start replaces everything.
        done = source.progress_done if source.status == "indexing" else 0
        rows = await asyncio.to_thread(chunk_rows, source)
        if problem := too_many_chunks(len(rows)):
            raise PermanentFailure(problem)
        async with self.database.unit_of_work() as session:
            source = await _source(session, org_id, source_id)
            if source is None:
                return
            await session.execute(
                delete(KnowledgeChunk).where(
                    KnowledgeChunk.source_id == source_id, KnowledgeChunk.ordinal >= done
                )
            )
            source.status = "indexing" if rows else "ready"
            source.progress_done = source.chunk_count = done
            source.progress_total = len(rows)
            source.error = None
            await _announce(session, source)
        while done < len(rows):
            async with self.database.unit_of_work() as session:
                source = await _source(session, org_id, source_id)
                if source is None or source.status != "indexing":
                    return  # deleted meanwhile
                batch = rows[done : done + self.batch]
                await session.execute(insert(KnowledgeChunk), batch)
                done += len(batch)
                source.progress_done = source.chunk_count = done
                if done == len(rows):
                    source.status = "ready"
                await _announce(session, source)
        log.info("knowledge indexed", extra={"source_id": source_id, "chunks": len(rows)})

    async def _fail(self, org_id: int, source_id: int, reason: str) -> None:
        async with self.database.unit_of_work() as session:
            source = await _source(session, org_id, source_id)
            if source is None:
                return
            source.status = "failed"
            source.error = reason[:MAX_REASON]
            await _announce(session, source)
