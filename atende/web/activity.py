"""Recent activity of an organisation, read from the stored events (read-only)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from atende.core import accounts
from atende.core.events import Event, EventCounter

RECENT_LIMIT = 15


@dataclass(frozen=True, slots=True)
class ActivityItem:
    seq: int
    type: str
    at: datetime
    payload: dict[str, Any]
    # The member the event is about, by the name they have now (events of role changes and
    # removals carry only the id).
    member_name: str


async def latest_event_seq(session: AsyncSession, *, org_id: int) -> int:
    """The organisation's last event: a page reflects it; its stream resumes right after it."""
    seq = await session.scalar(select(EventCounter.last_seq).where(EventCounter.org_id == org_id))
    return int(seq or 0)


async def recent_activity(
    session: AsyncSession, *, org_id: int, limit: int = RECENT_LIMIT
) -> list[ActivityItem]:
    rows = await session.execute(
        select(Event.seq, Event.type, Event.created_at, Event.payload)
        .where(Event.org_id == org_id)
        .order_by(Event.seq.desc())
        .limit(limit)
    )
    events = list(rows.tuples())
    if not events:
        return []
    names = {m.user_id: m.name for m in await accounts.list_members(session, org_id=org_id)}
    items = []
    for seq, type_, at, payload in events:
        user_id = payload.get("user_id")
        name = str(payload.get("name") or names.get(user_id, "") if user_id else "")
        items.append(ActivityItem(seq, type_, at, payload, name))
    return items
