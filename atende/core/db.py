"""Database engine, sessions and the unit of work.

SQLite (the embedded default) runs in WAL mode with a busy timeout and foreign keys on; write
transactions start with `BEGIN IMMEDIATE` so two writers queue on the lock instead of failing
when a read lock cannot be upgraded. PostgreSQL needs none of that.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import await_only

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


class Database:
    """One engine per process, with a read session factory and a write session factory."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
            kwargs["pool_size"] = 8
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        # One writer at a time, queued in this process: SQLite allows one write transaction,
        # and writers that meet its lock fall into its busy handler, which sleeps (1 ms, 2 ms,
        # 5 ms ... 100 ms) instead of waking when the lock frees. An asyncio lock wakes at once.
        self.sqlite_writer_lock = asyncio.Lock()
        if self.is_sqlite:
            _configure_sqlite(self.engine, self.sqlite_writer_lock)
        writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self._commit_listeners: list[CommitListener] = []
        info = {DATABASE_KEY: self}
        self.read_sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=OutboxSession, info=info
        )
        self.write_sessions = async_sessionmaker(
            writer, expire_on_commit=False, sync_session_class=OutboxSession, info=info
        )

    def add_commit_listener(self, listener: "CommitListener") -> None:
        """Called after each commit that wrote events, with {org_id: highest new seq} and the
        number of events written."""
        self._commit_listeners.append(listener)

    @property
    def sqlite_sync_url(self) -> str:
        """The same SQLite file for the standard-library driver (threads that batch writes)."""
        return self.url.replace("sqlite+aiosqlite:", "sqlite:", 1)

    def announce_committed(self, pending: dict[int, int], count: int) -> None:
        """For writers outside a session (batch writers): events they committed."""
        self._announce(pending, count)

    def _announce(self, pending: dict[int, int], count: int) -> None:
        for listener in self._commit_listeners:
            listener(pending, count)

    @asynccontextmanager
    async def unit_of_work(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        """Commit on success, roll back on error. Services flush; only this commits."""
        factory = self.write_sessions if write else self.read_sessions
        async with factory() as session:
            try:
                yield session
                if write:
                    await session.commit()
                else:
                    await session.rollback()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()


DATABASE_KEY = "atende.database"
HOLDS_WRITER_LOCK = "atende.holds_writer_lock"
PENDING_EVENTS_KEY = "atende.pending_events"
PENDING_COUNT_KEY = "atende.pending_count"
CommitListener = Callable[[dict[int, int], int], None]


class OutboxSession(Session):
    """Announces the events a transaction wrote once (and only if) it commits."""


@event.listens_for(OutboxSession, "after_commit")
def _after_commit(session: Session) -> None:
    pending: dict[int, int] = session.info.pop(PENDING_EVENTS_KEY, {})
    count: int = session.info.pop(PENDING_COUNT_KEY, 0)
    database = session.info.get(DATABASE_KEY)
    if pending and isinstance(database, Database):
        database._announce(pending, count)


@event.listens_for(OutboxSession, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING_EVENTS_KEY, None)
    session.info.pop(PENDING_COUNT_KEY, None)


def sqlite_connection_setup(dbapi_connection: Any, _record: Any = None) -> None:
    """WAL, a busy timeout, foreign keys; and BEGIN left to SQLAlchemy's "begin" event."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _configure_sqlite(engine: AsyncEngine, writer_lock: asyncio.Lock) -> None:
    event.listen(engine.sync_engine, "connect", sqlite_connection_setup)

    # The writer lock is taken when a write transaction begins and released when its
    # connection returns to the pool (after COMMIT or ROLLBACK has completed).
    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode == "IMMEDIATE":
            await_only(writer_lock.acquire())
            conn.connection.info[HOLDS_WRITER_LOCK] = True
        conn.exec_driver_sql(f"BEGIN {mode}")

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop(HOLDS_WRITER_LOCK, False):
            writer_lock.release()
