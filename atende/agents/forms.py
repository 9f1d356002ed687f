"""The agent editor's form: flat text fields to and from `AgentIn`, and errors per field.

The whole form is validated before anything is saved: a refused field leaves the agent as it
was, and each error is a catalog key (with its values) shown beside the field it is about.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from atende.agents.behaviour import WEEKDAYS, WorkingHours
from atende.agents.schemas import AgentIn, AgentOut, AgentPatch

TEXT_FIELDS = (
    "name",
    "instructions",
    "greeting",
    "fallback_text",
    "brain",
    "base_url",
    "model",
    "transcription_model",
)
NUMBER_FIELDS = ("temperature", "max_tokens")
BEHAVIOUR_NUMBERS = (
    "debounce_seconds",
    "typing_chars_per_second",
    "memory_messages",
    "human_silence_resume_minutes",
    "replies_per_minute",
)
CHECKBOXES = (
    "show_typing",
    "split_replies",
    "answer_groups",
    "hours_enabled",
    "clear_api_key",
    "vision",
)
BEHAVIOUR_TEXTS = ("out_of_hours_reply", "voice_note_reply", "image_reply")
DEFAULT_ZONE = "America/Sao_Paulo"
_RANGE = re.compile(r"^\s*(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})\s*$")
# pydantic error types -> catalog keys (with the limit where there is one)
_ERROR_KEYS = {
    "greater_than_equal": "agents.error.min",
    "greater_than": "agents.error.min",
    "less_than_equal": "agents.error.max",
    "less_than": "agents.error.max",
    "string_too_long": "agents.error.too_long",
    "string_too_short": "agents.error.required",
    "missing": "agents.error.required",
    "float_parsing": "agents.error.number",
    "int_parsing": "agents.error.number",
    "int_from_float": "agents.error.whole",
    "too_long": "agents.error.too_many",
    "literal_error": "agents.error.invalid",
}


@dataclass(frozen=True, slots=True)
class FieldError:
    key: str
    values: dict[str, Any] = field(default_factory=dict)


class FormInvalid(Exception):
    def __init__(self, errors: dict[str, FieldError]) -> None:
        super().__init__("the agent form is invalid")
        self.errors = errors


def form_of(agent: AgentOut | None) -> dict[str, str]:
    """The editor's fields for an agent (or a new one's defaults), as the form shows them."""
    data = agent or AgentIn(name="x")
    b = data.behaviour
    hours = b.working_hours
    form = {name: str(getattr(data, name)) for name in (*TEXT_FIELDS, *NUMBER_FIELDS)}
    form["name"] = agent.name if agent else ""
    form |= {
        name: "" if getattr(b, name) is None else _number(getattr(b, name))
        for name in BEHAVIOUR_NUMBERS
    }
    form["temperature"] = _number(data.temperature)
    form |= {
        "show_typing": "on" if b.show_typing else "",
        "split_replies": "on" if b.split_replies else "",
        "answer_groups": "on" if b.answer_groups else "",
        "hours_enabled": "on" if hours else "",
        "clear_api_key": "",
        "vision": "on" if data.vision else "",
        "api_key": "",
        "handoff_keywords": ", ".join(b.handoff_keywords),
        "ignored_contacts": "\n".join(b.ignored_contacts),
        "timezone": hours.timezone if hours else DEFAULT_ZONE,
    }
    form |= {name: getattr(b, name) for name in BEHAVIOUR_TEXTS}
    days = (hours or WorkingHours()).days  # closed hours still show the usual week
    for day in WEEKDAYS:
        form[f"hours_{day}"] = ", ".join(f"{r.start}-{r.end}" for r in days.get(day, []))
    return form


def _number(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _split(text: str, pattern: str) -> list[str]:
    return [part.strip() for part in re.split(pattern, text) if part.strip()]


def _hours(form: dict[str, str], errors: dict[str, FieldError]) -> dict[str, Any] | None:
    if form.get("hours_enabled") != "on":
        return None
    days: dict[str, list[dict[str, str]]] = {}
    for day in WEEKDAYS:
        ranges = []
        for part in _split(form.get(f"hours_{day}", ""), r"[,;]"):
            match = _RANGE.match(part)
            if not match:
                errors[f"hours_{day}"] = FieldError("agents.error.hours")
                break
            start, end = (value.zfill(5) for value in match.groups())
            ranges.append({"start": start, "end": end})
        if ranges:
            days[day] = ranges
    return {"timezone": form.get("timezone", "").strip() or DEFAULT_ZONE, "days": days}


def _payload(form: dict[str, str], errors: dict[str, FieldError]) -> dict[str, Any]:
    silence = form.get("human_silence_resume_minutes", "").strip()
    behaviour: dict[str, Any] = {
        name: form.get(name, "").strip()
        for name in BEHAVIOUR_NUMBERS
        if name != "human_silence_resume_minutes"
    }
    behaviour |= {
        "human_silence_resume_minutes": silence or None,
        "show_typing": form.get("show_typing") == "on",
        "split_replies": form.get("split_replies") == "on",
        "answer_groups": form.get("answer_groups") == "on",
        "handoff_keywords": _split(form.get("handoff_keywords", ""), r"[,\n]"),
        "ignored_contacts": _split(form.get("ignored_contacts", ""), r"[,\s]+"),
        "working_hours": _hours(form, errors),
    }
    behaviour |= {name: form[name] for name in BEHAVIOUR_TEXTS if name in form}
    payload: dict[str, Any] = {name: form.get(name, "") for name in (*TEXT_FIELDS, *NUMBER_FIELDS)}
    payload["api_key"] = form.get("api_key", "")
    payload["vision"] = form.get("vision") == "on"
    payload["behaviour"] = behaviour
    return payload


def _field_of(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts[:1] != ["behaviour"] or len(parts) < 2:
        return parts[0] if parts else "name"
    if parts[1] != "working_hours" or len(parts) < 3:
        return parts[1]
    if parts[2] == "days" and len(parts) > 3:
        return f"hours_{parts[3]}"
    return "timezone"


def _error_of(field_name: str, error: Any) -> FieldError:
    kind = str(error.get("type", ""))
    limit = next(
        (
            v
            for k, v in (error.get("ctx") or {}).items()
            if k in ("ge", "gt", "le", "lt", "max_length")
        ),
        None,
    )
    special = {
        "timezone": "agents.error.timezone",
        "base_url": "agents.error.url",
        "ignored_contacts": "agents.error.phone",
        "handoff_keywords": "agents.error.keyword",
    }
    if kind == "value_error" and field_name in special:
        return FieldError(special[field_name])
    if field_name.startswith("hours_"):
        return FieldError("agents.error.hours")
    key = _ERROR_KEYS.get(kind, "agents.error.invalid")
    return FieldError(key, {"limit": _number(limit)} if isinstance(limit, int | float) else {})


def agent_in(form: dict[str, str]) -> AgentIn:
    """The whole form as `AgentIn`, or `FormInvalid` with every field's error."""
    errors: dict[str, FieldError] = {}
    payload = _payload(form, errors)
    try:
        data = AgentIn.model_validate(payload)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            name = _field_of(error["loc"])
            errors.setdefault(name, _error_of(name, error))
        raise FormInvalid(errors) from exc
    if data.brain == "openai" and not data.model:
        errors["model"] = FieldError("agents.error.model_required")
    if errors:
        raise FormInvalid(errors)
    return data


def agent_patch(data: AgentIn, form: dict[str, str]) -> AgentPatch:
    """Every field of the editor; the API key only when one was typed (or removal asked)."""
    changes = data.model_dump(exclude={"api_key", "behaviour"})
    changes["behaviour"] = data.behaviour.model_dump(mode="json")
    if data.api_key:
        changes["api_key"] = data.api_key
    elif form.get("clear_api_key") == "on":
        changes["api_key"] = ""
    return AgentPatch.model_validate(changes)
