"""The offline brain: no network, answers from the agent's knowledge by full-text retrieval.

It gives the answer of the best-matching FAQ pair, or quotes the most relevant paragraph of the
best passage; when nothing covers enough of the customer's words it says the fallback text and
hands the conversation to people.
"""

import re

from atende.agents.brains.base import BrainContext, BrainReply
from atende.agents.search import SearchHit, coverage, query_terms

# Share of the message's meaningful words a passage must contain to be trusted.
MIN_COVERAGE = 0.5
NO_MATCH = "no matching knowledge"
DEFAULT_GREETING = "Olá! Como posso ajudar?"
_PARAGRAPHS = re.compile(r"\n\s*\n")


def best_hit(hits: list[SearchHit]) -> SearchHit | None:
    """The hit covering most of the query (ties: the better ranked), if it covers enough."""
    if not hits:
        return None
    best = max(enumerate(hits), key=lambda item: (item[1].coverage, -item[0]))[1]
    return best if best.coverage >= MIN_COVERAGE else None


def quote(hit: SearchHit, message: str) -> str:
    """The paragraph of the passage that covers most of the message."""
    terms = query_terms(message)
    paragraphs = [p.strip() for p in _PARAGRAPHS.split(hit.text) if p.strip()]
    if not paragraphs:
        return hit.text
    ranked = max(enumerate(paragraphs), key=lambda item: (coverage(terms, item[1]), -item[0]))
    return ranked[1]


class OfflineBrain:
    name = "offline"

    async def reply(self, context: BrainContext) -> BrainReply:
        if not query_terms(context.message):  # "oi", "obrigado": nothing to look up
            return BrainReply(text=context.agent.greeting or DEFAULT_GREETING)
        hit = best_hit(context.knowledge)
        if hit is None:
            return BrainReply(
                text=context.agent.fallback_text, handoff=True, handoff_reason=NO_MATCH
            )
        text = hit.answer if hit.answer else quote(hit, context.message)
        return BrainReply(text=text, citations=[hit])
