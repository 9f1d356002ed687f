"""Tables of the inbox module: contacts, conversations and messages as people see them."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from atende.core.db import Base, UTCDateTime, utcnow
from atende.core.models import BigId


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("instance_id", "contact_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    # One person, however WhatsApp spells their id: the E.164 number (Brazilian mobiles with the
    # 9th digit), or the raw id when no number is known (@lid, groups).
    contact_key: Mapped[str] = mapped_column(String(120))
    wa_id: Mapped[str] = mapped_column(String(120))  # the chat id to write to
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    name: Mapped[str] = mapped_column(String(200), default="")
    is_group: Mapped[bool] = mapped_column(default=False)
    opted_out: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("contact_id"),
        Index("ix_conversations_org_last", "org_id", "last_message_at"),
        # The list's filters, each in the list's order so that a page reads a few index entries
        # whatever the filter (a rare mode, one person's or nobody's conversations, unread).
        Index("ix_conversations_org_mode_last", "org_id", "mode", "last_message_at"),
        Index("ix_conversations_instance_last", "instance_id", "last_message_at"),
        Index(
            "ix_conversations_org_assignee_last", "org_id", "assignee_user_id", "last_message_at"
        ),
        Index(
            "ix_conversations_org_unread_last",
            "org_id",
            "last_message_at",
            sqlite_where=text("unread_count > 0"),
            postgresql_where=text("unread_count > 0"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    mode: Mapped[str] = mapped_column(String(8), default="bot")
    assignee_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    unread_count: Mapped[int] = mapped_column(default=0)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_message_preview: Mapped[str] = mapped_column(String(200), default="")
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    bot_paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        # Providers retry: one row per provider message id and instance, whatever arrives twice.
        UniqueConstraint("instance_id", "provider_message_id"),
        Index("ix_messages_conversation", "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    author: Mapped[str] = mapped_column(String(8))  # contact | agent | operator | system
    type: Mapped[str] = mapped_column(String(12))
    text: Mapped[str | None] = mapped_column(Text, default=None)
    media: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    provider_message_id: Mapped[str | None] = mapped_column(String(128), default=None)
    status: Mapped[str] = mapped_column(String(10))
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    reply_to_provider_id: Mapped[str | None] = mapped_column(String(128), default=None)
    sender_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Label(Base):
    """A tag of the organisation's own ("VIP", "Complaint") for conversations and contacts."""

    __tablename__ = "labels"
    # One "VIP" per organisation however it is typed: `name_key` is the name case-folded.
    __table_args__ = (UniqueConstraint("org_id", "name_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(50))
    name_key: Mapped[str] = mapped_column(String(160))
    colour: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConversationLabel(Base):
    __tablename__ = "conversation_labels"
    # The primary key answers "labels of these conversations"; the index "conversations with
    # this label" (the list's label filter).
    __table_args__ = (Index("ix_conversation_labels_label", "label_id", "conversation_id"),)

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    label_id: Mapped[int] = mapped_column(
        ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True
    )


class ContactLabel(Base):
    __tablename__ = "contact_labels"
    __table_args__ = (Index("ix_contact_labels_label", "label_id", "contact_id"),)

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    label_id: Mapped[int] = mapped_column(
        ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True
    )


class ConversationNote(Base):
    """An operator's internal note on a conversation: never sent, never the customer's.

    Its own table rather than a `messages` row of another kind: everything that reads
    `messages` (the sender job, unread counts, the list preview, full-text search, the
    agent's memory, delivery receipts, analytics) then stays right by construction instead of
    each remembering to skip notes. The page merges notes into the timeline by time.
    """

    __tablename__ = "conversation_notes"
    __table_args__ = (Index("ix_conversation_notes_conversation", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    author_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CannedReply(Base):
    """A ready answer of the organisation, typed in the composer as `/shortcut`."""

    __tablename__ = "canned_replies"
    __table_args__ = (UniqueConstraint("org_id", "shortcut"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    shortcut: Mapped[str] = mapped_column(String(32))  # without the slash, lower case
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConversationRead(Base):
    """How far each person has read each conversation (the "new messages" marker); the
    conversation's `unread_count` stays the team's shared count."""

    __tablename__ = "conversation_reads"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    last_read_message_id: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
