"""LLM call records: cost from a price table, the `llm.call` event, the monthly token budget.

Prices are USD per million tokens. `DEFAULT_PRICES` holds list prices of a few common hosted
models at the time of writing (estimates: providers change them); `ATENDE_LLM_PRICES` adds
models or overrides these one by one. A model found in neither costs 0 and its calls are
flagged `priced = false`, so a report can tell "free" from "unknown". Local servers (Ollama,
vLLM, llama.cpp) are naturally in that case.

Each call may keep its `details` ("why did the agent say this?"): the knowledge passages the
brain used, its tool calls and the reply (`details_of`), shown per conversation by the API.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from atende.agents.brains.base import BrainReply
from atende.agents.events import LlmCalled, Outcome
from atende.agents.models import LlmCall
from atende.core.db import utcnow
from atende.core.events import record_event
from atende.core.settings import ModelPrice, Settings, get_settings

DEFAULT_PRICES: dict[str, ModelPrice] = {
    name: ModelPrice(prompt=prompt, completion=completion)
    for name, (prompt, completion) in {
        "gpt-4o": (2.50, 10.00),
        "gpt-4o-mini": (0.15, 0.60),
        "gpt-4.1": (2.00, 8.00),
        "gpt-4.1-mini": (0.40, 1.60),
        "gpt-4.1-nano": (0.10, 0.40),
        "gpt-3.5-turbo": (0.50, 1.50),
        "llama-3.1-8b-instant": (0.05, 0.08),
        "llama-3.3-70b-versatile": (0.59, 0.79),
    }.items()
}
MAX_ERROR_CHARS = 1000
MAX_DETAIL_CHARS = 500  # a passage's text, a tool's result
MAX_REPLY_CHARS = 4000


@dataclass(frozen=True, slots=True)
class Cost:
    micros: int  # millionths of a US dollar
    priced: bool

    @property
    def usd(self) -> float:
        return self.micros / 1_000_000


def price_table(settings: Settings) -> dict[str, ModelPrice]:
    return {**DEFAULT_PRICES, **settings.llm_prices}


def price_of(model: str, prices: Mapping[str, ModelPrice]) -> ModelPrice | None:
    """Exact name first; then without a router's `vendor/` prefix (OpenRouter); then the
    longest listed name the model extends with a dated or tagged suffix (`gpt-4o-2024-08-06`,
    `gpt-4o-mini:free` are not confused with each other)."""
    for name in (model, model.rsplit("/", 1)[-1]):
        if name in prices:
            return prices[name]
    bare = model.rsplit("/", 1)[-1]
    extended = [n for n in prices if bare.startswith((n + "-", n + ":")) and _dated(bare, n)]
    return prices[max(extended, key=len)] if extended else None


def _dated(model: str, name: str) -> bool:
    """`gpt-4o-2024-08-06` extends `gpt-4o`; `gpt-4o-mini` does not (a different model)."""
    suffix = model[len(name) + 1 :]
    return suffix[:1].isdigit() or model[len(name)] == ":"


def cost_of(
    model: str, prompt_tokens: int, completion_tokens: int, prices: Mapping[str, ModelPrice]
) -> Cost:
    price = price_of(model, prices)
    if price is None:
        return Cost(0, priced=False)
    # USD per million tokens x tokens = millionths of a dollar.
    micros = Decimal(str(price.prompt)) * prompt_tokens
    micros += Decimal(str(price.completion)) * completion_tokens
    return Cost(int(micros.quantize(Decimal(1), rounding=ROUND_HALF_UP)), priced=True)


async def record_llm_call(
    session: AsyncSession,
    *,
    org_id: int,
    agent_id: int | None,
    conversation_id: int | None = None,
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    latency_ms: float,
    outcome: Outcome,
    error: str | None = None,
    prices: Mapping[str, ModelPrice],
    details: Mapping[str, Any] | None = None,
) -> LlmCall:
    """Writes the call and its `llm.call` event in the caller's transaction."""
    cost = cost_of(model, prompt_tokens, completion_tokens, prices)
    call = LlmCall(
        org_id=org_id,
        agent_id=agent_id,
        conversation_id=conversation_id,
        model=model[:120],
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_micros=cost.micros,
        priced=cost.priced,
        latency_ms=round(latency_ms),
        outcome=outcome,
        error=error[:MAX_ERROR_CHARS] if error else None,
        details=dict(details) if details is not None else None,
        created_at=utcnow(),
    )
    session.add(call)
    await session.flush()
    await record_event(
        session,
        org_id=org_id,
        payload=LlmCalled(
            call_id=call.id,
            agent_id=agent_id,
            conversation_id=conversation_id,
            model=call.model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_micros=cost.micros,
            priced=cost.priced,
            latency_ms=call.latency_ms,
            outcome=outcome,
            error=call.error,
        ),
    )
    return call


def _cut(text: str | None, limit: int = MAX_DETAIL_CHARS) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def details_of(reply: BrainReply) -> dict[str, Any]:
    """What a call's row keeps of the brain's turn: the passages it was given to cite (title,
    text cut to `MAX_DETAIL_CHARS`, score), its tool calls and the reply it wrote."""
    return {
        "reply": _cut(reply.text, MAX_REPLY_CHARS),
        "handoff": reply.handoff,
        "handoff_reason": reply.handoff_reason,
        "passages": [
            {
                "chunk_id": hit.chunk_id,
                "source_id": hit.source_id,
                "source_title": hit.source_title,
                "text": _cut(hit.text),
                "score": hit.score,
            }
            for hit in reply.citations
        ],
        "tool_calls": [
            {
                "name": call.name,
                "arguments": call.arguments,
                "result": _cut(call.result),
                "error": _cut(call.error),
                "status": call.status,
                "latency_ms": call.latency_ms,
            }
            for call in reply.tool_calls
        ],
    }


async def calls_of_conversation(
    session: AsyncSession, *, org_id: int, conversation_id: int, limit: int = 50
) -> list[LlmCall]:
    """Newest first. The caller checks that the conversation is the organisation's."""
    rows = await session.scalars(
        select(LlmCall)
        .where(LlmCall.org_id == org_id, LlmCall.conversation_id == conversation_id)
        .order_by(LlmCall.created_at.desc(), LlmCall.id.desc())
        .limit(limit)
    )
    return list(rows)


def month_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def tokens_this_month(session: AsyncSession, *, org_id: int) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(LlmCall.prompt_tokens + LlmCall.completion_tokens), 0)).where(
            LlmCall.org_id == org_id, LlmCall.created_at >= month_start(utcnow())
        )
    )
    return int(total or 0)


async def budget_left(
    session: AsyncSession, *, org_id: int, monthly_budget: int | None = None
) -> int | None:
    """Tokens the organisation may still spend this month (never negative); None: unlimited
    (`ATENDE_LLM_MONTHLY_TOKEN_BUDGET` = 0, read from the settings unless given)."""
    if monthly_budget is None:
        monthly_budget = get_settings().llm_monthly_token_budget
    if monthly_budget <= 0:
        return None
    return max(0, monthly_budget - await tokens_this_month(session, org_id=org_id))


async def call_behind_message(
    session: AsyncSession, *, org_id: int, conversation_id: int, call_id: int
) -> LlmCall | None:
    """The call that wrote an agent's message (the id its `extra.llm_call_id` names), if it
    is the organisation's and the conversation's."""
    found: LlmCall | None = await session.scalar(
        select(LlmCall).where(
            LlmCall.id == call_id,
            LlmCall.org_id == org_id,
            LlmCall.conversation_id == conversation_id,
        )
    )
    return found
