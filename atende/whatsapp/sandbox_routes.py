"""The sandbox's simulated phone: inject customer messages, read what Atende sent, pair."""

from fastapi import APIRouter, Request
from pydantic import Field

from atende.core.deps import CurrentPrincipal, DbSession
from atende.core.errors import InvalidInput
from atende.core.schemas import PathId, Strict
from atende.inbox import service as inbox
from atende.whatsapp import lifecycle, service
from atende.whatsapp.providers.base import InboundMedia
from atende.whatsapp.providers.sandbox import customer_wa_id
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


@router.post("/{instance_id}/messages", status_code=201)
async def inject_customer_message(
    instance_id: PathId,
    body: SandboxMessageIn,
    request: Request,
    principal: CurrentPrincipal,
    session: DbSession,
) -> dict[str, int]:
    """A simulated customer writes to the number, or sends a file (`media`, base64) with an
    optional caption: the same intake as real webhooks."""
    intake = whatsapp_of(request).intake
    stored = await lifecycle.inject_customer_message(
        session,
        org_id=principal.org_id,
        instance_id=instance_id,
        number=body.from_,
        name=body.name,
        text=body.text.strip(),
        media=InboundMedia(
            mime_type=body.media.mime_type,
            data_base64=body.media.data_base64,
            filename=body.media.filename or None,
        )
        if body.media
        else None,
        media_root=intake.media_root,
        media_max_bytes=intake.media_max_bytes,
    )
    return {"stored": stored}


@router.get("/{instance_id}/messages", response_model=list[SandboxChatOut])
async def read_phone(
    instance_id: PathId,
    principal: CurrentPrincipal,
    session: DbSession,
    customer: str | None = None,
) -> list[SandboxChatOut]:
    """What the simulated phone shows: the chats with each customer, oldest message first."""
    await lifecycle.sandbox_instance(session, org_id=principal.org_id, instance_id=instance_id)
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
    count = await lifecycle.phone_reads(
        session, org_id=principal.org_id, instance_id=instance_id, customer=body.customer
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
    instance = await lifecycle.scan(
        session, org_id=principal.org_id, instance_id=instance_id, code=body.code
    )
    wa = whatsapp_of(request)
    return service.instance_out(instance, wa.box, wa.base_url)
