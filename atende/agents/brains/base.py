"""The interface every brain implements: one turn of an agent, from context to reply.

A brain gets everything it needs in `BrainContext` (the agent, the message, the retrieved
knowledge, the memory, the tools) and never touches the database: the caller reads all of it
in a transaction and closes that before `reply`, which may wait on the network.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from atende.agents.events import Outcome
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
class ToolCall:
    """A tool the model called. `result` is what the model read back; `error` is set when the
    call was refused (unknown tool, malformed arguments) or failed: the caller applies the
    effects of built-in calls without an error only."""

    name: str
    arguments: dict[str, Any]
    result: str | None = None
    error: str | None = None
    status: int | None = None  # an HTTP tool's answer
    latency_ms: float | None = None  # how long a user-defined tool took


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What a user-defined tool gave: the text the model reads back, and the HTTP status."""

    text: str
    status: int | None = None


class ToolFailed(Exception):
    """A user-defined tool failed (refused address, timeout, HTTP error): the message is told
    to the model, which may explain it or try otherwise."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class ImagePart:
    """A customer's image for a vision-capable model, inline (`data:` URL; size-capped)."""

    mime_type: str
    data_url: str


# Runs a user-defined tool (not a built-in one); raises `ToolFailed` when it fails.
ToolRunner = Callable[[ToolCall], Awaitable[ToolResult]]


@dataclass(frozen=True, slots=True)
class BrainContext:
    agent: AgentProfile
    message: str
    images: list[ImagePart] = field(default_factory=list)  # sent with the message (vision)
    knowledge: list[SearchHit] = field(default_factory=list)  # best first
    memory: list[MemoryMessage] = field(default_factory=list)  # oldest first
    tools: list[ToolSpec] = field(default_factory=list)  # user-defined, beside the built-ins
    run_tool: ToolRunner | None = None
    # The organisation's labels `add_label` may put on the conversation (none: not offered).
    labels: tuple[str, ...] = ()
    # Tokens the organisation may still spend this month; None: no limit. At 0 a model-backed
    # brain does not call the model: it hands off with `BUDGET_EXCEEDED`.
    token_budget: int | None = None


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
    # Set by brains that call a model (the caller records an `llm_calls` row); None: no call.
    outcome: Outcome | None = None
    latency_ms: float = 0.0


BUDGET_EXCEEDED = "monthly token budget exceeded"


class Brain(Protocol):
    name: str

    async def reply(self, context: BrainContext) -> BrainReply: ...
