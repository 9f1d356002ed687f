"""Events of the WhatsApp module."""

from typing import ClassVar

from atende.core.events import EventPayload, event_schema


@event_schema
class InstanceStatusChanged(EventPayload):
    event_type: ClassVar[str] = "instance.status"
    instance_id: int
    status: str
    reason: str | None = None
    phone: str | None = None


@event_schema
class InstanceQr(EventPayload):
    event_type: ClassVar[str] = "instance.qr"
    instance_id: int
    expires_at: str  # the code itself is fetched with the instance (it is a pairing secret)
