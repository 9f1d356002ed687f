"""REST API of the WhatsApp module: instances and their lifecycle, and provider webhooks."""

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import PlainTextResponse
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from atende.core.deps import CurrentPrincipal, DbSession, ManagerPrincipal, client_ip
from atende.core.errors import NotFound
from atende.core.routing import AsgiRoute
from atende.core.schemas import MAX_ID, PathId
from atende.whatsapp import lifecycle, service
from atende.whatsapp.intake import Intake
from atende.whatsapp.providers.base import WebhookRequest
from atende.whatsapp.runtime import whatsapp_of
from atende.whatsapp.schemas import InstanceIn, InstanceOut, InstancePatch

router = APIRouter(prefix="/api/v1", tags=["instances"])
webhooks = APIRouter(tags=["webhooks"])


@router.post("/instances", response_model=InstanceOut, status_code=201)
async def create_instance(
    body: InstanceIn, request: Request, principal: ManagerPrincipal, session: DbSession
) -> InstanceOut:
    wa = whatsapp_of(request)
    instance = await service.create_instance(
        session,
        org_id=principal.org_id,
        data=body,
        box=wa.box,
        actor=principal.actor(client_ip(request)),
    )
    return service.instance_out(instance, wa.box, wa.base_url)


@router.get("/instances", response_model=list[InstanceOut])
async def list_instances(
    request: Request, principal: CurrentPrincipal, session: DbSession
) -> list[InstanceOut]:
    wa = whatsapp_of(request)
    rows = await service.list_instances(session, org_id=principal.org_id)
    return [service.instance_out(row, wa.box, wa.base_url) for row in rows]


@router.get("/instances/{instance_id}", response_model=InstanceOut)
async def get_instance(
    instance_id: PathId, request: Request, principal: CurrentPrincipal, session: DbSession
) -> InstanceOut:
    wa = whatsapp_of(request)
    row = await service.get_instance(session, org_id=principal.org_id, instance_id=instance_id)
    return service.instance_out(row, wa.box, wa.base_url)


@router.patch("/instances/{instance_id}", response_model=InstanceOut)
async def update_instance(
    instance_id: PathId,
    body: InstancePatch,
    request: Request,
    principal: ManagerPrincipal,
    session: DbSession,
) -> InstanceOut:
    wa = whatsapp_of(request)
    row = await service.update_instance(
        session,
        org_id=principal.org_id,
        instance_id=instance_id,
        data=body,
        box=wa.box,
        actor=principal.actor(client_ip(request)),
    )
    wa.intake.forget(instance_id)
    return service.instance_out(row, wa.box, wa.base_url)


@router.delete("/instances/{instance_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_instance(
    instance_id: PathId, request: Request, principal: ManagerPrincipal, session: DbSession
) -> None:
    await service.delete_instance(
        session,
        org_id=principal.org_id,
        instance_id=instance_id,
        actor=principal.actor(client_ip(request)),
    )
    whatsapp_of(request).intake.forget(instance_id)


@router.post("/instances/{instance_id}/connect", response_model=InstanceOut)
async def connect_instance(
    instance_id: PathId, request: Request, principal: ManagerPrincipal, session: DbSession
) -> InstanceOut:
    """Starts pairing: the answer (and then `instance.qr` / `instance.status` events) carries
    the QR code to scan, or `connected` when the provider needs none."""
    wa = whatsapp_of(request)
    instance = await lifecycle.connect(
        session, wa, org_id=principal.org_id, instance_id=instance_id
    )
    return service.instance_out(instance, wa.box, wa.base_url)


@router.post("/instances/{instance_id}/disconnect", response_model=InstanceOut)
async def disconnect_instance(
    instance_id: PathId, request: Request, principal: ManagerPrincipal, session: DbSession
) -> InstanceOut:
    wa = whatsapp_of(request)
    instance = await lifecycle.disconnect(
        session, wa, org_id=principal.org_id, instance_id=instance_id
    )
    return service.instance_out(instance, wa.box, wa.base_url)


async def _webhook_request(request: Request) -> WebhookRequest:
    return WebhookRequest(
        method=request.method,
        path=request.url.path,
        query=dict(request.query_params),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=await request.body(),
    )


@webhooks.get("/webhooks/{provider}/{instance_id}", response_class=PlainTextResponse)
async def webhook_handshake(provider: str, instance_id: PathId, request: Request) -> str:
    """Cloud API's verification: answers `hub.challenge` when `hub.verify_token` matches."""
    intake: Intake = whatsapp_of(request).intake
    return await intake.handshake(
        provider=provider, instance_id=instance_id, request=await _webhook_request(request)
    )


class WebhookReceiver:
    """`POST /webhooks/{provider}/{instance_id}`: provider deliveries, answered 200 only once
    what they carry is committed. A plain ASGI endpoint: it is the busiest route, and FastAPI's
    per-request machinery cost more than the intake's own work (see bench/README.md)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        instance_id = int(scope["path_params"]["instance_id"])
        if not 1 <= instance_id <= MAX_ID:
            raise NotFound("Unknown instance.")
        result = await whatsapp_of(request).intake.receive(
            provider=scope["path_params"]["provider"],
            instance_id=instance_id,
            request=await _webhook_request(request),
        )
        response = Response(
            content=f'{{"stored":{result.stored},"duplicates":{result.duplicates}}}',
            media_type="application/json",
        )
        await response(scope, receive, send)


def webhook_routes() -> list[BaseRoute]:
    return [
        AsgiRoute(
            "/webhooks/{provider}/{instance_id:int}",
            WebhookReceiver(),
            methods=["POST"],
            name="webhook",
        )
    ]
