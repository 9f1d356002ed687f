""" "Why did the agent say this?" in the inbox: a panel beside the conversation with the model
call behind an agent's message (passages, tool calls, tokens, cost, latency, outcome).

It lives here, not in the inbox, because the inbox may not know about agents; the inbox's
bubble only links to this fragment.
"""

from pathlib import Path

from fastapi import APIRouter, Request, Response

from atende.agents.llm_calls import call_behind_message
from atende.agents.schemas import LlmCallDetails
from atende.core.deps import DbSession
from atende.core.schemas import PathId
from atende.inbox import conversations
from atende.web.guards import PagePrincipal
from atende.web.shell import templates_for

router = APIRouter(include_in_schema=False)
render = templates_for(Path(__file__).parent / "templates")


@router.get("/inbox/{conversation_id}/why/{message_id}")
async def why_panel(
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    conversation_id: PathId,
    message_id: PathId,
) -> Response:
    message = await conversations.get_message(
        session, org_id=principal.org_id, conversation_id=conversation_id, message_id=message_id
    )
    link = (message.extra or {}).get("llm_call_id")
    call = None
    if message.author == "agent" and isinstance(link, int):
        call = await call_behind_message(
            session, org_id=principal.org_id, conversation_id=conversation_id, call_id=link
        )
    # No call: an answer the offline brain, a greeting or the out-of-hours reply gave.
    details = LlmCallDetails.model_validate(call.details) if call and call.details else None
    return render(request, "agents/_why.html", message=message, call=call, details=details)
