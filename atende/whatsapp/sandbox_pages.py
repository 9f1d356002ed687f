"""The sandbox phone: a simulated WhatsApp where a person chats as one or more customers.

The phone pairs by "scanning" the instance's current QR code; customer messages go through the
same intake as real webhooks (`lifecycle.inject_customer_message`, as the API does); what Atende
sends appears live (`message.created`, then `message.status` ticks). Opening a chat marks what
Atende sent as read, like a real phone does.
"""

import base64
import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.responses import RedirectResponse

from atende.core.access import Principal
from atende.core.deps import DbSession
from atende.core.errors import Conflict, InvalidInput, PayloadTooLarge, Problem
from atende.core.schemas import PathId
from atende.inbox import service as inbox
from atende.web.guards import PagePrincipal
from atende.web.shell import is_htmx, problem_message, redirect, shell_of, templates_for
from atende.whatsapp import lifecycle, service
from atende.whatsapp.models import Instance
from atende.whatsapp.pages import view_of
from atende.whatsapp.providers.base import InboundMedia
from atende.whatsapp.providers.sandbox import customer_wa_id
from atende.whatsapp.runtime import whatsapp_of

router = APIRouter(include_in_schema=False)
render = templates_for(Path(__file__).parent / "templates")
FormText = Annotated[str, Form(max_length=4096)]
NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
DEFAULT_CUSTOMER = ("+5511987650000", "Maria")


def _customer(value: str | None) -> str:
    number = (value or "").strip().replace(" ", "").replace("-", "")
    if not number:
        return ""
    if not NUMBER.match(number):
        raise InvalidInput("Enter the customer's number in digits.", field="customer")
    return number if number.startswith("+") else "+" + number


async def _sandboxes(session: DbSession, principal: Principal) -> list[Instance]:
    rows = await service.list_instances(session, org_id=principal.org_id)
    return [row for row in rows if row.provider == "sandbox"]


async def _chat_context(
    session: DbSession, principal: Principal, instance_id: int, customer: str
) -> dict[str, Any]:
    lines: list[inbox.ChatLine] = []
    if customer:
        chats = await inbox.chats_of_instance(
            session,
            org_id=principal.org_id,
            instance_id=instance_id,
            contact_wa_id=customer_wa_id(customer),
        )
        lines = next(iter(chats.values()), [])
    unread = any(
        line.direction == "out"
        and line.provider_message_id
        and line.status in ("sent", "delivered")
        for line in lines
    )
    return {"lines": lines, "unread": unread, "customer": customer}


async def _page(
    request: Request,
    session: DbSession,
    principal: Principal,
    instance_id: int | None,
    *,
    customer: str | None,
    name: str,
    status_code: int = 200,
    error: str = "",
) -> Response:
    sandboxes = await _sandboxes(session, principal)
    current = next((s for s in sandboxes if s.id == instance_id), None)
    if current is None and instance_id is None and sandboxes:
        current = sandboxes[0]
    t = shell_of(request).translator(request)
    number = ""
    try:
        number = _customer(customer)
    except InvalidInput as problem:
        error = error or problem_message(t, problem, "wa.sandbox")
    customers: list[str] = []
    context: dict[str, Any] = {"lines": [], "unread": False, "customer": ""}
    if current is not None:
        chats = await inbox.chats_of_instance(
            session, org_id=principal.org_id, instance_id=current.id
        )
        customers = [key for key in chats if key.startswith("+")]
        if not number and customer is None and customers:
            number = customers[0]
        context = await _chat_context(session, principal, current.id, number)
    return render(
        request,
        "whatsapp/sandbox.html",
        status_code=status_code,
        sandboxes=sandboxes,
        instance=view_of(t, current) if current else None,
        customers=customers,
        name=name,
        default_customer=DEFAULT_CUSTOMER,
        error=error,
        can_manage=principal.role.can_manage,
        **context,
    )


@router.get("/sandbox")
async def sandbox_home(request: Request, principal: PagePrincipal, session: DbSession) -> Response:
    return await _page(request, session, principal, None, customer=None, name="")


@router.get("/sandbox/{instance_id}")
async def sandbox_page(
    *,
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    instance_id: PathId,
    customer: str | None = None,
    name: str = "",
) -> Response:
    if instance_id not in {s.id for s in await _sandboxes(session, principal)}:
        return RedirectResponse("/sandbox", status_code=303)
    return await _page(request, session, principal, instance_id, customer=customer, name=name)


@router.get("/sandbox/{instance_id}/screen")
async def phone_screen(
    *,
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    instance_id: PathId,
    customer: str = "",
    name: str = "",
) -> Response:
    """The phone's screen alone (pairing state or chat), fetched again on status changes."""
    instance = await lifecycle.sandbox_instance(
        session, org_id=principal.org_id, instance_id=instance_id
    )
    number = _customer(customer)
    context = await _chat_context(session, principal, instance_id, number)
    t = shell_of(request).translator(request)
    return render(
        request, "whatsapp/_screen.html", instance=view_of(t, instance), name=name, **context
    )


@router.get("/sandbox/{instance_id}/chat")
async def chat_fragment(
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    instance_id: PathId,
    customer: str = "",
) -> Response:
    """The chat history alone: fetched again when a message or its status changes."""
    await lifecycle.sandbox_instance(session, org_id=principal.org_id, instance_id=instance_id)
    context = await _chat_context(session, principal, instance_id, _customer(customer))
    return render(request, "whatsapp/_chat.html", instance_id=instance_id, **context)


@router.post("/sandbox/{instance_id}/messages")
async def send_as_customer(
    *,
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    instance_id: PathId,
    customer: FormText = "",
    name: FormText = "",
    text: FormText = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    number = _customer(customer)
    intake = whatsapp_of(request).intake
    try:
        if not number:
            raise InvalidInput("Choose a customer first.", field="customer")
        data = await file.read(intake.media_max_bytes + 1) if file and file.filename else b""
        if not text.strip() and not data:
            raise InvalidInput("Write a message.", field="text")
        await lifecycle.inject_customer_message(
            session,
            org_id=principal.org_id,
            instance_id=instance_id,
            number=number,
            name=name.strip()[:120],
            text=text.strip(),
            media=InboundMedia(
                mime_type=(file.content_type if file else None) or "application/octet-stream",
                data_base64=base64.b64encode(data).decode(),
                filename=file.filename if file else None,
            )
            if data
            else None,
            media_root=intake.media_root,
            media_max_bytes=intake.media_max_bytes,
        )
    except (InvalidInput, Conflict, PayloadTooLarge) as problem:
        await session.rollback()
        t = shell_of(request).translator(request)
        error = problem_message(t, problem, "wa.sandbox")
        return await _page(
            request,
            session,
            principal,
            instance_id,
            customer=number,
            name=name,
            status_code=problem.status,
            error=error,
        )
    if not is_htmx(request):
        return redirect(request, f"/sandbox/{instance_id}?customer={number}")
    context = await _chat_context(session, principal, instance_id, number)
    return render(request, "whatsapp/_chat.html", instance_id=instance_id, **context)


@router.post("/sandbox/{instance_id}/read")
async def read_chat(
    principal: PagePrincipal, session: DbSession, instance_id: PathId, customer: FormText = ""
) -> Response:
    """The customer has the chat open: Atende's messages turn read (blue ticks)."""
    number = _customer(customer)
    if number:
        await lifecycle.phone_reads(
            session, org_id=principal.org_id, instance_id=instance_id, customer=number
        )
    return Response(status_code=204)


@router.post("/sandbox/{instance_id}/scan")
async def scan(
    *,
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    instance_id: PathId,
    code: FormText = "",
    customer: FormText = "",
) -> Response:
    """The phone scans the code shown on the instances page: the number becomes connected."""
    error = ""
    try:
        await lifecycle.scan(session, org_id=principal.org_id, instance_id=instance_id, code=code)
    except Problem as problem:
        await session.rollback()
        error = problem_message(shell_of(request).translator(request), problem, "wa.scan")
    if error:
        return await _page(
            request,
            session,
            principal,
            instance_id,
            customer=customer or None,
            name="",
            status_code=409,
            error=error,
        )
    return redirect(request, f"/sandbox/{instance_id}")
