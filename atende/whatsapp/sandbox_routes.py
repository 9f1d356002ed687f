"""The sandbox's simulated phone: inject customer messages, read what Atende sent, pair."""

from fastapi import APIRouter, Request
from pydantic import Field

from atende.core.db import utcnow
from atende.core.deps import CurrentPrincipal, DbSession
from atende.core.errors import Conflict, InvalidInput, NotFound
from atende.core.schemas import PathId, Strict
from atende.inbox import service as inbox
from atende.whatsapp import service
from atende.whatsapp.intake import apply_events
from atende.whatsapp.models import Instance
from atende.whatsapp.providers.base import ConnectionUpdate, InstanceStatus
from atende.whatsapp.providers.sandbox import customer_message, customer_wa_id, sandbox_phone
from atende.whatsapp.runtime import whatsapp_of
from atende.whatsapp.schemas import (
    InstanceOut,
    SandboxChatOut,
    SandboxMessageIn,
    SandboxMessageOut,
)

router = APIRouter(prefix="/api/v1/sandbox", tags=["sandbox"])


class ScanIn(Strict):
    code: str = Field(min_length=1, max_length=200)


class CustomerIn(Strict):
    customer: str = Field(min_length=3, max_length=32, pattern=r"^\+?[0-9]{3,20}$")


async def _sandbox(session: DbSession, org_id: int, instance_id: int) -> Instance:
    instance = await service.get_instance(session, org_id=org_id, instance_id=instance_id)
    if instance.provider != "sandbox":
        raise NotFound("Not a sandbox instance.")
    return instance


@router.post("/{instance_id}/messages", status_code=201)
async def inject_customer_message(
    instance_id: PathId, body: SandboxMessageIn, principal: CurrentPrincipal, session: DbSession
) -> dict[str, int]:
    """A simulated customer writes to the number (the same intake as real webhooks)."""
    instance = await _sandbox(session, principal.org_id, instance_id)
    if instance.status != InstanceStatus.connected:
        raise Conflict("Pair the sandbox phone first (connect, then scan the QR code).")
    event = customer_message(body.from_, body.text, name=body.name or None)
    result = await apply_events(session, instance, [event])
    return {"stored": result.stored}


@router.get("/{instance_id}/messages", response_model=list[SandboxChatOut])
async def read_phone(
    instance_id: PathId,
    principal: CurrentPrincipal,
    session: DbSession,
    customer: str | None = None,
) -> list[SandboxChatOut]:
    """What the simulated phone shows: the chats with each customer, oldest message first."""
    await _sandbox(session, principal.org_id, instance_id)
    if customer is not None and not customer.lstrip("+").isdigit():
        raise InvalidInput("`customer` is a phone number in digits.", field="customer")
    chats = await inbox.chats_of_instance(
        session,
        org_id=principal.org_id,
        instance_id=instance_id,
        contact_wa_id=customer_wa_id(customer) if customer else None,
    )
    return [
        SandboxChatOut(
            customer=key,
            messages=[
                SandboxMessageOut(
                    id=line.id,
                    direction=line.direction,
                    author=line.author,
                    type=line.type,
                    text=line.text,
                    status=line.status,
                    error=line.error,
                    provider_message_id=line.provider_message_id,
                    at=line.at,
                )
                for line in lines
            ],
        )
        for key, lines in chats.items()
    ]


@router.post("/{instance_id}/read")
async def phone_reads(
    instance_id: PathId, body: CustomerIn, principal: CurrentPrincipal, session: DbSession
) -> dict[str, int]:
    """The simulated customer opens the chat: what Atende sent them turns `read`."""
    await _sandbox(session, principal.org_id, instance_id)
    chats = await inbox.chats_of_instance(
        session,
        org_id=principal.org_id,
        instance_id=instance_id,
        contact_wa_id=customer_wa_id(body.customer),
    )
    count = 0
    for lines in chats.values():
        for line in lines:
            if line.direction == "out" and line.provider_message_id:
                count += await inbox.record_status(
                    session,
                    org_id=principal.org_id,
                    instance_id=instance_id,
                    provider_message_id=line.provider_message_id,
                    status="read",
                )
    return {"read": count}


@router.post("/{instance_id}/scan", response_model=InstanceOut)
async def scan_qr(
    instance_id: PathId,
    body: ScanIn,
    request: Request,
    principal: CurrentPrincipal,
    session: DbSession,
) -> InstanceOut:
    """The simulated phone scans the pairing QR code shown on the instances page."""
    instance = await _sandbox(session, principal.org_id, instance_id)
    expired = instance.qr_expires_at is None or instance.qr_expires_at <= utcnow()
    if instance.status != InstanceStatus.qr or instance.qr_code != body.code or expired:
        raise Conflict("This QR code is not the current one; connect again for a new code.")
    await service.apply_connection(
        session,
        instance,
        ConnectionUpdate(InstanceStatus.connected, phone=sandbox_phone(instance.id)),
    )
    wa = whatsapp_of(request)
    return service.instance_out(instance, wa.box, wa.base_url)
