"""Runs an agent's HTTP tools for a brain (`BrainContext.tools` and `run_tool`).

The tools are read, headers decrypted, while the caller's transaction is open (`toolbox`);
the brain then calls `Toolbox.run` with none open. A call: the `{placeholders}` of the URL
filled with the arguments (URL-encoded), the other arguments in the query string (GET,
DELETE) or as a JSON body (POST, PUT, PATCH); sent through the outbound guard (public
addresses only unless allowed, the tool's timeout, at most `MAX_RESPONSE_BYTES` read); the
answer's text, cut to `MAX_RESULT_CHARS`, is what the model reads. Non-2xx answers, refused
addresses, timeouts fail the call (`ToolFailed`): the brain tells the model and records it.
"""

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from atende.agents.brains.base import ToolCall, ToolFailed, ToolResult, ToolRunner, ToolSpec
from atende.agents.http_tools import PLACEHOLDER, list_tools
from atende.agents.models import AgentTool
from atende.core.errors import Problem
from atende.core.netguard import OutboundPolicy, OutboundRequest, fetch
from atende.core.security import SecretBox
from atende.core.settings import Settings

MAX_RESPONSE_BYTES = 64 * 1024
MAX_RESULT_CHARS = 4000
_BODY_METHODS = {"POST", "PUT", "PATCH"}


@dataclass(frozen=True, slots=True)
class HttpTool:
    spec: ToolSpec
    method: str
    url: str
    headers: dict[str, str]
    timeout: float


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)  # numbers, booleans (true), objects


def build_request(tool: HttpTool, arguments: dict[str, Any]) -> OutboundRequest:
    used = set(PLACEHOLDER.findall(tool.url))
    url = PLACEHOLDER.sub(lambda m: quote(_text(arguments[m.group(1)]), safe=""), tool.url)
    rest = {k: v for k, v in arguments.items() if k not in used}
    headers = {"accept": "application/json, text/plain;q=0.9, */*;q=0.5", **tool.headers}
    if tool.method in _BODY_METHODS:
        return OutboundRequest(tool.method, url, headers=headers, json=rest)
    if rest:
        params = {k: _text(v) for k, v in rest.items()}
        url = str(httpx.URL(url).copy_merge_params(params))
    return OutboundRequest(tool.method, url, headers=headers)


def cut(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 14] + "… (truncated)"


@dataclass(frozen=True, slots=True)
class Toolbox:
    tools: dict[str, HttpTool] = field(default_factory=dict)
    policy: OutboundPolicy = field(default_factory=OutboundPolicy)

    @property
    def specs(self) -> list[ToolSpec]:
        return [tool.spec for tool in self.tools.values()]

    @property
    def runner(self) -> ToolRunner | None:
        return self.run if self.tools else None

    async def run(self, call: ToolCall) -> ToolResult:
        tool = self.tools.get(call.name)
        if tool is None:
            raise ToolFailed(f"there is no tool named {call.name}")
        request = build_request(tool, call.arguments)
        policy = OutboundPolicy(
            allow_cidrs=self.policy.allow_cidrs,
            allow_private=self.policy.allow_private,
            timeout=tool.timeout,
            max_bytes=MAX_RESPONSE_BYTES,
        )
        try:
            answer = await fetch(request, policy, truncate=True)
        except Problem as exc:
            raise ToolFailed(exc.detail) from exc
        text = answer.text()  # a body cut at 64 KiB is far longer than what the model reads
        if not 200 <= answer.status < 300:
            raise ToolFailed(f"HTTP {answer.status}: {cut(text, 300)}", status=answer.status)
        return ToolResult(text=cut(text) or f"HTTP {answer.status} (empty)", status=answer.status)


def http_tool(tool: AgentTool, box: SecretBox) -> HttpTool:
    return HttpTool(
        spec=ToolSpec(tool.name, tool.description, tool.parameters),
        method=tool.method,
        url=tool.url,
        headers={name: box.decrypt(value) for name, value in tool.headers_encrypted.items()},
        timeout=tool.timeout_seconds,
    )


async def toolbox(
    session: AsyncSession, *, org_id: int, agent_id: int, box: SecretBox, settings: Settings
) -> Toolbox:
    """The agent's HTTP tools, ready to run once the transaction is over."""
    rows = await list_tools(session, org_id=org_id, agent_id=agent_id)
    return Toolbox(
        tools={row.name: http_tool(row, box) for row in rows},
        policy=OutboundPolicy.from_settings(settings),
    )
