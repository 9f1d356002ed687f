"""Deletes what is kept only for a while: stored events (resume reaches back that far) and
Idempotency-Key records."""

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import delete

from atende.core.db import Database, utcnow
from atende.core.events import Event
from atende.core.idempotency import purge_expired

log = logging.getLogger("atende.realtime")


async def purge_events(database: Database, *, retention: timedelta) -> int:
    async with database.unit_of_work() as session:
        result = await session.execute(delete(Event).where(Event.created_at < utcnow() - retention))
        return int(getattr(result, "rowcount", 0) or 0)


async def retention_loop(database: Database, *, retention: timedelta, every: float) -> None:
    while True:
        try:
            removed = await purge_events(database, retention=retention)
            if removed:
                log.info("events purged", extra={"count": removed})
            # Idempotency-Key records are kept for a day too; the same sweep removes them.
            async with database.unit_of_work() as session:
                await purge_expired(session)
        except Exception:
            log.exception("event retention failed; trying again later")
        await asyncio.sleep(every)
