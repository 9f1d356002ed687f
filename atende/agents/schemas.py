"""Request and response bodies of the agents API."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from atende.agents.behaviour import Behaviour
from atende.core.schemas import Strict

BrainName = Literal["offline", "openai"]
SourceStatus = Literal["queued", "indexing", "ready", "failed"]


def _http_url(value: str | None) -> str | None:
    if value and not value.lower().startswith(("http://", "https://")):
        raise ValueError("the URL must start with http:// or https://")
    return value


class AgentIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    instructions: str = Field(default="", max_length=20_000)
    greeting: str = Field(default="", max_length=2000)
    fallback_text: str = Field(
        default="Não encontrei essa informação. Vou chamar uma pessoa da equipe para ajudar.",
        max_length=2000,
    )
    brain: BrainName = "offline"
    base_url: str = Field(default="", max_length=500)
    model: str = Field(default="", max_length=120)
    temperature: float = Field(default=0.3, ge=0, le=2)
    max_tokens: int = Field(default=512, ge=1, le=32_768)
    api_key: str = Field(default="", max_length=500, description="Write-only; stored encrypted.")
    transcription_model: str = Field(
        default="",
        max_length=120,
        description="Transcribes voice notes at the same base URL (e.g. `whisper-1`); "
        "empty: voice notes get `behaviour.voice_note_reply`.",
    )
    vision: bool = Field(
        default=False,
        description="The model reads images: customers' images are sent to it; otherwise "
        "their caption only, or `behaviour.image_reply`.",
    )
    behaviour: Behaviour = Field(default_factory=Behaviour)

    _url = field_validator("base_url")(_http_url)


class AgentPatch(Strict):
    """Only the fields sent change; `behaviour` is merged key by key into the stored one.
    `api_key`: omit to keep, `""` to remove."""

    name: str | None = Field(default=None, min_length=1, max_length=120)
    instructions: str | None = Field(default=None, max_length=20_000)
    greeting: str | None = Field(default=None, max_length=2000)
    fallback_text: str | None = Field(default=None, max_length=2000)
    brain: BrainName | None = None
    base_url: str | None = Field(default=None, max_length=500)
    model: str | None = Field(default=None, max_length=120)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=32_768)
    api_key: str | None = Field(default=None, max_length=500)
    transcription_model: str | None = Field(default=None, max_length=120)
    vision: bool | None = None
    behaviour: dict[str, Any] | None = Field(default=None, max_length=50)

    _url = field_validator("base_url")(_http_url)


class AgentOut(BaseModel):
    id: int
    name: str
    instructions: str
    greeting: str
    fallback_text: str
    brain: str
    base_url: str
    model: str
    temperature: float
    max_tokens: int
    api_key: str | None = Field(description="Masked (last 4 characters); null when unset.")
    transcription_model: str
    vision: bool
    behaviour: Behaviour
    created_at: datetime
    updated_at: datetime
    warnings: list[str] = Field(
        default=[],
        description="On create/update: problems seen with the model server (saved anyway).",
    )


class FaqPair(Strict):
    question: str = Field(min_length=1, max_length=1000)
    answer: str = Field(min_length=1, max_length=4000)


class TextSourceIn(Strict):
    kind: Literal["text"]
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=500_000)


class FaqSourceIn(Strict):
    kind: Literal["faq"]
    title: str = Field(min_length=1, max_length=200)
    pairs: list[FaqPair] = Field(min_length=1, max_length=2000)


class UrlSourceIn(Strict):
    kind: Literal["url"]
    url: str = Field(min_length=1, max_length=2000, description="An http(s) web page (HTML).")
    title: str = Field(default="", max_length=200, description="Default: the page's title.")

    _url = field_validator("url")(_http_url)


class KnowledgeSourceOut(BaseModel):
    id: int
    agent_id: int
    kind: str
    title: str
    filename: str | None
    url: str | None = Field(default=None, description="The web page of a `url` source.")
    status: SourceStatus = Field(
        description="`failed`: `error` says why. Large sources are indexed in the background."
    )
    error: str | None
    chunk_count: int
    progress_done: int = Field(description="Chunks indexed so far (of `progress_total`).")
    progress_total: int
    created_at: datetime
    updated_at: datetime


class PlaygroundIn(Strict):
    text: str = Field(min_length=1, max_length=4096)


class PassageOut(BaseModel):
    chunk_id: int
    source_id: int
    source_title: str
    text: str
    score: float


class ToolCallOut(BaseModel):
    name: str
    arguments: dict[str, Any]
    result: str | None = Field(default=None, description="What the model read back.")
    error: str | None = Field(
        default=None, description="Why the call was refused (unknown tool, bad arguments)."
    )
    status: int | None = Field(default=None, description="HTTP status of an HTTP tool.")
    latency_ms: float | None = Field(default=None, description="Time an HTTP tool took.")


class PlaygroundOut(BaseModel):
    answer: str
    handoff: bool
    handoff_reason: str | None
    passages: list[PassageOut] = Field(description="Knowledge passages the answer used.")
    tool_calls: list[ToolCallOut]
    brain: str
    model: str | None = Field(default=None, description="The model that answered, if any.")
    prompt_tokens: int
    completion_tokens: int
    cost: float = Field(description="Estimated cost in USD (price table in the settings).")
    latency_ms: float
    outcome: Literal["ok", "error", "fallback"] | None = Field(
        default=None, description="How the model call ended; null: no model was called."
    )
    error: str | None = Field(default=None, description="What went wrong with the model.")
    llm_call_id: int | None = Field(default=None, description="The recorded LLM call.")


class LlmCallPassage(BaseModel):
    chunk_id: int | None = None
    source_id: int | None = None
    source_title: str = ""
    text: str = Field(default="", description="The passage, cut to about 500 characters.")
    score: float = 0.0


class LlmCallToolCall(BaseModel):
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    result: str | None = None
    error: str | None = None
    status: int | None = Field(default=None, description="HTTP status of an HTTP tool.")
    latency_ms: float | None = Field(default=None, description="Time an HTTP tool took.")


class LlmCallInput(BaseModel):
    kind: Literal["transcript", "image"]
    message_id: int
    text: str | None = Field(default=None, description="The transcript, cut to ~500 chars.")
    mime_type: str | None = None
    error: str | None = Field(default=None, description="Why it could not be used.")


class LlmCallDetails(BaseModel):
    reply: str | None = Field(default=None, description="What the brain answered.")
    handoff: bool = False
    handoff_reason: str | None = None
    passages: list[LlmCallPassage] = Field(
        default_factory=list, description="Knowledge passages the brain was given, best first."
    )
    tool_calls: list[LlmCallToolCall] = Field(default_factory=list)
    inputs: list[LlmCallInput] = Field(
        default_factory=list, description="Voice notes and images of the customer's messages."
    )


class LlmCallOut(BaseModel):
    id: int
    agent_id: int | None
    conversation_id: int | None
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float = Field(description="Estimated cost in USD (price table in the settings).")
    priced: bool = Field(description="False: the model is not in the price table (cost 0).")
    latency_ms: int
    outcome: Literal["ok", "error", "fallback"]
    error: str | None
    created_at: datetime
    details: LlmCallDetails | None = Field(
        default=None, description="Why the agent said it; null for calls recorded before."
    )
