"""The editor's tools section: an agent's HTTP tools listed, added, edited and deleted (for
managers), through the same service as the API (`http_tools.py`), so the same checks apply.

Form fields: `parameters` is the JSON Schema as text; `headers` one `Name: value` per line
(set or replaced; values are never shown again, only masked); `remove_header` names headers
to drop when editing.
"""

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from atende.agents import http_tools
from atende.agents.editor_view import box_of, editor
from atende.agents.tool_schemas import ToolIn, ToolPatch
from atende.core.access import Principal
from atende.core.deps import DbSession, client_ip
from atende.core.errors import Problem
from atende.core.schemas import PathId
from atende.web.guards import PageManager
from atende.web.shell import redirect, shell_of

router = APIRouter(include_in_schema=False)
MAX_FIELD = 20_000


class FormRefused(Exception):
    """A field cannot be read; the message key says which."""


def _text(raw: FormData, name: str) -> str:
    value = raw.get(name)
    return value[:MAX_FIELD].strip() if isinstance(value, str) else ""


def _headers(text: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise FormRefused("agents.tools.error.headers")
        headers[name.strip()] = value.strip()
    return headers


def _fields(raw: FormData) -> dict[str, Any]:
    """The tool's fields out of the form (what pydantic then checks)."""
    fields: dict[str, Any] = {
        name: _text(raw, name) for name in ("name", "description", "method", "url")
    }
    parameters = _text(raw, "parameters")
    try:
        fields["parameters"] = json.loads(parameters) if parameters else None
    except json.JSONDecodeError as exc:
        raise FormRefused("agents.tools.error.json") from exc
    timeout = _text(raw, "timeout_seconds")
    fields["timeout_seconds"] = timeout or None
    fields["headers"] = _headers(_text(raw, "headers"))
    return fields


async def _refused(
    request: Request,
    session: DbSession,
    principal: Principal,
    agent_id: int,
    *,
    message: str,
    form: dict[str, str],
) -> Response:
    await session.rollback()
    return await editor(
        request, session, principal, agent_id, status_code=422, tools_error=message, tools_form=form
    )


def _message(request: Request, exc: Exception) -> str:
    t = shell_of(request).translator(request)
    if isinstance(exc, FormRefused):
        return t(str(exc))
    if isinstance(exc, Problem):
        return t("agents.tools.error.refused", detail=exc.detail)
    return t("agents.tools.error.invalid")


@router.post("/agents/{agent_id}/tools")
async def add_tool(
    request: Request, principal: PageManager, session: DbSession, agent_id: PathId
) -> Response:
    raw = await request.form()

    async def save() -> None:
        fields = _fields(raw)
        data = ToolIn(**{k: v for k, v in fields.items() if v is not None})
        await http_tools.create_tool(
            session,
            org_id=principal.org_id,
            agent_id=agent_id,
            data=data,
            box=box_of(request),
            actor=principal.actor(client_ip(request)),
        )

    form = {name: _text(raw, name) for name in raw}
    return await _saved_or_refused(request, session, principal, agent_id, form=form, save=save)


async def _saved_or_refused(
    request: Request,
    session: DbSession,
    principal: Principal,
    agent_id: int,
    *,
    form: dict[str, str],
    save: Callable[[], Awaitable[None]],
) -> Response:
    """Back to the tools on success; the editor with the reason (and the form) otherwise."""
    try:
        await save()
    except (FormRefused, ValidationError, Problem) as exc:
        if isinstance(exc, Problem) and exc.status == 404:
            raise
        message = _message(request, exc)
        return await _refused(request, session, principal, agent_id, message=message, form=form)
    return redirect(request, f"/agents/{agent_id}#tools")


@router.post("/agents/{agent_id}/tools/{tool_id}")
async def edit_tool(
    request: Request,
    principal: PageManager,
    session: DbSession,
    agent_id: PathId,
    tool_id: PathId,
) -> Response:
    raw = await request.form()

    async def save() -> None:
        fields = _fields(raw)
        headers: dict[str, str | None] = dict(fields.pop("headers"))
        for name in raw.getlist("remove_header"):
            if isinstance(name, str) and name not in headers:
                headers[name] = None
        data = ToolPatch(
            **{k: v for k, v in fields.items() if v is not None}, headers=headers or None
        )
        await http_tools.update_tool(
            session,
            org_id=principal.org_id,
            agent_id=agent_id,
            tool_id=tool_id,
            data=data,
            box=box_of(request),
            actor=principal.actor(client_ip(request)),
        )

    form = {name: _text(raw, name) for name in raw} | {"tool_id": str(tool_id)}
    return await _saved_or_refused(request, session, principal, agent_id, form=form, save=save)


@router.post("/agents/{agent_id}/tools/{tool_id}/delete")
async def delete_tool(
    request: Request,
    principal: PageManager,
    session: DbSession,
    agent_id: PathId,
    tool_id: PathId,
) -> Response:
    await http_tools.delete_tool(
        session,
        org_id=principal.org_id,
        agent_id=agent_id,
        tool_id=tool_id,
        actor=principal.actor(client_ip(request)),
    )
    return redirect(request, f"/agents/{agent_id}#tools")
