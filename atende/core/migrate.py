"""Runs Alembic migrations programmatically (`atende migrate`, `atende serve`, tests)."""

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# Objects written by hand in migrations that no model describes (full-text indexes: SQLite
# FTS5 tables with their shadow tables, PostgreSQL expression indexes) carry this prefix;
# autogenerate and the schema comparison leave them alone.
UNMODELLED_PREFIX = "fts_"


def include_name(name: str | None, _type: str, _parent_names: object) -> bool:
    """Alembic `include_name` hook: skips the unmodelled full-text objects."""
    return not (name or "").startswith(UNMODELLED_PREFIX)


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url)
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Blocking: call from a thread (or before the event loop starts)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)
