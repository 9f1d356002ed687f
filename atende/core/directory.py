"""Lookups a module offers the others without them importing it.

Modules at the same layer stay independent (WhatsApp does not import agents) and lower layers
never import higher ones (the inbox does not import WhatsApp); where one still needs a fact the
other owns (does this agent exist? what is this number called?), the owner registers a lookup
here when the app is composed, and the asker calls it through `core`.
"""

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

AgentName = Callable[[AsyncSession, int, int], Awaitable[str | None]]
InstanceNames = Callable[[AsyncSession, int], Awaitable[dict[int, str]]]
AgentOfInstance = Callable[[AsyncSession, int], Awaitable[int | None]]
InstancesOfAgent = Callable[[AsyncSession, int, int], Awaitable[list[int]]]

_agent_name: AgentName | None = None
_instance_names: InstanceNames | None = None
_agent_of_instance: AgentOfInstance | None = None
_instances_of_agent: InstancesOfAgent | None = None


def provide_agent_name(lookup: AgentName) -> None:
    global _agent_name  # noqa: PLW0603 - set once, when the app is composed
    _agent_name = lookup


def provide_agent_of_instance(lookup: AgentOfInstance) -> None:
    global _agent_of_instance  # noqa: PLW0603 - set once, when the app is composed
    _agent_of_instance = lookup


async def agent_of_instance(session: AsyncSession, *, instance_id: int) -> int | None:
    """The agent that answers a number, if any."""
    if _agent_of_instance is None:
        return None
    return await _agent_of_instance(session, instance_id)


def provide_instances_of_agent(lookup: InstancesOfAgent) -> None:
    global _instances_of_agent  # noqa: PLW0603 - set once, when the app is composed
    _instances_of_agent = lookup


async def instances_of_agent(session: AsyncSession, *, org_id: int, agent_id: int) -> list[int]:
    """The organisation's numbers that this agent answers."""
    if _instances_of_agent is None:
        return []
    return await _instances_of_agent(session, org_id, agent_id)


def provide_instance_names(lookup: InstanceNames) -> None:
    global _instance_names  # noqa: PLW0603 - set once, when the app is composed
    _instance_names = lookup


async def agent_name(session: AsyncSession, *, org_id: int, agent_id: int) -> str | None:
    """The agent's name, or None if the organisation has no such agent (or no agents module)."""
    if _agent_name is None:
        return None
    return await _agent_name(session, org_id, agent_id)


async def instance_names(session: AsyncSession, *, org_id: int) -> dict[int, str]:
    """The organisation's numbers by id."""
    if _instance_names is None:
        return {}
    return await _instance_names(session, org_id)
