"""The interface every brain implements: one turn of an agent, from context to reply.

A brain gets everything it needs in `BrainContext` (the agent, the message, the retrieved
knowledge, the memory, the tools) and never touches the database: the caller reads all of it
in a transaction and closes that before `reply`, which may wait on the network.
"""

from dataclasses import dataclass, field
from typing import Any, Protocol

from atende.agents.search import SearchHit
from atende.agents.service import AgentProfile


@dataclass(frozen=True, slots=True)
class MemoryMessage:
    author: str  # contact | agent | operator
    text: str


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BrainContext:
    agent: AgentProfile
    message: str
    knowledge: list[SearchHit] = field(default_factory=list)  # best first
    memory: list[MemoryMessage] = field(default_factory=list)  # oldest first
    tools: list[ToolSpec] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]
    result: str | None = None


@dataclass(frozen=True, slots=True)
class BrainReply:
    text: str
    citations: list[SearchHit] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    handoff: bool = False
    handoff_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    model: str = ""
    error: str | None = None


class Brain(Protocol):
    name: str

    async def reply(self, context: BrainContext) -> BrainReply: ...
