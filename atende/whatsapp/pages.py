"""The instances page: numbers as cards with a live status, and the pairing panel.

Everyone in the organisation sees the numbers; owners and admins create, rename, connect,
disconnect and delete them. The status pills and the pairing panel fetch themselves again when
an `instance.status` / `instance.qr` event arrives over the page's event stream (no polling).
"""

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Form, Request, Response
from markupsafe import Markup
from pydantic import ValidationError

from atende.core.access import Principal
from atende.core.deps import DbSession, client_ip
from atende.core.errors import InvalidInput, Problem
from atende.core.schemas import PathId
from atende.web.guards import PageManager, PagePrincipal
from atende.web.i18n import Translator
from atende.web.shell import is_htmx, problem_message, redirect, shell_of, templates_for
from atende.whatsapp import lifecycle, service
from atende.whatsapp.models import Instance
from atende.whatsapp.providers.base import InstanceStatus
from atende.whatsapp.providers.evolution_parse import DISCONNECT_REASONS
from atende.whatsapp.runtime import whatsapp_of
from atende.whatsapp.schemas import InstanceIn, InstancePatch

router = APIRouter(include_in_schema=False)
render = templates_for(Path(__file__).parent / "templates")
FormText = Annotated[str, Form(max_length=500)]

PROVIDERS = ("sandbox", "evolution", "cloud")
# Form fields of each provider's settings (the instance's `config`), in the order shown.
CONFIG_FIELDS = {
    "sandbox": (),
    "evolution": ("base_url", "api_key"),
    "cloud": ("access_token", "app_secret", "verify_token"),
}
SECRET_FIELDS = frozenset({"api_key", "access_token", "app_secret", "verify_token"})
# Reasons providers give in English -> catalog keys, so people read them in their language.
KNOWN_REASONS = {text: f"wa.reason.{code}" for code, text in DISCONNECT_REASONS.items()}


@dataclass(frozen=True, slots=True)
class InstanceView:
    id: int
    name: str
    provider: str
    status: str
    phone: str | None
    external_name: str
    agent_id: int | None
    reason: str  # in the reader's language; empty when there is nothing to explain
    qr_code: str | None
    qr_expires_at: datetime | None


def explain_reason(t: Translator, reason: str | None) -> str:
    if not reason:
        return ""
    key = KNOWN_REASONS.get(reason)
    if key and t.has(key):
        return t(key)
    if reason.startswith("Connection closed (code"):
        return t("wa.reason.closed_code", code=reason.rsplit(" ", 1)[-1].rstrip(")"))
    return t("wa.reason.other", reason=reason)


def view_of(t: Translator, instance: Instance) -> InstanceView:
    showing_qr = instance.status == InstanceStatus.qr
    return InstanceView(
        id=instance.id,
        name=instance.name,
        provider=instance.provider,
        status=instance.status,
        phone=instance.phone,
        external_name=instance.external_name,
        agent_id=instance.agent_id,
        reason=explain_reason(t, instance.status_reason),
        qr_code=instance.qr_code if showing_qr else None,
        qr_expires_at=instance.qr_expires_at if showing_qr else None,
    )


def qr_svg(code: str, title: str) -> Markup:
    """The pairing code as an inline SVG that scales to its box (black on white, always)."""
    qr = segno.make(code, error="m")
    svg = qr.svg_inline(
        scale=1, border=3, omitsize=True, dark="#000", light="#fff", svgclass="qr", title=title
    )
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S704 (segno's own SVG)


def _translator(request: Request) -> Translator:
    return shell_of(request).translator(request)


async def _views(request: Request, session: DbSession, principal: Principal) -> list[InstanceView]:
    t = _translator(request)
    rows = await service.list_instances(session, org_id=principal.org_id)
    return [view_of(t, row) for row in rows]


async def _page(
    request: Request,
    session: DbSession,
    principal: Principal,
    *,
    status_code: int = 200,
    pair: int | None = None,
    **extra: Any,
) -> Response:
    instances = await _views(request, session, principal)
    pairing = next((i for i in instances if i.id == pair), None)
    context: dict[str, Any] = {"error": "", "form": {}, "action_error": ""}
    context.update(extra)
    return render(
        request,
        "whatsapp/instances.html",
        status_code=status_code,
        instances=instances,
        pairing=pairing,
        providers=PROVIDERS,
        config_fields=CONFIG_FIELDS,
        secret_fields=SECRET_FIELDS,
        can_manage=principal.role.can_manage,
        qr_svg=qr_svg,
        **context,
    )


@router.get("/instances")
async def instances_page(
    request: Request, principal: PagePrincipal, session: DbSession, pair: int | None = None
) -> Response:
    return await _page(request, session, principal, pair=pair)


@router.get("/instances/list")
async def instances_list(
    request: Request, principal: PagePrincipal, session: DbSession
) -> Response:
    """The cards alone: fetched again when a live event says a status changed."""
    return render(
        request,
        "whatsapp/_cards.html",
        instances=await _views(request, session, principal),
        can_manage=principal.role.can_manage,
    )


@router.get("/instances/{instance_id}/pairing")
async def pairing_panel(
    request: Request, principal: PagePrincipal, session: DbSession, instance_id: PathId
) -> Response:
    """The pairing panel alone: the QR while pairing, then "Connected", or what went wrong."""
    instance = await service.get_instance(session, org_id=principal.org_id, instance_id=instance_id)
    return _pairing(request, principal, view_of(_translator(request), instance))


def _pairing(
    request: Request, principal: Principal, view: InstanceView, error: str = ""
) -> Response:
    return render(
        request,
        "whatsapp/_pairing.html",
        pairing=view,
        can_manage=principal.role.can_manage,
        qr_svg=qr_svg,
        action_error=error,
    )


def _instance_in(form: dict[str, str]) -> InstanceIn:
    provider = form.get("provider", "sandbox")
    if provider not in PROVIDERS:
        raise InvalidInput("Choose a provider.", field="provider")
    config = {key: form.get(key, "") for key in CONFIG_FIELDS[provider]}
    external = form.get(f"external_name_{provider}", "") if provider != "sandbox" else ""
    try:
        return InstanceIn.model_validate(
            {"name": form.get("name", ""), "provider": provider, "external_name": external}
            | ({"config": config} if config else {})
        )
    except ValidationError as exc:
        raise InvalidInput("Give the number a name of 1 to 120 characters.", field="name") from exc


def creation_error(t: Translator, problem: Problem, provider: str) -> str:
    field = str(problem.extensions.get("field", ""))
    if problem.code != "invalid-input":
        return problem_message(t, problem)
    if field == "config" and problem.extensions.get("missing"):
        missing = problem.extensions["missing"]
        names = [t(f"wa.config.{key}") for key in missing if isinstance(key, str)]
        return t("wa.error.missing", fields=", ".join(names))
    if field == "config":
        return t("wa.error.base_url")
    if field == "external_name":
        return t(f"wa.error.external_name.{provider}")
    if field in ("name", "provider"):
        return t(f"wa.error.{field}")
    return problem_message(t, problem)


@router.post("/instances")
async def create_instance(request: Request, principal: PageManager, session: DbSession) -> Response:
    raw = await request.form()
    form = {
        key: value for key, value in raw.items() if isinstance(value, str) and len(value) < 2000
    }
    wa = whatsapp_of(request)
    try:
        instance = await service.create_instance(
            session,
            org_id=principal.org_id,
            data=_instance_in(form),
            box=wa.box,
            actor=principal.actor(client_ip(request)),
        )
    except Problem as problem:
        await session.rollback()
        t = _translator(request)
        safe = {k: v for k, v in form.items() if k not in SECRET_FIELDS}
        error = creation_error(t, problem, form.get("provider", "sandbox"))
        return await _page(request, session, principal, status_code=422, error=error, form=safe)
    return redirect(request, f"/instances#instance-{instance.id}")


@router.post("/instances/{instance_id}/rename")
async def rename_instance(
    request: Request,
    principal: PageManager,
    session: DbSession,
    instance_id: PathId,
    name: FormText = "",
) -> Response:
    try:
        try:
            patch = InstancePatch(name=name)
        except ValidationError as exc:
            raise InvalidInput("Give the number a name.", field="name") from exc
        await service.update_instance(
            session,
            org_id=principal.org_id,
            instance_id=instance_id,
            data=patch,
            box=whatsapp_of(request).box,
            actor=principal.actor(client_ip(request)),
        )
    except Problem as problem:
        await session.rollback()
        error = creation_error(_translator(request), problem, "")
        return await _page(request, session, principal, status_code=422, action_error=error)
    return redirect(request, "/instances")


@router.post("/instances/{instance_id}/delete")
async def delete_instance(
    request: Request, principal: PageManager, session: DbSession, instance_id: PathId
) -> Response:
    await service.delete_instance(
        session,
        org_id=principal.org_id,
        instance_id=instance_id,
        actor=principal.actor(client_ip(request)),
    )
    whatsapp_of(request).intake.forget(instance_id)
    return redirect(request, "/instances")


@router.post("/instances/{instance_id}/connect")
async def connect_instance(
    request: Request, principal: PageManager, session: DbSession, instance_id: PathId
) -> Response:
    """Starts pairing and answers with the pairing panel (the whole page without htmx)."""
    wa = whatsapp_of(request)
    # A refusal leaves the instance in `error` with the provider's reason: the panel says it.
    with suppress(lifecycle.ProviderUnavailable):
        await lifecycle.connect(session, wa, org_id=principal.org_id, instance_id=instance_id)
    if not is_htmx(request):
        return redirect(request, f"/instances?pair={instance_id}")
    instance = await service.get_instance(session, org_id=principal.org_id, instance_id=instance_id)
    response = _pairing(request, principal, view_of(_translator(request), instance))
    # The status events this request raised reach the page while the cards are being swapped
    # (by the first event's refresh), and a trigger on an element mid-swap is lost: once this
    # answer has settled, the page fetches its views of the number again. On the body: the
    # button that asked may itself have been swapped out by then.
    response.headers["HX-Trigger-After-Settle"] = '{"atende:resync": {"target": "body"}}'
    return response


@router.post("/instances/{instance_id}/disconnect")
async def disconnect_instance(
    request: Request, principal: PageManager, session: DbSession, instance_id: PathId
) -> Response:
    wa = whatsapp_of(request)
    try:
        await lifecycle.disconnect(session, wa, org_id=principal.org_id, instance_id=instance_id)
    except lifecycle.ProviderUnavailable as problem:
        t = _translator(request)
        error = t("wa.error.provider_failed", reason=problem.detail)
        return await _page(request, session, principal, status_code=502, action_error=error)
    return redirect(request, "/instances")
