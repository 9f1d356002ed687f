"""Request and response bodies of the WhatsApp API."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from atende.core.schemas import Strict

ProviderName = Literal["sandbox", "evolution", "cloud"]
SECRET_KEYS = frozenset({"api_key", "access_token", "app_secret", "verify_token"})


class InstanceIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    provider: ProviderName = "sandbox"
    external_name: str = Field(default="", max_length=120)
    config: dict[str, str] = Field(default_factory=dict, max_length=20)


class InstancePatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    agent_id: int | None = Field(
        default=None, ge=1, le=2**63 - 1, description="The agent answering; null: none."
    )
    config: dict[str, str] | None = Field(default=None, max_length=20)


class InstanceOut(BaseModel):
    id: int
    name: str
    provider: str
    external_name: str
    status: str
    status_reason: str | None
    phone: str | None
    agent_id: int | None
    qr_code: str | None = Field(description="QR text to render while pairing (status `qr`).")
    qr_expires_at: datetime | None
    webhook_url: str
    config: dict[str, str] = Field(description="Provider settings; secrets masked.")
    created_at: datetime


class SandboxMedia(Strict):
    mime_type: str = Field(pattern=r"^[a-z]+/[a-z0-9.+-]+$", max_length=100)
    filename: str = Field(default="", max_length=200)
    data_base64: str = Field(min_length=4, max_length=23_000_000)


class SandboxMessageIn(Strict):
    from_: str = Field(alias="from", min_length=3, max_length=32, pattern=r"^\+?[0-9]{3,20}$")
    name: str = Field(default="", max_length=120)
    text: str = Field(default="", max_length=4096, description="The message, or the caption.")
    media: SandboxMedia | None = None

    @model_validator(mode="after")
    def _something_to_send(self) -> "SandboxMessageIn":
        if not self.text.strip() and self.media is None:
            raise ValueError("send `text`, `media` or both")
        return self


class SandboxMessageOut(BaseModel):
    id: int
    direction: str
    author: str
    type: str
    text: str | None
    status: str
    error: str | None
    provider_message_id: str | None
    at: datetime


class SandboxChatOut(BaseModel):
    customer: str
    messages: list[SandboxMessageOut]
