"""REST API of an agent's HTTP tools (`http_tools.py`): list, create, read, change, delete."""

from fastapi import APIRouter, Request, status

from atende.agents import http_tools
from atende.agents.tool_schemas import ToolIn, ToolOut, ToolPatch
from atende.core.deps import CurrentPrincipal, DbSession, ManagerPrincipal, client_ip
from atende.core.schemas import PathId
from atende.core.security import SecretBox

router = APIRouter(prefix="/api/v1", tags=["agents"])


def _box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.secret_box
    return box


@router.get("/agents/{agent_id}/tools", response_model=list[ToolOut])
async def list_tools(
    agent_id: PathId, request: Request, principal: CurrentPrincipal, session: DbSession
) -> list[ToolOut]:
    rows = await http_tools.list_tools(session, org_id=principal.org_id, agent_id=agent_id)
    return [http_tools.tool_out(row, _box(request)) for row in rows]


@router.post("/agents/{agent_id}/tools", response_model=ToolOut, status_code=201)
async def create_tool(
    agent_id: PathId,
    body: ToolIn,
    request: Request,
    principal: ManagerPrincipal,
    session: DbSession,
) -> ToolOut:
    """An HTTP tool the agent's model may call (the `openai` brain). `url` may hold
    `{placeholders}` for required arguments; the other arguments go in the query string (GET,
    DELETE) or as the JSON body (POST, PUT, PATCH). Only public addresses are called unless
    the server allows others (`ATENDE_OUTBOUND_ALLOW_CIDRS`)."""
    tool = await http_tools.create_tool(
        session,
        org_id=principal.org_id,
        agent_id=agent_id,
        data=body,
        box=_box(request),
        actor=principal.actor(client_ip(request)),
    )
    return http_tools.tool_out(tool, _box(request))


@router.get("/agents/{agent_id}/tools/{tool_id}", response_model=ToolOut)
async def get_tool(
    agent_id: PathId,
    tool_id: PathId,
    request: Request,
    principal: CurrentPrincipal,
    session: DbSession,
) -> ToolOut:
    tool = await http_tools.get_tool(
        session, org_id=principal.org_id, agent_id=agent_id, tool_id=tool_id
    )
    return http_tools.tool_out(tool, _box(request))


@router.patch("/agents/{agent_id}/tools/{tool_id}", response_model=ToolOut)
async def update_tool(
    agent_id: PathId,
    tool_id: PathId,
    *,
    body: ToolPatch,
    request: Request,
    principal: ManagerPrincipal,
    session: DbSession,
) -> ToolOut:
    tool = await http_tools.update_tool(
        session,
        org_id=principal.org_id,
        agent_id=agent_id,
        tool_id=tool_id,
        data=body,
        box=_box(request),
        actor=principal.actor(client_ip(request)),
    )
    return http_tools.tool_out(tool, _box(request))


@router.delete("/agents/{agent_id}/tools/{tool_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_tool(
    agent_id: PathId,
    tool_id: PathId,
    request: Request,
    principal: ManagerPrincipal,
    session: DbSession,
) -> None:
    await http_tools.delete_tool(
        session,
        org_id=principal.org_id,
        agent_id=agent_id,
        tool_id=tool_id,
        actor=principal.actor(client_ip(request)),
    )
