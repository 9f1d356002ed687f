"""Tools a model may call: the built-ins every agent has, and checks of the model's calls.

Built-in tools change the conversation (hand it to people, label it, close it). A brain does
not do that itself: it tells the model the call was accepted and returns the call to its
caller, which applies the effect after the turn (in its own transaction).
"""

import json
from dataclasses import replace
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator

from atende.agents.brains.base import ToolCall, ToolSpec

HANDOFF = "handoff_to_human"
ADD_LABEL = "add_label"
CLOSE = "close_conversation"
MAX_RAW_ARGUMENTS = 500

BUILTIN_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name=HANDOFF,
        description="Hand the conversation to a person of the team: when the customer asks "
        "for one, or you cannot help with what they need.",
        parameters={
            "type": "object",
            "properties": {
                "reason": {"type": "string", "description": "Why a person is needed, briefly."}
            },
            "required": ["reason"],
            "additionalProperties": False,
        },
    ),
    ToolSpec(
        name=ADD_LABEL,
        description="Add one of the team's labels to the conversation, to sort it.",
        parameters={
            "type": "object",
            "properties": {"name": {"type": "string", "description": "The label."}},
            "required": ["name"],
            "additionalProperties": False,
        },
    ),
    ToolSpec(
        name=CLOSE,
        description="Close the conversation once the customer's matter is fully resolved.",
        parameters={"type": "object", "properties": {}, "additionalProperties": False},
    ),
)
BUILTIN_RESULTS = {
    HANDOFF: "ok: a person of the team will take over; tell the customer so, briefly.",
    ADD_LABEL: "ok: label added.",
    CLOSE: "ok: the conversation will be closed after your answer.",
}
_BUILTIN = {tool.name: tool for tool in BUILTIN_TOOLS}


def offered_builtins(labels: tuple[str, ...]) -> list[ToolSpec]:
    """`add_label` only with labels to choose from (the model names one of them; it never
    invents labels), the others always."""
    offered: list[ToolSpec] = []
    for tool in BUILTIN_TOOLS:
        if tool.name != ADD_LABEL:
            offered.append(tool)
        elif labels:
            name = {**tool.parameters["properties"]["name"], "enum": list(labels)}
            parameters = {**tool.parameters, "properties": {"name": name}}
            offered.append(replace(tool, parameters=parameters))
    return offered


def tool_schemas(user_tools: list[ToolSpec], labels: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The `tools` of a chat-completions request: the built-ins, then the agent's own."""
    names = set(_BUILTIN)
    tools = offered_builtins(labels) + [t for t in user_tools if t.name not in names]
    return [
        {
            "type": "function",
            "function": {
                "name": t.name,
                "description": t.description,
                "parameters": t.parameters,
            },
        }
        for t in tools
    ]


class RefusedCall(Exception):
    """The model's call cannot be run; the message is what the model reads back."""


def parse_arguments(name: str, raw: str | None) -> dict[str, Any]:
    """The call's arguments as an object (raises `RefusedCall` when malformed)."""
    text = (raw or "").strip() or "{}"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RefusedCall(
            f"error: the arguments of {name} are not valid JSON ({exc.msg}); send a JSON object"
        ) from exc
    if not isinstance(value, dict):
        raise RefusedCall(f"error: the arguments of {name} must be a JSON object")
    return value


def check_builtin(name: str, arguments: dict[str, Any], labels: tuple[str, ...] = ()) -> None:
    """The built-ins' arguments: the required strings present and non-empty, nothing else;
    `add_label` names one of the organisation's labels (any case)."""
    spec = _BUILTIN[name]
    properties: dict[str, Any] = spec.parameters.get("properties", {})
    unexpected = sorted(set(arguments) - set(properties))
    if unexpected:
        raise RefusedCall(f"error: {name} takes no argument {', '.join(unexpected)}")
    for key in spec.parameters.get("required", []):
        value = arguments.get(key)
        if not isinstance(value, str) or not value.strip():
            raise RefusedCall(f"error: {name} needs `{key}` as a non-empty string")
    if name == ADD_LABEL:
        wanted = arguments["name"].strip().casefold()
        if wanted not in {label.casefold() for label in labels}:
            raise RefusedCall(
                f"error: there is no label {arguments['name']!r}; use one of: {', '.join(labels)}"
            )


# A marker, by identity: what `validator_for` gives for a schema naming no draft it knows.
_NO_DRAFT: type[Validator] = validators.extend(Draft202012Validator)  # type: ignore[no-untyped-call]


def schema_validator(schema: dict[str, Any]) -> type[Validator] | None:
    """The JSON Schema draft `schema` names (2020-12 when it names none); None: a `$schema`
    this library does not know."""
    found: type[Validator] = validators.validator_for(schema, default=_NO_DRAFT)
    if found is _NO_DRAFT:
        return None if "$schema" in schema else Draft202012Validator
    return found


def check_user_arguments(spec: ToolSpec, arguments: dict[str, Any]) -> None:
    """A user-defined tool's arguments against its JSON Schema (checked as a schema when the
    tool was saved); the first error is told to the model."""
    validator_class = schema_validator(spec.parameters) or Draft202012Validator
    try:
        error = best_match(validator_class(spec.parameters).iter_errors(arguments))
    except Exception as exc:  # e.g. a `$ref` that resolves to nothing: the schema's fault
        raise RefusedCall(
            f"error: the parameters of {spec.name} cannot be checked ({exc})"[:500]
        ) from exc
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path)
        at = f" at `{where}`" if where else ""
        raise RefusedCall(f"error: invalid arguments for {spec.name}{at}: {error.message}"[:500])


def is_builtin(name: str) -> bool:
    return name in _BUILTIN


def refused(name: str, raw: str | None, message: str) -> ToolCall:
    """A refused call as recorded: the raw arguments kept (cut) for "why did it say this"."""
    return ToolCall(
        name=name[:100],
        arguments={"_raw": (raw or "")[:MAX_RAW_ARGUMENTS]},
        result=message,
        error=message.removeprefix("error: "),
    )
