"""One turn of an agent on given text, without WhatsApp (the agent page's playground)."""

import time

from sqlalchemy.ext.asyncio import AsyncSession

from atende.agents.brains import brain_for
from atende.agents.brains.base import BrainContext, BrainReply
from atende.agents.schemas import PassageOut, PlaygroundOut, ToolCallOut
from atende.agents.search import search
from atende.agents.service import get_agent, profile_of
from atende.core.deps import end_transaction_before_io
from atende.core.security import SecretBox

KNOWLEDGE_PASSAGES = 5


async def context_for(
    session: AsyncSession, *, org_id: int, agent_id: int, text: str, box: SecretBox
) -> BrainContext:
    agent = await get_agent(session, org_id=org_id, agent_id=agent_id)
    knowledge = await search(
        session, org_id=org_id, agent_id=agent_id, query=text, limit=KNOWLEDGE_PASSAGES
    )
    return BrainContext(agent=profile_of(agent, box), message=text, knowledge=knowledge)


def playground_out(reply: BrainReply, brain: str, latency_ms: float) -> PlaygroundOut:
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
            ToolCallOut(name=c.name, arguments=c.arguments, result=c.result)
            for c in reply.tool_calls
        ],
        brain=brain,
        prompt_tokens=reply.prompt_tokens,
        completion_tokens=reply.completion_tokens,
        cost=reply.cost,
        latency_ms=round(latency_ms, 2),
    )


async def run_turn(
    session: AsyncSession, *, org_id: int, agent_id: int, text: str, box: SecretBox
) -> PlaygroundOut:
    """Reads what the brain needs, ends the transaction, then lets the brain answer."""
    context = await context_for(session, org_id=org_id, agent_id=agent_id, text=text, box=box)
    brain = brain_for(context.agent.brain)
    await end_transaction_before_io(session)
    started = time.perf_counter()
    reply = await brain.reply(context)
    return playground_out(reply, brain.name, (time.perf_counter() - started) * 1000)
