"""First-start and command-line set-up: the demo login, users and keys from the shell."""

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from atende.agents import knowledge
from atende.agents import service as agents_service
from atende.agents.behaviour import Behaviour
from atende.agents.schemas import AgentIn, FaqPair, FaqSourceIn
from atende.core import access, accounts
from atende.core.audit import Actor
from atende.core.db import Database
from atende.core.errors import NotFound
from atende.core.keys import load_secret_keys
from atende.core.models import Organisation, Role, User
from atende.core.security import SecretBox
from atende.core.settings import Settings
from atende.whatsapp import service as whatsapp_service
from atende.whatsapp.providers.base import ConnectionUpdate, InstanceStatus
from atende.whatsapp.providers.sandbox import sandbox_phone
from atende.whatsapp.schemas import InstanceIn

DEMO_ORGANISATION = "Demo"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str | None
    stored_in: Path | None


async def ensure_demo(settings: Settings) -> DemoLogin:
    """On an empty database, creates the demo organisation and its owner; says how to sign in."""
    database = Database(settings.resolved_database_url)
    stored = settings.data_dir / "demo_login.txt"
    try:
        async with database.unit_of_work() as session:
            users = await session.scalar(select(func.count()).select_from(User))
            if users:
                password = _read_stored(stored)
                return DemoLogin(settings.demo_email, password, stored if password else None)
            password = secrets.token_urlsafe(12)
            user = await accounts.create_user(
                session, email=settings.demo_email, name="Owner", password=password
            )
            org = await accounts.create_organisation(session, name=DEMO_ORGANISATION)
            await accounts.add_member(session, org_id=org.id, user=user, role=Role.owner)
            await _demo_agent_on_a_sandbox_number(
                session, org_id=org.id, box=SecretBox(load_secret_keys(settings))
            )
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(stored, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{settings.demo_email}\n{password}\n")
        return DemoLogin(settings.demo_email, password, stored)
    finally:
        await database.dispose()


DEMO_FAQ = [
    ("Qual o horário de funcionamento?", "Abrimos de segunda a sábado, das 8h às 20h."),
    ("Vocês fazem entrega?", "Sim! Entregamos no centro e nos bairros vizinhos em até 1 hora."),
    ("Quais as formas de pagamento?", "Aceitamos Pix, cartões de crédito e débito e dinheiro."),
    ("Onde fica a loja?", "Rua das Flores, 123, Centro. Há estacionamento ao lado."),
    ("Do you speak English?", "Yes! Ask in English and we answer in English."),
]


async def _demo_agent_on_a_sandbox_number(
    session: AsyncSession, *, org_id: int, box: SecretBox
) -> None:
    """A newcomer chats with a working agent at once: a sandbox number already paired, an
    offline agent with a small FAQ answering it (edit or delete both like any other)."""
    actor = Actor(org_id=org_id, ip="setup")
    agent = await agents_service.create_agent(
        session,
        org_id=org_id,
        data=AgentIn(
            name="Demo agent",
            instructions="Atendente da Padaria Aurora: responda com simpatia e objetividade.",
            greeting="Olá! Sou o assistente virtual da Padaria Aurora.",
            behaviour=Behaviour(debounce_seconds=3),
        ),
        box=box,
        actor=actor,
    )
    await knowledge.add_faq(
        session,
        org_id=org_id,
        agent_id=agent.id,
        data=FaqSourceIn(
            kind="faq",
            title="Perguntas frequentes",
            pairs=[FaqPair(question=q, answer=a) for q, a in DEMO_FAQ],
        ),
        actor=actor,
    )
    instance = await whatsapp_service.create_instance(
        session, org_id=org_id, data=InstanceIn(name="Sandbox"), box=box, actor=actor
    )
    instance.agent_id = agent.id
    await whatsapp_service.apply_connection(
        session,
        instance,
        ConnectionUpdate(InstanceStatus.connected, phone=sandbox_phone(instance.id)),
    )


def _read_stored(path: Path) -> str | None:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    return lines[1] if len(lines) > 1 else None


async def create_user_in(
    settings: Settings, *, email: str, name: str, password: str, organisation: str, role: Role
) -> int:
    database = Database(settings.resolved_database_url)
    try:
        async with database.unit_of_work() as session:
            org = await session.scalar(
                select(Organisation).where(Organisation.name == organisation.strip())
            )
            if org is None:
                org = await accounts.create_organisation(session, name=organisation)
            user = await accounts.create_user(session, email=email, name=name, password=password)
            await accounts.add_member(session, org_id=org.id, user=user, role=role)
            return org.id
    finally:
        await database.dispose()


async def create_key(settings: Settings, org_id: int, name: str) -> str:
    database = Database(settings.resolved_database_url)
    try:
        async with database.unit_of_work() as session:
            if await session.get(Organisation, org_id) is None:
                raise NotFound(f"No organisation with id {org_id}.")
            _row, key = await access.create_api_key(
                session, org_id=org_id, name=name, actor=Actor(org_id=org_id, ip="cli")
            )
            return key
    finally:
        await database.dispose()
