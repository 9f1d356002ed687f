"""agents' HTTP tools (agent_tools); web pages as knowledge need no schema change

Revision ID: 0011
Revises: 0008
Create Date: 2026-11-25 01:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import atende.core.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_tools",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("headers_encrypted", sa.JSON(), nullable=False),
        sa.Column("timeout_seconds", sa.Float(), nullable=False),
        sa.Column("created_at", atende.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", atende.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_tools_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_agent_tools_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_tools")),
        sa.UniqueConstraint("agent_id", "name", name=op.f("uq_agent_tools_agent_id")),
    )
    with op.batch_alter_table("agent_tools", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_tools_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("agent_tools", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_tools_org_id"))
    op.drop_table("agent_tools")
