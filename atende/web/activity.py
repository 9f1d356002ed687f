"""Recent activity of an organisation, read from the stored events (read-only)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from atende.core import accounts
from atende.core.events import latest_seq, recent_events

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
    return await latest_seq(session, org_id=org_id)


async def recent_activity(
    session: AsyncSession, *, org_id: int, limit: int = RECENT_LIMIT
) -> list[ActivityItem]:
    events = await recent_events(session, org_id=org_id, limit=limit)
    if not events:
        return []
    names = {m.user_id: m.name for m in await accounts.list_members(session, org_id=org_id)}
    items = []
    for event in events:
        payload = event.payload
        user_id = payload.get("user_id")
        name = str(payload.get("name") or names.get(user_id, "") if user_id else "")
        items.append(ActivityItem(event.seq, event.type, event.created_at, payload, name))
    return items
