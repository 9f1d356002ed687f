"""The WhatsApp module's public functions: instances and their connection lifecycle."""

import json
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from atende.core import directory
from atende.core.audit import Actor, record_audit
from atende.core.db import utcnow
from atende.core.errors import InvalidInput, NotFound
from atende.core.events import record_event
from atende.core.security import SecretBox
from atende.whatsapp.events import InstanceQr, InstanceStatusChanged
from atende.whatsapp.models import Instance
from atende.whatsapp.providers.base import (
    ConnectionUpdate,
    InstanceRef,
    InstanceStatus,
    QrUpdate,
)
from atende.whatsapp.schemas import SECRET_KEYS, InstanceIn, InstanceOut, InstancePatch

REQUIRED_CONFIG = {
    "sandbox": (),
    "evolution": ("base_url", "api_key"),
    "cloud": ("access_token", "app_secret", "verify_token"),
}


def _check_config(provider: str, external_name: str, config: dict[str, str]) -> None:
    missing = [key for key in REQUIRED_CONFIG[provider] if not config.get(key, "").strip()]
    if missing:
        raise InvalidInput(
            f"The {provider} provider needs: {', '.join(missing)}.", field="config", missing=missing
        )
    if provider in ("evolution", "cloud") and not external_name.strip():
        what = "Evolution instance name" if provider == "evolution" else "phone number id"
        raise InvalidInput(f"Enter the {what}.", field="external_name")
    base_url = config.get("base_url", "")
    if base_url and not base_url.startswith(("http://", "https://")):
        raise InvalidInput("The base URL must start with http:// or https://.", field="config")


def decrypt_config(instance: Instance, box: SecretBox) -> dict[str, str]:
    if not instance.config_encrypted:
        return {}
    config: dict[str, str] = json.loads(box.decrypt(instance.config_encrypted))
    return config


def webhook_url(instance: Instance, base_url: str) -> str:
    return f"{base_url}/webhooks/{instance.provider}/{instance.id}"


def instance_ref(instance: Instance, box: SecretBox, base_url: str) -> InstanceRef:
    return InstanceRef(
        id=instance.id,
        org_id=instance.org_id,
        name=instance.name,
        external_name=instance.external_name,
        config=decrypt_config(instance, box),
        webhook_url=webhook_url(instance, base_url),
        webhook_secret=box.decrypt(instance.webhook_secret_encrypted),
        agent_id=instance.agent_id,
    )


def instance_out(instance: Instance, box: SecretBox, base_url: str) -> InstanceOut:
    config = {
        key: ("••••" + value[-4:] if key in SECRET_KEYS and len(value) > 8 else "••••")
        if key in SECRET_KEYS
        else value
        for key, value in decrypt_config(instance, box).items()
    }
    showing_qr = instance.status == InstanceStatus.qr
    return InstanceOut(
        id=instance.id,
        name=instance.name,
        provider=instance.provider,
        external_name=instance.external_name,
        status=instance.status,
        status_reason=instance.status_reason,
        phone=instance.phone,
        agent_id=instance.agent_id,
        qr_code=instance.qr_code if showing_qr else None,
        qr_expires_at=instance.qr_expires_at if showing_qr else None,
        webhook_url=webhook_url(instance, base_url),
        config=config,
        created_at=instance.created_at,
    )


async def create_instance(
    session: AsyncSession, *, org_id: int, data: InstanceIn, box: SecretBox, actor: Actor
) -> Instance:
    _check_config(data.provider, data.external_name, data.config)
    instance = Instance(
        org_id=org_id,
        name=data.name,
        provider=data.provider,
        external_name=data.external_name,
        config_encrypted=box.encrypt(json.dumps(data.config)) if data.config else "",
        webhook_secret_encrypted=box.encrypt(secrets.token_urlsafe(32)),
        status=InstanceStatus.disconnected.value,
    )
    session.add(instance)
    await session.flush()
    await record_audit(session, actor=actor, action="instance.created", target=str(instance.id))
    return instance


async def list_instances(session: AsyncSession, *, org_id: int) -> list[Instance]:
    rows = await session.scalars(
        select(Instance).where(Instance.org_id == org_id).order_by(Instance.name, Instance.id)
    )
    return list(rows)


async def get_instance(session: AsyncSession, *, org_id: int, instance_id: int) -> Instance:
    instance = await session.scalar(
        select(Instance).where(Instance.id == instance_id, Instance.org_id == org_id)
    )
    if instance is None:
        raise NotFound("Instance not found.")
    return instance


async def instance_for_webhook(
    session: AsyncSession, *, instance_id: int, provider: str
) -> Instance | None:
    """The instance a provider posts to (authenticated afterwards by its secret/signature)."""
    return await session.scalar(
        select(Instance).where(Instance.id == instance_id, Instance.provider == provider)
    )


async def update_instance(
    session: AsyncSession,
    *,
    org_id: int,
    instance_id: int,
    data: InstancePatch,
    box: SecretBox,
    actor: Actor,
) -> Instance:
    instance = await get_instance(session, org_id=org_id, instance_id=instance_id)
    if data.name is not None:
        instance.name = data.name
    if "agent_id" in data.model_fields_set:
        if data.agent_id is not None and not await directory.agent_name(
            session, org_id=org_id, agent_id=data.agent_id
        ):
            raise InvalidInput("No such agent in this organisation.", field="agent_id")
        instance.agent_id = data.agent_id
    if data.config is not None:
        merged = {**decrypt_config(instance, box), **data.config}
        _check_config(instance.provider, instance.external_name, merged)
        instance.config_encrypted = box.encrypt(json.dumps(merged))
    await session.flush()
    await record_audit(session, actor=actor, action="instance.updated", target=str(instance.id))
    return instance


async def delete_instance(
    session: AsyncSession, *, org_id: int, instance_id: int, actor: Actor
) -> None:
    instance = await get_instance(session, org_id=org_id, instance_id=instance_id)
    await session.delete(instance)
    await session.flush()
    await record_audit(session, actor=actor, action="instance.deleted", target=str(instance_id))


async def apply_connection(
    session: AsyncSession, instance: Instance, update: ConnectionUpdate
) -> None:
    """Moves the lifecycle by what the provider says; announces only real changes."""
    changed = (instance.status, instance.status_reason) != (update.status.value, update.reason)
    instance.status = update.status.value
    instance.status_reason = update.reason
    if update.phone:
        changed = changed or instance.phone != update.phone
        instance.phone = update.phone
    if update.status is not InstanceStatus.qr:
        instance.qr_code = None
        instance.qr_expires_at = None
    await session.flush()
    if changed:
        await record_event(
            session,
            org_id=instance.org_id,
            payload=InstanceStatusChanged(
                instance_id=instance.id,
                status=instance.status,
                reason=instance.status_reason,
                phone=instance.phone,
            ),
        )


async def apply_qr(session: AsyncSession, instance: Instance, qr: QrUpdate) -> None:
    instance.qr_code = qr.code
    instance.qr_expires_at = utcnow() + timedelta(seconds=qr.expires_in_seconds)
    await apply_connection(session, instance, ConnectionUpdate(InstanceStatus.qr))
    await record_event(
        session,
        org_id=instance.org_id,
        payload=InstanceQr(instance_id=instance.id, expires_at=instance.qr_expires_at.isoformat()),
    )


async def instance_names(session: AsyncSession, org_id: int) -> dict[int, str]:
    """For other modules, through `core.directory`: the organisation's numbers by id."""
    rows = await session.execute(
        select(Instance.id, Instance.name).where(Instance.org_id == org_id).order_by(Instance.id)
    )
    return {int(row_id): str(name) for row_id, name in rows.tuples()}


async def instances_of_agent(session: AsyncSession, org_id: int, agent_id: int) -> list[int]:
    """For other modules, through `core.directory`: the numbers this agent answers."""
    rows = await session.scalars(
        select(Instance.id)
        .where(Instance.org_id == org_id, Instance.agent_id == agent_id)
        .order_by(Instance.id)
    )
    return [int(row_id) for row_id in rows]


async def agent_of_instance(session: AsyncSession, instance_id: int) -> int | None:
    """For other modules, through `core.directory`: the agent that answers this number."""
    agent_id = await session.scalar(select(Instance.agent_id).where(Instance.id == instance_id))
    return None if agent_id is None else int(agent_id)
