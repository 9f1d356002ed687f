"""Pairing and the simulated phone as service functions, shared by the API and the pages.

`connect` / `disconnect` talk to the provider outside any transaction; the sandbox functions
(`scan`, `inject_customer_message`, `phone_reads`) are what the simulated phone does.
"""

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from atende.core.db import utcnow
from atende.core.deps import end_transaction_before_io
from atende.core.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge, Problem
from atende.inbox import service as inbox
from atende.whatsapp import service
from atende.whatsapp.intake import apply_events
from atende.whatsapp.media import MediaTooLarge, media_record
from atende.whatsapp.models import Instance
from atende.whatsapp.providers.base import (
    ConnectionUpdate,
    InboundMedia,
    InstanceStatus,
    ProviderError,
)
from atende.whatsapp.providers.sandbox import customer_message, customer_wa_id, sandbox_phone
from atende.whatsapp.runtime import WhatsApp


class ProviderUnavailable(Problem):
    status, code, title = 502, "provider-error", "The WhatsApp provider refused or failed"


async def connect(
    session: AsyncSession, wa: WhatsApp, *, org_id: int, instance_id: int
) -> Instance:
    """Starts pairing: the instance ends in `qr` (with its code), `connected`, or `error`."""
    instance = await service.get_instance(session, org_id=org_id, instance_id=instance_id)
    ref = service.instance_ref(instance, wa.box, wa.base_url)
    await service.apply_connection(session, instance, ConnectionUpdate(InstanceStatus.connecting))
    await end_transaction_before_io(session)
    try:
        result = await wa.providers.get(instance.provider).connect(ref)
    except ProviderError as error:
        instance = await service.get_instance(session, org_id=org_id, instance_id=instance_id)
        await service.apply_connection(
            session, instance, ConnectionUpdate(InstanceStatus.error, reason=error.reason)
        )
        await end_transaction_before_io(session)
        raise ProviderUnavailable(error.reason) from error
    instance = await service.get_instance(session, org_id=org_id, instance_id=instance_id)
    if result.qr is not None:
        await service.apply_qr(session, instance, result.qr)
    else:
        await service.apply_connection(
            session, instance, ConnectionUpdate(result.status, phone=result.phone)
        )
    return instance


async def disconnect(
    session: AsyncSession, wa: WhatsApp, *, org_id: int, instance_id: int
) -> Instance:
    instance = await service.get_instance(session, org_id=org_id, instance_id=instance_id)
    ref = service.instance_ref(instance, wa.box, wa.base_url)
    await end_transaction_before_io(session)
    try:
        await wa.providers.get(instance.provider).disconnect(ref)
    except ProviderError as error:
        raise ProviderUnavailable(error.reason) from error
    instance = await service.get_instance(session, org_id=org_id, instance_id=instance_id)
    await service.apply_connection(
        session, instance, ConnectionUpdate(InstanceStatus.disconnected, reason=None)
    )
    return instance


# --- the sandbox's simulated phone ---------------------------------------------------------------


async def sandbox_instance(session: AsyncSession, *, org_id: int, instance_id: int) -> Instance:
    instance = await service.get_instance(session, org_id=org_id, instance_id=instance_id)
    if instance.provider != "sandbox":
        raise NotFound("Not a sandbox instance.")
    return instance


async def scan(session: AsyncSession, *, org_id: int, instance_id: int, code: str) -> Instance:
    """The simulated phone scans the pairing QR code shown on the instances page."""
    instance = await sandbox_instance(session, org_id=org_id, instance_id=instance_id)
    expired = instance.qr_expires_at is None or instance.qr_expires_at <= utcnow()
    if instance.status != InstanceStatus.qr or instance.qr_code != code or expired:
        raise Conflict("This QR code is not the current one; connect again for a new code.")
    await service.apply_connection(
        session,
        instance,
        ConnectionUpdate(InstanceStatus.connected, phone=sandbox_phone(instance.id)),
    )
    return instance


async def inject_customer_message(
    session: AsyncSession,
    *,
    org_id: int,
    instance_id: int,
    number: str,
    name: str,
    text: str,
    media: InboundMedia | None = None,
    media_root: Path | None = None,
    media_max_bytes: int = 0,
) -> int:
    """A simulated customer writes (or sends a file) to the number: the same intake as real
    webhooks, media stored as if it had arrived inline."""
    instance = await sandbox_instance(session, org_id=org_id, instance_id=instance_id)
    if instance.status != InstanceStatus.connected:
        raise Conflict("Pair the sandbox phone first (connect, then scan the QR code).")
    event = customer_message(number, text, name=name or None, media=media)
    stored_media: dict[str, dict[str, object]] = {}
    if media is not None and media_root is not None:
        try:
            record = await media_record(media, root=media_root, max_bytes=media_max_bytes)
        except MediaTooLarge as exc:
            raise PayloadTooLarge(str(exc), field="media") from exc
        if "error" in record:
            raise InvalidInput(str(record["error"]), field="media")
        stored_media[event.provider_message_id] = record
    result = await apply_events(session, instance, [event], stored_media)
    return result.stored


async def phone_reads(
    session: AsyncSession, *, org_id: int, instance_id: int, customer: str
) -> int:
    """The simulated customer opens the chat: what Atende sent them turns `read`."""
    await sandbox_instance(session, org_id=org_id, instance_id=instance_id)
    chats = await inbox.chats_of_instance(
        session, org_id=org_id, instance_id=instance_id, contact_wa_id=customer_wa_id(customer)
    )
    count = 0
    for lines in chats.values():
        for line in lines:
            if line.direction == "out" and line.provider_message_id:
                count += await inbox.record_status(
                    session,
                    org_id=org_id,
                    instance_id=instance_id,
                    provider_message_id=line.provider_message_id,
                    status="read",
                )
    return count
