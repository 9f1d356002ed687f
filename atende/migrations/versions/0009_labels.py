"""Labels for conversations and contacts; indexes for the conversation list's filters

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 01:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from atende.core.db import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UNREAD = sa.text("unread_count > 0")


def upgrade() -> None:
    op.create_table(
        "labels",
        sa.Column("id", BigId, nullable=False),
        sa.Column("org_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("name_key", sa.String(length=160), nullable=False),
        sa.Column("colour", sa.String(length=12), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "name_key"),
    )
    op.create_table(
        "conversation_labels",
        sa.Column("conversation_id", BigId, nullable=False),
        sa.Column("label_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["label_id"], ["labels.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("conversation_id", "label_id"),
    )
    op.create_index(
        "ix_conversation_labels_label", "conversation_labels", ["label_id", "conversation_id"]
    )
    op.create_table(
        "contact_labels",
        sa.Column("contact_id", BigId, nullable=False),
        sa.Column("label_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["label_id"], ["labels.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("contact_id", "label_id"),
    )
    op.create_index("ix_contact_labels_label", "contact_labels", ["label_id", "contact_id"])
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_instance_id")
        batch_op.create_index("ix_conversations_instance_last", ["instance_id", "last_message_at"])
        batch_op.create_index(
            "ix_conversations_org_mode_last", ["org_id", "mode", "last_message_at"]
        )
        batch_op.create_index(
            "ix_conversations_org_assignee_last",
            ["org_id", "assignee_user_id", "last_message_at"],
        )
        batch_op.create_index(
            "ix_conversations_org_unread_last",
            ["org_id", "last_message_at"],
            sqlite_where=UNREAD,
            postgresql_where=UNREAD,
        )


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_org_unread_last")
        batch_op.drop_index("ix_conversations_org_assignee_last")
        batch_op.drop_index("ix_conversations_org_mode_last")
        batch_op.drop_index("ix_conversations_instance_last")
        batch_op.create_index("ix_conversations_instance_id", ["instance_id"])
    op.drop_index("ix_contact_labels_label", table_name="contact_labels")
    op.drop_table("contact_labels")
    op.drop_index("ix_conversation_labels_label", table_name="conversation_labels")
    op.drop_table("conversation_labels")
    op.drop_table("labels")
