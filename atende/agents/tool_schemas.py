"""Request and response bodies of an agent's HTTP tools (`http_tools.py`)."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from atende.core.schemas import Strict

ToolMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
TOOL_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$"
_URL_DOC = (
    "http(s) URL. `{name}` in the path or query is replaced by that argument (URL-encoded; it "
    "must be a required property of `parameters`). The other arguments go in the query string "
    "(GET, DELETE) or as the JSON body (POST, PUT, PATCH)."
)
_PARAMETERS_DOC = "JSON Schema of the arguments: an object (`type: object`) with `properties`."
_HEADERS_DOC = "Header name -> value, e.g. an API key. Stored encrypted, never returned."


def _empty_object() -> dict[str, Any]:
    return {"type": "object", "properties": {}}


class ToolIn(Strict):
    name: str = Field(pattern=TOOL_NAME, description="What the model calls it: an identifier.")
    description: str = Field(
        min_length=1, max_length=1000, description="When and why the model should call it."
    )
    parameters: dict[str, Any] = Field(default_factory=_empty_object, description=_PARAMETERS_DOC)
    method: ToolMethod = "GET"
    url: str = Field(min_length=1, max_length=2000, description=_URL_DOC)
    headers: dict[str, str] = Field(default_factory=dict, max_length=20, description=_HEADERS_DOC)
    timeout_seconds: float = Field(default=10.0, gt=0, le=30)


class ToolPatch(Strict):
    """Only the fields sent change. `headers` are merged by name: a value sets the header, null
    removes it, headers not named are kept (their values are never shown, so cannot be sent
    back)."""

    name: str | None = Field(default=None, pattern=TOOL_NAME)
    description: str | None = Field(default=None, min_length=1, max_length=1000)
    parameters: dict[str, Any] | None = None
    method: ToolMethod | None = None
    url: str | None = Field(default=None, min_length=1, max_length=2000)
    headers: dict[str, str | None] | None = Field(default=None, max_length=20)
    timeout_seconds: float | None = Field(default=None, gt=0, le=30)


class ToolOut(BaseModel):
    id: int
    agent_id: int
    name: str
    description: str
    parameters: dict[str, Any]
    method: str
    url: str
    headers: dict[str, str] = Field(description="Header names with masked values.")
    timeout_seconds: float
    created_at: datetime
    updated_at: datetime
