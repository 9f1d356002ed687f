"""What the agents pages share: the editor page of an agent, with its knowledge, tools and
playground, rendered with what went wrong (a form's field errors, a knowledge or tools error,
a playground answer)."""

from pathlib import Path
from typing import Any

from fastapi import Request, Response

from atende.agents import http_tools, knowledge, service
from atende.agents.behaviour import WEEKDAYS
from atende.agents.forms import FieldError, form_of
from atende.core.access import Principal
from atende.core.deps import DbSession
from atende.core.security import SecretBox
from atende.web.shell import templates_for

render = templates_for(Path(__file__).parent / "templates")
MAX_FORM_VALUE = 20_000
FAQ_ROWS = 3


WARNINGS = ("unreachable", "refused_key")  # probe.ModelServerWarning, as shown after a save


def box_of(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.secret_box
    return box


async def text_form(request: Request) -> dict[str, str]:
    """The submitted text fields (the first value of each), too-long values cut off."""
    raw = await request.form()
    return {key: value[:MAX_FORM_VALUE] for key, value in raw.items() if isinstance(value, str)}


async def editor(
    request: Request,
    session: DbSession,
    principal: Principal,
    agent_id: int | None,
    *,
    status_code: int = 200,
    form: dict[str, str] | None = None,
    errors: dict[str, FieldError] | None = None,
    **extra: Any,
) -> Response:
    """The editor page of an agent (or of a new one, `agent_id` None), with what went wrong."""
    agent = None
    sources: list[Any] = []
    tools: list[Any] = []
    if agent_id is not None:
        row = await service.get_agent(session, org_id=principal.org_id, agent_id=agent_id)
        agent = service.agent_out(row, box_of(request))
        sources = await knowledge.list_sources(session, org_id=principal.org_id, agent_id=agent_id)
        tools = [
            http_tools.tool_out(tool, box_of(request))
            for tool in await http_tools.list_tools(
                session, org_id=principal.org_id, agent_id=agent_id
            )
        ]
    context: dict[str, Any] = {
        "error": "",
        "knowledge_error": "",
        "answer": None,
        "question": "",
        "faq_rows": FAQ_ROWS,
        "knowledge_form": {},
        "tools_error": "",
        "tools_form": {},
        "playground_errors": {},
        "saved": request.query_params.get("saved") == "1",
        "warn": warn if (warn := request.query_params.get("warn")) in WARNINGS else None,
    }
    context.update(extra)
    return render(
        request,
        "agents/editor.html",
        status_code=status_code,
        agent=agent,
        form=form if form is not None else form_of(agent),
        errors=errors or {},
        sources=sources,
        tools=tools,
        weekdays=WEEKDAYS,
        can_manage=principal.role.can_manage,
        **context,
    )
