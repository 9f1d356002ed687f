"""message search: a stored vector column on PostgreSQL

Revision ID: 0013
Revises: 0008
Create Date: 2026-11-25 02:00:00
"""

from collections.abc import Sequence

from alembic import op

# PostgreSQL only (SQLite keeps 0007's FTS5 table). 0007 indexed an expression; reading the
# newest matches of a common word then meant walking the primary key backwards and computing
# every row's vector again (tens of microseconds each: a word in 1 % of a million messages
# took 0.75 s). A stored generated column is computed once, on write, and the GIN index is
# built over it. Named `fts_*`: no model describes it (atende.core.migrate).
ACCENTED = "ÁÀÂÃÄÅáàâãäåÉÈÊËéèêëÍÌÎÏíìîïÓÒÔÕÖóòôõöÚÙÛÜúùûüÇçÑñÝýÿ"
PLAIN = "AAAAAAaaaaaaEEEEeeeeIIIIiiiiOOOOOoooooUUUUuuuuCcNnYyy"
PG_VECTOR = (
    f"to_tsvector('simple', lower(translate(coalesce(\"text\", ''), '{ACCENTED}', '{PLAIN}')))"
)

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS fts_messages")
    op.execute(
        f"ALTER TABLE messages ADD COLUMN fts_vector tsvector GENERATED ALWAYS AS ({PG_VECTOR}) "
        "STORED"
    )
    op.execute("CREATE INDEX fts_messages ON messages USING gin (fts_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS fts_messages")
    op.execute("ALTER TABLE messages DROP COLUMN IF EXISTS fts_vector")
    op.execute(f"CREATE INDEX fts_messages ON messages USING gin (({PG_VECTOR}))")
