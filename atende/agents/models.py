"""Tables of the agents module: agents, their knowledge sources and the indexed chunks.

Full-text search over `knowledge_chunks` lives outside these models (see `search.py`): on
SQLite an FTS5 table kept in sync by triggers, on PostgreSQL a GIN expression index. Both are
created by hand-written SQL in the migration and named with the `fts_` prefix, which the schema
comparison skips (`atende.core.migrate.include_name`). A later migration that rebuilds
`knowledge_chunks` in batch mode on SQLite drops those triggers: it must create them again.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from atende.core.db import Base, UTCDateTime, utcnow
from atende.core.models import BigId


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    instructions: Mapped[str] = mapped_column(Text, default="")
    greeting: Mapped[str] = mapped_column(Text, default="")
    fallback_text: Mapped[str] = mapped_column(Text, default="")
    brain: Mapped[str] = mapped_column(String(16), default="offline")
    # Model settings (the `openai` brain); the API key is encrypted with the app's SecretBox.
    base_url: Mapped[str] = mapped_column(String(500), default="")
    model: Mapped[str] = mapped_column(String(120), default="")
    temperature: Mapped[float] = mapped_column(Float, default=0.3)
    max_tokens: Mapped[int] = mapped_column(Integer, default=512)
    api_key_encrypted: Mapped[str] = mapped_column(Text, default="")
    # Voice notes: the transcription model at the same base URL ("" = not transcribed).
    transcription_model: Mapped[str] = mapped_column(String(120), default="")
    vision: Mapped[bool] = mapped_column(Boolean, default=False)  # the model reads images
    # `atende.agents.behaviour.Behaviour` as JSON, validated on every write.
    behaviour: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class KnowledgeSource(Base):
    __tablename__ = "knowledge_sources"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # text | faq | file | url
    title: Mapped[str] = mapped_column(String(200))
    # What re-indexing starts from: the pasted text, the FAQ pairs, the extracted file text,
    # or a web page's URL (fetched again) with the text extracted from it.
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    filename: Mapped[str | None] = mapped_column(String(255), default=None)
    # queued | indexing | ready | failed (`error` says why); see `indexing.py`.
    status: Mapped[str] = mapped_column(String(16), default="indexing")
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    # Chunks indexed so far, of how many (a large source is indexed in batches by a job).
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class KnowledgeChunk(Base):
    __tablename__ = "knowledge_chunks"
    __table_args__ = (Index("ix_knowledge_chunks_agent_source", "agent_id", "source_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(
        ForeignKey("knowledge_sources.id", ondelete="CASCADE"), index=True
    )
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    # FAQ pairs: the question (weighted above the text in ranking) and the answer to give.
    question: Mapped[str] = mapped_column(Text, default="")
    answer: Mapped[str | None] = mapped_column(Text, default=None)


class LlmCall(Base):
    """One turn of a model-backed brain: what it cost and how it ended (`llm_calls.py`).

    The agent and the conversation are kept loosely (SET NULL on delete): the organisation's
    spending, which the monthly token budget counts, does not vanish with an agent.
    """

    __tablename__ = "llm_calls"
    __table_args__ = (Index("ix_llm_calls_org_created", "org_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), index=True, default=None
    )
    model: Mapped[str] = mapped_column(String(120))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    # Millionths of a US dollar (integer: exact sums on both databases).
    cost_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    priced: Mapped[bool] = mapped_column(Boolean, default=True)  # false: model not in the table
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(16))  # ok | error | fallback
    error: Mapped[str | None] = mapped_column(String(1000), default=None)
    # "Why did the agent say this?": the passages used, the tool calls, the reply (`details_of`).
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AgentTool(Base):
    """An HTTP tool of an agent (`http_tools.py`): the model calls it with arguments checked
    against `parameters` (a JSON Schema of an object), and Atende calls `url` with them.

    Header values (API keys, tokens) are encrypted with the app's SecretBox, by name.
    """

    __tablename__ = "agent_tools"
    __table_args__ = (UniqueConstraint("agent_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    method: Mapped[str] = mapped_column(String(8), default="GET")
    url: Mapped[str] = mapped_column(String(2000))
    headers_encrypted: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    timeout_seconds: Mapped[float] = mapped_column(Float, default=10.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
