"""A chat-completions server on loopback (the OpenAI protocol, as Ollama, vLLM, Groq speak it).

Tests queue what the model does next (`say`, `call_tool`, `fail`); with nothing queued it
answers "ok". For silence (client timeouts) use the base class's `script` with a `delay`.
Every request is recorded (`requests`, `completions()`).

It also transcribes: `POST /v1/audio/transcriptions` (multipart: `model`, `file`) answers the
documented `{"text": ...}`, with the next text queued by `hear` (else "ok"); it refuses a
request without both fields (400), as the real one does. Read them back with
`transcriptions()`.
"""

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse

from tests.support.fake_http import FakeHttpServer, Recorded

PATH = "/v1/chat/completions"
TRANSCRIPTIONS = "/v1/audio/transcriptions"


@dataclass
class Turn:
    status: int = 200
    content: str | None = "ok"
    tool_calls: list[tuple[str, str]] = field(default_factory=list)  # name, raw arguments
    prompt_tokens: int = 10
    completion_tokens: int = 5
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # a raw body instead of a completion (errors, malformed answers)


class FakeOpenAI(FakeHttpServer):
    def __init__(self) -> None:
        super().__init__()
        self.turns: list[Turn] = []
        self.heard: list[str] = []
        self._ids = itertools.count(1)
        self.models_status = 200  # what GET /v1/models answers (401: the key is refused)

    # -- scripting --------------------------------------------------------------------------

    def say(self, content: str, *, prompt_tokens: int = 10, completion_tokens: int = 5) -> None:
        self.turns.append(
            Turn(content=content, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
        )

    def call_tool(self, name: str, arguments: str | dict[str, Any] = "{}", **usage: int) -> None:
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        self.turns.append(Turn(content=None, tool_calls=[(name, raw)], **usage))

    def fail(self, status: int, times: int = 1, **headers: str) -> None:
        error = {"error": {"message": f"scripted {status}", "type": "server_error", "code": None}}
        for _ in range(times):
            self.turns.append(Turn(status=status, body=error, headers=headers))

    def hear(self, text: str) -> None:
        """The next voice note transcribes as `text`."""
        self.heard.append(text)

    def completions(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.path == PATH]

    def transcriptions(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.path == TRANSCRIPTIONS]

    # -- protocol ---------------------------------------------------------------------------

    async def answer(self, rec: Recorded) -> tuple[int, Any]:
        if rec.method == "GET" and rec.path == "/v1/models":
            if self.models_status != 200:
                error = {"error": {"message": "Incorrect API key provided", "code": None}}
                return self.models_status, error
            return 200, {"object": "list", "data": [{"id": "gpt-test", "object": "model"}]}
        if rec.method == "POST" and rec.path == TRANSCRIPTIONS:
            if "file" not in rec.files or not rec.form.get("model"):
                return 400, {"error": {"message": "model and file are required"}}
            return 200, {"text": self.heard.pop(0) if self.heard else "ok"}
        if rec.method != "POST" or rec.path != PATH:
            return 404, {"error": {"message": "not found"}}
        turn = self.turns.pop(0) if self.turns else Turn()
        body = turn.body if turn.body is not None else self._completion(rec, turn)
        return turn.status, JSONResponse(body, headers=turn.headers)

    def _completion(self, rec: Recorded, turn: Turn) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": turn.content}
        if turn.tool_calls:
            message["tool_calls"] = [
                {
                    "id": f"call_{next(self._ids)}",
                    "type": "function",
                    "function": {"name": name, "arguments": raw},
                }
                for name, raw in turn.tool_calls
            ]
        return {
            "id": f"chatcmpl-{next(self._ids)}",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": (rec.json or {}).get("model", "unknown"),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if turn.tool_calls else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": turn.prompt_tokens,
                "completion_tokens": turn.completion_tokens,
                "total_tokens": turn.prompt_tokens + turn.completion_tokens,
            },
        }
