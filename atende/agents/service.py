"""The agents module's public functions: agents and what a brain needs to answer for one."""

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from atende.agents.behaviour import Behaviour
from atende.agents.models import Agent
from atende.agents.schemas import AgentIn, AgentOut, AgentPatch
from atende.core.audit import Actor, record_audit
from atende.core.errors import InvalidInput, NotFound
from atende.core.security import SecretBox

_MODEL_FIELDS = ("base_url", "model", "temperature", "max_tokens", "transcription_model", "vision")
_TEXT_FIELDS = ("name", "instructions", "greeting", "fallback_text", "brain")


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """A snapshot of an agent for a brain, taken inside a transaction and used after it (a
    brain may wait on the network; it never holds a session)."""

    id: int
    org_id: int
    name: str
    instructions: str
    greeting: str
    fallback_text: str
    brain: str
    base_url: str
    model: str
    temperature: float
    max_tokens: int
    api_key: str
    behaviour: Behaviour
    transcription_model: str = ""
    vision: bool = False


def behaviour_of(agent: Agent) -> Behaviour:
    return Behaviour.model_validate(agent.behaviour or {})


def profile_of(agent: Agent, box: SecretBox) -> AgentProfile:
    return AgentProfile(
        id=agent.id,
        org_id=agent.org_id,
        name=agent.name,
        instructions=agent.instructions,
        greeting=agent.greeting,
        fallback_text=agent.fallback_text,
        brain=agent.brain,
        base_url=agent.base_url,
        model=agent.model,
        temperature=agent.temperature,
        max_tokens=agent.max_tokens,
        api_key=box.decrypt(agent.api_key_encrypted) if agent.api_key_encrypted else "",
        behaviour=behaviour_of(agent),
        transcription_model=agent.transcription_model,
        vision=agent.vision,
    )


def _masked(agent: Agent, box: SecretBox) -> str | None:
    if not agent.api_key_encrypted:
        return None
    key = box.decrypt(agent.api_key_encrypted)
    return "••••" + key[-4:] if len(key) > 8 else "••••"


def agent_out(agent: Agent, box: SecretBox) -> AgentOut:
    return AgentOut(
        id=agent.id,
        name=agent.name,
        instructions=agent.instructions,
        greeting=agent.greeting,
        fallback_text=agent.fallback_text,
        brain=agent.brain,
        base_url=agent.base_url,
        model=agent.model,
        temperature=agent.temperature,
        max_tokens=agent.max_tokens,
        api_key=_masked(agent, box),
        transcription_model=agent.transcription_model,
        vision=agent.vision,
        behaviour=behaviour_of(agent),
        created_at=agent.created_at,
        updated_at=agent.updated_at,
    )


def _check_brain(brain: str, model: str) -> None:
    if brain == "openai" and not model:
        raise InvalidInput(
            "The openai brain needs a model name.",
            field="model",
            errors=[{"loc": ["body", "model"], "msg": "required for the openai brain"}],
        )


def _merged_behaviour(current: dict[str, Any], changes: dict[str, Any]) -> Behaviour:
    try:
        return Behaviour.model_validate({**current, **changes})
    except ValidationError as exc:
        errors = [
            {
                "loc": ["body", "behaviour", *(str(p) for p in error["loc"])],
                "msg": error["msg"],
                "type": error["type"],
            }
            for error in exc.errors()
        ]
        field = ".".join(errors[0]["loc"][1:]) if errors else "behaviour"
        raise InvalidInput(
            "Some behaviour settings are invalid.", field=field, errors=errors
        ) from exc


async def create_agent(
    session: AsyncSession, *, org_id: int, data: AgentIn, box: SecretBox, actor: Actor
) -> Agent:
    _check_brain(data.brain, data.model)
    agent = Agent(
        org_id=org_id,
        **{name: getattr(data, name) for name in (*_TEXT_FIELDS, *_MODEL_FIELDS)},
        api_key_encrypted=box.encrypt(data.api_key) if data.api_key else "",
        behaviour=data.behaviour.model_dump(mode="json"),
    )
    session.add(agent)
    await session.flush()
    await record_audit(session, actor=actor, action="agent.created", target=str(agent.id))
    return agent


async def list_agents(session: AsyncSession, *, org_id: int) -> list[Agent]:
    rows = await session.scalars(
        select(Agent).where(Agent.org_id == org_id).order_by(Agent.name, Agent.id)
    )
    return list(rows)


async def get_agent(session: AsyncSession, *, org_id: int, agent_id: int) -> Agent:
    agent = await session.scalar(select(Agent).where(Agent.id == agent_id, Agent.org_id == org_id))
    if agent is None:
        raise NotFound("Agent not found.")
    return agent


async def update_agent(
    session: AsyncSession,
    *,
    org_id: int,
    agent_id: int,
    data: AgentPatch,
    box: SecretBox,
    actor: Actor,
) -> Agent:
    """Validates the whole result first: a refused change leaves the agent as it was."""
    agent = await get_agent(session, org_id=org_id, agent_id=agent_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    behaviour = changes.pop("behaviour", None)
    merged = _merged_behaviour(agent.behaviour or {}, behaviour) if behaviour is not None else None
    _check_brain(changes.get("brain", agent.brain), changes.get("model", agent.model))
    api_key = changes.pop("api_key", None)
    for name, value in changes.items():
        setattr(agent, name, value)
    if merged is not None:
        agent.behaviour = merged.model_dump(mode="json")
    if api_key is not None:
        agent.api_key_encrypted = box.encrypt(api_key) if api_key else ""
    await session.flush()
    await record_audit(
        session,
        actor=actor,
        action="agent.updated",
        target=str(agent.id),
        details={"fields": sorted([*changes, *(["behaviour"] if merged else [])])},
    )
    return agent


async def delete_agent(session: AsyncSession, *, org_id: int, agent_id: int, actor: Actor) -> None:
    """Deletes the agent with its knowledge (cascade; the search index follows by trigger)."""
    agent = await get_agent(session, org_id=org_id, agent_id=agent_id)
    await session.delete(agent)
    await session.flush()
    await record_audit(session, actor=actor, action="agent.deleted", target=str(agent_id))


async def agent_name(session: AsyncSession, org_id: int, agent_id: int) -> str | None:
    """For other modules, through `core.directory`: the agent's name if it is the org's."""
    name = await session.scalar(
        select(Agent.name).where(Agent.id == agent_id, Agent.org_id == org_id)
    )
    return None if name is None else str(name)
