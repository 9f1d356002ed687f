"""One turn of an agent on given text, without WhatsApp (the agent page's playground)."""

import time
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from atende.agents.brains import brain_for
from atende.agents.brains.base import BrainContext, BrainReply
from atende.agents.llm_calls import budget_left, details_of, price_table, record_llm_call
from atende.agents.schemas import PassageOut, PlaygroundOut, ToolCallOut
from atende.agents.search import search
from atende.agents.service import get_agent, profile_of
from atende.agents.tool_runner import toolbox
from atende.core.deps import end_transaction_before_io
from atende.core.security import SecretBox
from atende.core.settings import Settings

KNOWLEDGE_PASSAGES = 5


async def context_for(
    session: AsyncSession,
    *,
    org_id: int,
    agent_id: int,
    text: str,
    box: SecretBox,
    settings: Settings,
    token_budget: int | None = None,
) -> BrainContext:
    agent = await get_agent(session, org_id=org_id, agent_id=agent_id)
    knowledge = await search(
        session, org_id=org_id, agent_id=agent_id, query=text, limit=KNOWLEDGE_PASSAGES
    )
    tools = await toolbox(session, org_id=org_id, agent_id=agent_id, box=box, settings=settings)
    return BrainContext(
        agent=profile_of(agent, box),
        message=text,
        knowledge=knowledge,
        tools=tools.specs,
        run_tool=tools.runner,
        token_budget=token_budget,
    )


def playground_out(
    reply: BrainReply, brain: str, latency_ms: float, call_id: int | None = None
) -> PlaygroundOut:
    return PlaygroundOut(
        answer=reply.text,
        handoff=reply.handoff,
        handoff_reason=reply.handoff_reason,
        passages=[
            PassageOut(
                chunk_id=hit.chunk_id,
                source_id=hit.source_id,
                source_title=hit.source_title,
                text=hit.text,
                score=hit.score,
            )
            for hit in reply.citations
        ],
        tool_calls=[
            ToolCallOut(
                name=c.name,
                arguments=c.arguments,
                result=c.result,
                error=c.error,
                status=c.status,
                latency_ms=c.latency_ms,
            )
            for c in reply.tool_calls
        ],
        brain=brain,
        model=reply.model or None,
        prompt_tokens=reply.prompt_tokens,
        completion_tokens=reply.completion_tokens,
        cost=reply.cost,
        latency_ms=round(latency_ms, 2),
        outcome=reply.outcome,
        error=reply.error,
        llm_call_id=call_id,
    )


async def run_turn(
    session: AsyncSession,
    *,
    org_id: int,
    agent_id: int,
    text: str,
    box: SecretBox,
    settings: Settings,
) -> PlaygroundOut:
    """Reads what the brain needs and ends the transaction; the brain answers (maybe waiting on
    a model) with none open; a model's call is then recorded in a new transaction."""
    budget = await budget_left(
        session, org_id=org_id, monthly_budget=settings.llm_monthly_token_budget
    )
    context = await context_for(
        session,
        org_id=org_id,
        agent_id=agent_id,
        text=text,
        box=box,
        settings=settings,
        token_budget=budget,
    )
    brain = brain_for(context.agent.brain, settings)
    await end_transaction_before_io(session)
    started = time.perf_counter()
    reply = await brain.reply(context)
    latency_ms = (time.perf_counter() - started) * 1000
    if reply.outcome is None:
        return playground_out(reply, brain.name, latency_ms)
    call = await record_llm_call(
        session,
        org_id=org_id,
        agent_id=agent_id,
        model=reply.model or context.agent.model,
        prompt_tokens=reply.prompt_tokens,
        completion_tokens=reply.completion_tokens,
        latency_ms=reply.latency_ms,
        outcome=reply.outcome,
        error=reply.error,
        prices=price_table(settings),
        details=details_of(reply),
    )
    priced = replace(reply, cost=call.cost_micros / 1_000_000)
    return playground_out(priced, brain.name, latency_ms, call.id)
