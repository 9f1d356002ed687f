"""Voice notes, images and indexing progress: the agent's transcription model and vision flag
(agents.transcription_model, agents.vision); a knowledge source's progress
(knowledge_sources.progress_done, progress_total)

Revision ID: 0012
Revises: 0008
Create Date: 2026-11-25 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Adding columns only: SQLite's ALTER TABLE does it in place (no table rebuild, so the
    # full-text triggers of knowledge_chunks are untouched). Server defaults fill existing rows.
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("transcription_model", sa.String(120), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("vision", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("knowledge_sources", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("progress_done", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("progress_total", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("knowledge_sources", schema=None) as batch_op:
        batch_op.drop_column("progress_total")
        batch_op.drop_column("progress_done")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("vision")
        batch_op.drop_column("transcription_model")
