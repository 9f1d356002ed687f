"""Audit log of administrative actions (who did what, from where)."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from atende.core.models import AuditEntry


@dataclass(frozen=True, slots=True)
class Actor:
    """Who performs an action: a signed-in user or an API key, from an address."""

    org_id: int
    user_id: int | None = None
    api_key_id: int | None = None
    ip: str = ""


async def record_audit(
    session: AsyncSession,
    *,
    actor: Actor,
    action: str,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            org_id=actor.org_id,
            actor_user_id=actor.user_id,
            actor_api_key_id=actor.api_key_id,
            action=action,
            target=target,
            details=details or {},
            ip=actor.ip,
        )
    )
    await session.flush()


async def list_audit(session: AsyncSession, *, org_id: int, limit: int = 100) -> list[AuditEntry]:
    rows = await session.scalars(
        select(AuditEntry)
        .where(AuditEntry.org_id == org_id)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    return list(rows)
