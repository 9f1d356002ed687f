"""Events of the agents module."""

from typing import ClassVar, Literal

from atende.core.events import EventPayload, event_schema

Outcome = Literal["ok", "error", "fallback"]


@event_schema
class LlmCalled(EventPayload):
    """A model-backed brain answered (or failed to): the row of `llm_calls` it wrote."""

    event_type: ClassVar[str] = "llm.call"
    call_id: int
    agent_id: int | None
    conversation_id: int | None
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_micros: int
    priced: bool
    latency_ms: int
    outcome: Outcome
    error: str | None = None


@event_schema
class KnowledgeProgress(EventPayload):
    """A knowledge source indexed in the background moved on: queued, a batch of chunks
    indexed (`done` of `total`), ready, or failed (`error` says why)."""

    event_type: ClassVar[str] = "knowledge.progress"
    agent_id: int
    source_id: int
    status: Literal["queued", "indexing", "ready", "failed"]  # schemas.SourceStatus
    done: int
    total: int
    error: str | None = None
