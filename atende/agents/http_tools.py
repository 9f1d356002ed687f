"""An agent's own HTTP tools: the model calls them with arguments, Atende calls the business's
system (`tool_runner.py`). This module keeps them: checks, storage, the API's view.

Checks when a tool is saved: the name is an identifier and not a built-in tool's; `parameters`
is a valid JSON Schema (checked with the `jsonschema` library, by the draft it names, 2020-12
otherwise) of an object, with local `$ref`s only; the URL is http(s) and its `{placeholders}`
sit in the path or query and name required properties; header names are tokens, values one
line. Header values are encrypted at rest and never returned, only masked.
"""

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
from jsonschema.exceptions import SchemaError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from atende.agents.brains.tools import is_builtin, schema_validator
from atende.agents.models import AgentTool
from atende.agents.service import get_agent
from atende.agents.tool_schemas import HEADER_NAME, ToolIn, ToolOut, ToolPatch
from atende.core.audit import Actor, record_audit
from atende.core.db import utcnow
from atende.core.errors import Conflict, InvalidInput, NotFound
from atende.core.security import SecretBox

MAX_TOOLS_PER_AGENT = 20
MAX_SCHEMA_CHARS = 20_000
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_FORBIDDEN_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


def check_parameters(schema: dict[str, Any]) -> None:
    if len(json.dumps(schema)) > MAX_SCHEMA_CHARS:
        raise InvalidInput(
            f"The parameters schema is too large (over {MAX_SCHEMA_CHARS} characters).",
            field="parameters",
        )
    validator_class = schema_validator(schema)
    if validator_class is None:
        raise InvalidInput(
            f"Unknown $schema {str(schema['$schema'])[:200]!r}: name a JSON Schema draft "
            "(e.g. https://json-schema.org/draft/2020-12/schema) or leave $schema out.",
            field="parameters",
        )
    try:
        validator_class.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path)
        at = f" (at `{where}`)" if where else ""
        raise InvalidInput(
            f"`parameters` is not a valid JSON Schema{at}: {exc.message}"[:500],
            field="parameters",
        ) from exc
    remote = next(_remote_refs(schema), None)
    if remote is not None:
        raise InvalidInput(
            f"The parameters may only use local references (#/...), not {remote[:200]!r}.",
            field="parameters",
        )
    if schema.get("type") != "object":
        raise InvalidInput(
            'The parameters must be a schema of an object: {"type": "object", ...}.',
            field="parameters",
        )


def _remote_refs(node: Any) -> Iterator[str]:
    """`$ref`s (and dynamic ones) that point outside the schema: never fetched, so refused."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("$ref", "$dynamicRef") and not str(value).startswith("#"):
                yield str(value)
            yield from _remote_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _remote_refs(item)


def check_url(url: str, schema: dict[str, Any]) -> None:
    """http(s), placeholders only in the path or query, each a required property."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise InvalidInput("The URL must start with http:// or https://.", field="url")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if not authority or "{" in authority or "}" in authority:
        raise InvalidInput(
            "The URL needs a fixed host: {placeholders} go in its path or query only.",
            field="url",
        )
    names = PLACEHOLDER.findall(url)
    if "{" in PLACEHOLDER.sub("", url) or "}" in PLACEHOLDER.sub("", url):
        raise InvalidInput(
            "Placeholders in the URL are {name}, with a name made of letters, digits and _.",
            field="url",
        )
    try:
        httpx.URL(PLACEHOLDER.sub("x", url))
    except httpx.InvalidURL as exc:
        raise InvalidInput(f"The URL is not valid: {exc}.", field="url") from exc
    required = set(schema.get("required") or [])
    missing = [name for name in names if name not in required]
    if missing:
        raise InvalidInput(
            f"The URL uses {{{missing[0]}}}, which must be a required property of the parameters.",
            field="url",
        )


def check_headers(headers: dict[str, str | None]) -> None:
    for name, value in headers.items():
        if not re.fullmatch(HEADER_NAME, name) or name.lower() in _FORBIDDEN_HEADERS:
            raise InvalidInput(f"{name!r} is not a header this tool may set.", field="headers")
        if value is not None and (len(value) > 2000 or "\r" in value or "\n" in value):
            raise InvalidInput(
                f"The value of {name} must be one line of at most 2000 characters.",
                field="headers",
            )


def masked(box: SecretBox, ciphertext: str) -> str:
    value = box.decrypt(ciphertext)
    return "••••" + value[-4:] if len(value) > 8 else "••••"


def tool_out(tool: AgentTool, box: SecretBox) -> ToolOut:
    return ToolOut(
        id=tool.id,
        agent_id=tool.agent_id,
        name=tool.name,
        description=tool.description,
        parameters=tool.parameters,
        method=tool.method,
        url=tool.url,
        headers={name: masked(box, value) for name, value in tool.headers_encrypted.items()},
        timeout_seconds=tool.timeout_seconds,
        created_at=tool.created_at,
        updated_at=tool.updated_at,
    )


async def _check_name(
    session: AsyncSession, *, agent_id: int, name: str, tool_id: int | None = None
) -> None:
    if is_builtin(name):
        raise InvalidInput(f"{name} is the name of a built-in tool.", field="name")
    taken = await session.scalar(
        select(AgentTool.id).where(
            AgentTool.agent_id == agent_id,
            AgentTool.name == name,
            AgentTool.id != (tool_id or 0),
        )
    )
    if taken is not None:
        raise Conflict(f"This agent already has a tool named {name}.", field="name")


async def list_tools(session: AsyncSession, *, org_id: int, agent_id: int) -> list[AgentTool]:
    await get_agent(session, org_id=org_id, agent_id=agent_id)
    rows = await session.scalars(
        select(AgentTool)
        .where(AgentTool.org_id == org_id, AgentTool.agent_id == agent_id)
        .order_by(AgentTool.name)
    )
    return list(rows)


async def get_tool(session: AsyncSession, *, org_id: int, agent_id: int, tool_id: int) -> AgentTool:
    tool = await session.scalar(
        select(AgentTool).where(
            AgentTool.id == tool_id, AgentTool.agent_id == agent_id, AgentTool.org_id == org_id
        )
    )
    if tool is None:
        raise NotFound("Tool not found.")
    return tool


async def create_tool(
    session: AsyncSession,
    *,
    org_id: int,
    agent_id: int,
    data: ToolIn,
    box: SecretBox,
    actor: Actor,
) -> AgentTool:
    await get_agent(session, org_id=org_id, agent_id=agent_id)
    check_parameters(data.parameters)
    check_url(data.url, data.parameters)
    check_headers(dict(data.headers))
    await _check_name(session, agent_id=agent_id, name=data.name)
    count = await session.scalar(
        select(func.count()).select_from(AgentTool).where(AgentTool.agent_id == agent_id)
    )
    if (count or 0) >= MAX_TOOLS_PER_AGENT:
        raise Conflict(f"An agent has at most {MAX_TOOLS_PER_AGENT} tools.")
    now = utcnow()
    tool = AgentTool(
        org_id=org_id,
        agent_id=agent_id,
        name=data.name,
        description=data.description,
        parameters=data.parameters,
        method=data.method,
        url=data.url,
        headers_encrypted={name: box.encrypt(value) for name, value in data.headers.items()},
        timeout_seconds=data.timeout_seconds,
        created_at=now,
        updated_at=now,
    )
    session.add(tool)
    await session.flush()
    await record_audit(
        session, actor=actor, action="agent_tool.created", target=f"{agent_id}/{tool.id}"
    )
    return tool


async def update_tool(
    session: AsyncSession,
    *,
    org_id: int,
    agent_id: int,
    tool_id: int,
    data: ToolPatch,
    box: SecretBox,
    actor: Actor,
) -> AgentTool:
    tool = await get_tool(session, org_id=org_id, agent_id=agent_id, tool_id=tool_id)
    parameters = data.parameters if data.parameters is not None else tool.parameters
    url = data.url if data.url is not None else tool.url
    if data.parameters is not None:
        check_parameters(parameters)
    check_url(url, parameters)
    if data.name is not None:
        await _check_name(session, agent_id=agent_id, name=data.name, tool_id=tool.id)
        tool.name = data.name
    if data.headers is not None:
        check_headers(data.headers)
        headers = dict(tool.headers_encrypted)
        for name, value in data.headers.items():
            if value is None:
                headers.pop(name, None)
            else:
                headers[name] = box.encrypt(value)
        if len(headers) > 20:
            raise InvalidInput("A tool has at most 20 headers.", field="headers")
        tool.headers_encrypted = headers
    for field in ("description", "method", "timeout_seconds"):
        value = getattr(data, field)
        if value is not None:
            setattr(tool, field, value)
    tool.parameters, tool.url = parameters, url
    tool.updated_at = utcnow()
    await session.flush()
    await record_audit(
        session, actor=actor, action="agent_tool.updated", target=f"{agent_id}/{tool.id}"
    )
    return tool


async def delete_tool(
    session: AsyncSession, *, org_id: int, agent_id: int, tool_id: int, actor: Actor
) -> None:
    tool = await get_tool(session, org_id=org_id, agent_id=agent_id, tool_id=tool_id)
    await session.delete(tool)
    await session.flush()
    await record_audit(
        session, actor=actor, action="agent_tool.deleted", target=f"{agent_id}/{tool_id}"
    )
