"""`Idempotency-Key` for unsafe API requests: a retried request gets the first answer again.

The key row is written in the same transaction as the work, so the work and the memory of it
commit together. The same key with a different body is refused, never silently replayed.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from atende.core.db import Base, UTCDateTime, utcnow
from atende.core.errors import InvalidInput, Problem
from atende.core.models import BigId
from atende.core.sql import insert_ignoring_conflicts

KEY_RETENTION = timedelta(hours=24)
MAX_KEY_LENGTH = 200


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("org_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    fingerprint: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyMismatch(Problem):
    status, code, title = 422, "idempotency-key-reused", "Idempotency-Key reused"


@dataclass(frozen=True, slots=True)
class Claim:
    """`replay` holds the earlier answer when this request was already done."""

    record_id: int
    replay: dict[str, Any] | None


def fingerprint(route: str, body: Any) -> str:
    canonical = json.dumps([route, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def claim(session: AsyncSession, *, org_id: int, key: str, print_: str) -> Claim:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput("Idempotency-Key must be 1 to 200 printable characters.")
    await session.execute(
        insert_ignoring_conflicts(session, IdempotencyRecord).values(
            org_id=org_id, key=key, fingerprint=print_, response=None, created_at=utcnow()
        )
    )
    record = await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.org_id == org_id, IdempotencyRecord.key == key
        )
    )
    assert record is not None
    if record.fingerprint != print_:
        raise IdempotencyMismatch("This Idempotency-Key was used with a different request.")
    return Claim(record.id, record.response)


async def remember(session: AsyncSession, *, record_id: int, response: dict[str, Any]) -> None:
    record = await session.get(IdempotencyRecord, record_id)
    assert record is not None
    record.response = response
    await session.flush()


async def purge_expired(session: AsyncSession) -> None:
    await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utcnow() - KEY_RETENTION)
    )
