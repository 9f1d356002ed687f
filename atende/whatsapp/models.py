"""Tables of the WhatsApp module: instances (a connected number)."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from atende.core.db import Base, UTCDateTime, utcnow
from atende.core.models import BigId


class Instance(Base):
    __tablename__ = "instances"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    provider: Mapped[str] = mapped_column(String(16))
    external_name: Mapped[str] = mapped_column(String(120), default="")
    # Provider settings as JSON, encrypted at rest (tokens, API keys, app secrets).
    config_encrypted: Mapped[str] = mapped_column(Text, default="")
    webhook_secret_encrypted: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="disconnected")
    status_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    qr_code: Mapped[str | None] = mapped_column(Text, default=None)
    qr_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    agent_id: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
