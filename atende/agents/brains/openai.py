"""The `openai` brain: the OpenAI-compatible chat-completions protocol, through the official
`openai` client with the agent's base URL (OpenAI, Azure, Groq, OpenRouter, Ollama, vLLM,
llama.cpp server, LM Studio).

One turn: the agent's instructions and the retrieved passages (numbered, with their sources,
so the model can cite `[n]`) as the system message, the conversation memory, the customer's
message (with their images as `image_url` content parts, for vision models); then up to
`max_steps` requests while the model calls tools. Built-in tools are accepted and returned
to the caller (`tools.py`); the agent's own tools run through the context's `run_tool`;
unknown tools and malformed arguments are told back to the model, which may correct itself.
The last step forbids tools (`tool_choice: none`), so a turn always ends.

Failures: each request has a timeout (`timeout`) and the client retries timeouts, connection
errors, 429 and 5xx itself (`max_retries`, exponential backoff from 0.5 s up to 8 s with
jitter, or the server's `Retry-After`). When the model still fails, or answers nothing
usable, the reply is the agent's fallback text with a handoff, and the error is kept in
`BrainReply.error` for the `llm_calls` record. The brain never touches the database.
"""

import re
import time
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast

import openai
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionFunctionToolParam, ChatCompletionMessageParam

from atende.agents.brains import tools
from atende.agents.brains.base import (
    BUDGET_EXCEEDED,
    BrainContext,
    BrainReply,
    ToolCall,
    ToolFailed,
)
from atende.agents.brains.http_pool import shared_http_client
from atende.agents.search import SearchHit
from atende.agents.service import AgentProfile

DEFAULT_BASE_URL = "https://api.openai.com/v1"
NO_KEY = "no-key"  # local servers want no key; the client insists on one
MAX_STEPS = 4
MODEL_FAILED = "the model failed"
_CITATION = re.compile(r"\s?\[(\d+(?:\s*,\s*\d+)*)\]")
KNOWLEDGE_HEADER = (
    "Knowledge passages follow. Answer from them when they cover the question and cite the "
    "ones you used by number, like [1]. When they do not cover it, say so and offer to call a "
    "person of the team; never invent facts, prices or policies."
)
SMALL_CHAT = (
    "You answer customers on WhatsApp: short, friendly messages in the customer's language, "
    "no markdown headings or tables."
)


class UnusableAnswer(Exception):
    """The model answered, but nothing a customer can be sent."""


@dataclass
class _Turn:
    """What one turn accumulates across its requests."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    handoff_reason: str | None = None

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def passage_text(hit: SearchHit) -> str:
    return f"Q: {hit.question}\nA: {hit.text}" if hit.question else hit.text


def system_prompt(context: BrainContext) -> str:
    parts = [context.agent.instructions.strip() or SMALL_CHAT]
    if context.knowledge:
        numbered = [
            f"[{n}] Source: {hit.source_title}\n{passage_text(hit)}"
            for n, hit in enumerate(context.knowledge, start=1)
        ]
        parts.append(KNOWLEDGE_HEADER + "\n\n" + "\n\n".join(numbered))
    return "\n\n".join(parts)


def build_messages(context: BrainContext) -> list[dict[str, Any]]:
    """System prompt, memory (operators' messages marked, as the business's side), message."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt(context)}]
    for item in context.memory:
        if item.author == "contact":
            messages.append({"role": "user", "content": item.text})
        elif item.author == "operator":
            messages.append({"role": "assistant", "content": f"(operator) {item.text}"})
        else:
            messages.append({"role": "assistant", "content": item.text})
    messages.append({"role": "user", "content": user_content(context)})
    return messages


def user_content(context: BrainContext) -> str | list[dict[str, Any]]:
    """The customer's message: plain text, or content parts when it comes with images."""
    if not context.images:
        return context.message
    text = [{"type": "text", "text": context.message}] if context.message else []
    return text + [
        {"type": "image_url", "image_url": {"url": image.data_url}} for image in context.images
    ]


def client_for(agent: AgentProfile, *, timeout: float, max_retries: int) -> AsyncOpenAI:
    """A client for the agent's OpenAI-compatible server (chat, transcription)."""
    client = AsyncOpenAI(
        api_key=agent.api_key or NO_KEY,
        base_url=agent.base_url or DEFAULT_BASE_URL,
        timeout=openai.Timeout(timeout, connect=min(5.0, timeout)),
        max_retries=max_retries,
        http_client=shared_http_client(),
    )
    # The client reads these from the server's environment: they are not the tenant's.
    client.organization = None
    client.project = None
    return client


def cited(text: str, knowledge: list[SearchHit]) -> tuple[str, list[SearchHit]]:
    """The answer without `[n]` markers (customers do not need them) and the passages cited;
    an answer citing none is taken to rest on all it was given."""
    numbers: list[int] = []
    for match in _CITATION.finditer(text):
        numbers += [int(n) for n in match.group(1).split(",")]
    hits = [knowledge[n - 1] for n in dict.fromkeys(numbers) if 1 <= n <= len(knowledge)]
    return _CITATION.sub("", text).strip(), hits or list(knowledge)


def describe(exc: Exception) -> str:
    if isinstance(exc, UnusableAnswer):
        return str(exc)
    if isinstance(exc, openai.APITimeoutError):
        return "the model did not answer in time"
    if isinstance(exc, openai.APIConnectionError):
        return f"cannot reach the model server ({exc.__cause__ or exc})"
    if isinstance(exc, openai.APIStatusError):
        return f"the model server answered HTTP {exc.status_code}: {exc.message}"[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


class OpenAIBrain:
    name = "openai"

    def __init__(
        self, *, timeout: float = 30.0, max_retries: int = 2, max_steps: int = MAX_STEPS
    ) -> None:
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_steps = max(1, max_steps)

    async def reply(self, context: BrainContext) -> BrainReply:
        agent = context.agent
        if context.token_budget is not None and context.token_budget <= 0:
            return BrainReply(
                text=agent.fallback_text,
                handoff=True,
                handoff_reason=BUDGET_EXCEEDED,
                model=agent.model,
            )
        started = time.perf_counter()
        turn = _Turn(model=agent.model)
        try:
            text = await self._converse(self._client(context), context, turn)
        except (openai.OpenAIError, UnusableAnswer) as exc:
            return self._fallback(context, turn, describe(exc), started)
        answer, citations = cited(text, context.knowledge)
        return BrainReply(
            text=answer,
            citations=citations,
            tool_calls=turn.calls,
            handoff=turn.handoff_reason is not None,
            handoff_reason=turn.handoff_reason,
            prompt_tokens=turn.prompt_tokens,
            completion_tokens=turn.completion_tokens,
            model=turn.model,
            error="; ".join(turn.problems) or None,
            outcome="ok",
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    def _client(self, context: BrainContext) -> AsyncOpenAI:
        return client_for(context.agent, timeout=self.timeout, max_retries=self.max_retries)

    async def _converse(self, client: AsyncOpenAI, context: BrainContext, turn: _Turn) -> str:
        agent = context.agent
        messages = build_messages(context)
        schemas = tools.tool_schemas(context.tools, context.labels)
        for step in range(self.max_steps):
            if step and context.token_budget is not None and turn.tokens >= context.token_budget:
                raise UnusableAnswer(BUDGET_EXCEEDED)
            last = step == self.max_steps - 1
            choice: Literal["none", "auto"] = "none" if last else "auto"
            completion = await client.chat.completions.create(
                model=agent.model,
                messages=cast(list[ChatCompletionMessageParam], messages),
                temperature=agent.temperature,
                max_tokens=agent.max_tokens,
                tools=cast(list[ChatCompletionFunctionToolParam], schemas),
                tool_choice=choice,
            )
            if completion.usage is not None:
                turn.prompt_tokens += completion.usage.prompt_tokens or 0
                turn.completion_tokens += completion.usage.completion_tokens or 0
            turn.model = completion.model or turn.model
            if not completion.choices:
                raise UnusableAnswer("the model sent no choices")
            message = completion.choices[0].message
            calls = list(message.tool_calls or [])
            if not calls:
                text = (message.content or "").strip()
                if not text:
                    raise UnusableAnswer("the model sent an empty answer")
                return text
            messages.append(
                {
                    "role": "assistant",
                    "content": message.content,
                    "tool_calls": [call.model_dump(exclude_none=True) for call in calls],
                }
            )
            for call in calls:
                result = await self._run(call, context, turn)
                messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
        raise UnusableAnswer(f"no answer after {self.max_steps} requests with tool calls")

    async def _run(self, call: Any, context: BrainContext, turn: _Turn) -> str:
        """One tool call of the model: accepted, run, or refused; always recorded."""
        function = getattr(call, "function", None)
        name = str(getattr(function, "name", "") or getattr(call, "type", "?"))
        raw = getattr(function, "arguments", None)
        user_tools = {t.name: t for t in context.tools}
        try:
            offered = tools.tool_schemas(context.tools, context.labels)
            available = [t["function"]["name"] for t in offered]
            if function is None or name not in available:
                raise tools.RefusedCall(
                    f"error: there is no tool named {name!r}; available: {', '.join(available)}"
                )
            arguments = tools.parse_arguments(name, raw)
            if tools.is_builtin(name):
                tools.check_builtin(name, arguments, context.labels)
                result = tools.BUILTIN_RESULTS[name]
                if name == tools.HANDOFF:
                    turn.handoff_reason = str(arguments["reason"]).strip()[:200]
            else:
                tools.check_user_arguments(user_tools[name], arguments)
                return await self._run_user_tool(ToolCall(name, arguments), context, turn)
        except tools.RefusedCall as exc:
            refused = tools.refused(name, raw, str(exc))
            turn.calls.append(refused)
            turn.problems.append(f"{refused.name}: {refused.error}")
            return str(exc)
        turn.calls.append(ToolCall(name, arguments, result=result))
        return result

    @staticmethod
    async def _run_user_tool(call: ToolCall, context: BrainContext, turn: _Turn) -> str:
        """Runs the agent's own tool, timed; its failure is the model's to explain."""
        if context.run_tool is None:
            raise tools.RefusedCall(f"error: the tool {call.name} is not available now")
        started = time.perf_counter()
        status: int | None = None
        failure: str | None = None
        try:
            done = await context.run_tool(call)
        except ToolFailed as exc:
            status, failure = exc.status, str(exc)[:500]
        except Exception as exc:  # a tool's crash is the model's to explain, not the turn's
            failure = f"{type(exc).__name__}: {exc}"[:500]
        else:
            status, result = done.status, done.text
        if failure is not None:
            result = f"error: the tool {call.name} failed ({failure})"[:500]
            turn.problems.append(f"{call.name}: {failure}")
        latency = round((time.perf_counter() - started) * 1000, 1)
        turn.calls.append(
            replace(call, result=result, error=failure, status=status, latency_ms=latency)
        )
        return result

    @staticmethod
    def _fallback(context: BrainContext, turn: _Turn, error: str, started: float) -> BrainReply:
        text = context.agent.fallback_text
        problems = [*turn.problems, error]
        return BrainReply(
            text=text,
            tool_calls=turn.calls,
            handoff=True,
            handoff_reason=BUDGET_EXCEEDED if error == BUDGET_EXCEEDED else MODEL_FAILED,
            prompt_tokens=turn.prompt_tokens,
            completion_tokens=turn.completion_tokens,
            model=turn.model,
            error="; ".join(problems),
            outcome="fallback" if text else "error",
            latency_ms=(time.perf_counter() - started) * 1000,
        )
