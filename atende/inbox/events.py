"""Events of the inbox module (schemas registered with the outbox)."""

from typing import ClassVar

from atende.core.events import EventPayload, event_schema


@event_schema
class MessageCreated(EventPayload):
    event_type: ClassVar[str] = "message.created"
    message_id: int
    conversation_id: int
    contact_id: int
    instance_id: int
    direction: str
    author: str
    type: str
    text: str | None
    status: str
    at: str


@event_schema
class MessageStatusChanged(EventPayload):
    event_type: ClassVar[str] = "message.status"
    message_id: int
    conversation_id: int
    status: str
    error: str | None = None


@event_schema
class ConversationUpdated(EventPayload):
    event_type: ClassVar[str] = "conversation.updated"
    conversation_id: int
    contact_id: int
    instance_id: int
    mode: str
    unread_count: int
    last_message_preview: str
    last_message_at: str | None
    # Told when people change the conversation (assignment, labels, mode); null from message
    # intake, which leaves them as they were.
    label_ids: list[int] | None = None
    assignee_user_id: int | None = None


@event_schema
class MessageUpdated(EventPayload):
    """Something about a stored message changed other than its delivery status: its media
    was downloaded (`ready`) or could not be (`failed`, with the reason), or a voice note was
    transcribed (`transcript`) or could not be (`transcript_error`)."""

    event_type: ClassVar[str] = "message.updated"
    message_id: int
    conversation_id: int
    media_status: str | None = None
    media_error: str | None = None
    transcript: str | None = None
    transcript_error: str | None = None


@event_schema
class LabelChanged(EventPayload):
    """A label was created, renamed, recoloured or deleted: open inboxes redraw their chips
    (one event, however many conversations carry the label)."""

    event_type: ClassVar[str] = "label.changed"
    label_id: int
    name: str
    colour: str
    deleted: bool = False


@event_schema
class NoteCreated(EventPayload):
    """An operator wrote an internal note (people only; never sent to the customer)."""

    event_type: ClassVar[str] = "note.created"
    note_id: int
    conversation_id: int
    author_user_id: int | None
    at: str
