"""Request and response bodies of the inbox API."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from atende.core.schemas import Strict

Mode = Literal["bot", "human", "closed"]
Colour = Literal["grey", "red", "orange", "yellow", "green", "teal", "blue", "purple"]


class LabelOut(BaseModel):
    id: int
    name: str
    colour: Colour


class ContactOut(BaseModel):
    id: int
    name: str
    phone: str | None
    wa_id: str
    is_group: bool
    opted_out: bool
    labels: list[LabelOut]


class ConversationOut(BaseModel):
    id: int
    instance_id: int
    mode: Mode
    assignee_user_id: int | None
    unread_count: int
    last_message_at: datetime | None
    last_message_preview: str
    labels: list[LabelOut]
    contact: ContactOut


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page.")


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    conversation_id: int
    direction: Literal["in", "out"]
    author: str
    type: str
    text: str | None
    media: dict[str, Any] | None
    transcript: str | None = Field(
        default=None, description="What a voice note says, once the agent transcribed it."
    )
    status: str
    error: str | None
    provider_message_id: str | None
    reply_to_provider_id: str | None
    sender_user_id: int | None
    sent_at: datetime


class MessagePage(BaseModel):
    items: list[MessageOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `before` for older messages.")


class SendIn(Strict):
    text: str = Field(min_length=1, max_length=4096)
    reply_to_message_id: int | None = Field(default=None, ge=1, le=2**63 - 1)


class NoteIn(Strict):
    text: str = Field(min_length=1, max_length=4000, description="Seen by people only.")


class NoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    conversation_id: int
    author_user_id: int | None
    text: str
    created_at: datetime


class CannedIn(Strict):
    shortcut: str = Field(
        min_length=1, max_length=33, description="Typed as `/shortcut`: letters, digits, - and _."
    )
    text: str = Field(min_length=1, max_length=4096)


class CannedPatch(Strict):
    shortcut: str | None = Field(default=None, min_length=1, max_length=33)
    text: str | None = Field(default=None, min_length=1, max_length=4096)


class CannedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    shortcut: str
    text: str
    created_at: datetime
    updated_at: datetime
