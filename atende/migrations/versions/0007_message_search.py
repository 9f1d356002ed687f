"""full-text search over message text

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 00:45:00
"""

from collections.abc import Sequence

from alembic import op

# Full-text search over messages (see atende/inbox/search.py, which must query with the same
# expressions). Named `fts_*`: no model describes them (atende.core.migrate).
# SQLite: an external-content FTS5 table folding accents in its tokenizer, kept in sync by
# triggers (which also see rows removed by ON DELETE CASCADE). A later migration that rebuilds
# `messages` in batch mode must recreate these triggers.
SQLITE_FTS = [
    "CREATE VIRTUAL TABLE fts_messages USING fts5(text, content='messages', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER fts_messages_ai AFTER INSERT ON messages WHEN new.text IS NOT NULL BEGIN "
    "INSERT INTO fts_messages(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER fts_messages_ad AFTER DELETE ON messages WHEN old.text IS NOT NULL BEGIN "
    "INSERT INTO fts_messages(fts_messages, rowid, text) VALUES ('delete', old.id, old.text); "
    "END",
    "CREATE TRIGGER fts_messages_au AFTER UPDATE OF text ON messages BEGIN "
    "INSERT INTO fts_messages(fts_messages, rowid, text) "
    "SELECT 'delete', old.id, old.text WHERE old.text IS NOT NULL; "
    "INSERT INTO fts_messages(rowid, text) SELECT new.id, new.text WHERE new.text IS NOT NULL; "
    "END",
    "INSERT INTO fts_messages(rowid, text) SELECT id, text FROM messages WHERE text IS NOT NULL",
]
SQLITE_FTS_DROP = [
    "DROP TRIGGER IF EXISTS fts_messages_au",
    "DROP TRIGGER IF EXISTS fts_messages_ad",
    "DROP TRIGGER IF EXISTS fts_messages_ai",
    "DROP TABLE IF EXISTS fts_messages",
]
# PostgreSQL: a GIN index over the accent-folded text, `simple` config (Portuguese and English
# alike); translate() folds accents without the unaccent extension (not immutable).
ACCENTED = "ÁÀÂÃÄÅáàâãäåÉÈÊËéèêëÍÌÎÏíìîïÓÒÔÕÖóòôõöÚÙÛÜúùûüÇçÑñÝýÿ"
PLAIN = "AAAAAAaaaaaaEEEEeeeeIIIIiiiiOOOOOoooooUUUUuuuuCcNnYyy"
PG_VECTOR = (
    f"to_tsvector('simple', lower(translate(coalesce(\"text\", ''), '{ACCENTED}', '{PLAIN}')))"
)

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
    else:
        op.execute(f"CREATE INDEX fts_messages ON messages USING gin (({PG_VECTOR}))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_FTS_DROP:
            op.execute(statement)
    else:
        op.execute("DROP INDEX IF EXISTS fts_messages")
