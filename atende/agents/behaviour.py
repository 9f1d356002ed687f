"""An agent's behaviour on WhatsApp (SPEC §5), stored as a validated JSON document.

Every field has a default that makes a new agent reasonable out of the box; the reply
pipeline reads the document through `Behaviour.model_validate`.
"""

import re
from datetime import datetime, time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from atende.core.schemas import Strict

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")


class TimeRange(Strict):
    """Opening hours within one day, `HH:MM` to `HH:MM` (end may be `24:00`)."""

    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError("use HH:MM, 00:00 to 24:00")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> "TimeRange":
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def contains(self, moment: time) -> bool:
        clock = moment.strftime("%H:%M")
        return self.start <= clock < self.end


class WorkingHours(Strict):
    timezone: str = Field(default="America/Sao_Paulo", max_length=64)
    days: dict[Weekday, list[TimeRange]] = Field(
        default_factory=lambda: {
            day: [TimeRange(start="09:00", end="18:00")] for day in WEEKDAYS[:5]
        },
        description="Opening hours per weekday; a missing day is closed.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.timezone))
        ranges = self.days.get(WEEKDAYS[local.weekday()], [])
        return any(r.contains(local.time()) for r in ranges)


ContactId = str


class Behaviour(Strict):
    debounce_seconds: float = Field(
        default=6.0, ge=0, le=300, description="Wait this long for more messages of a burst."
    )
    typing_chars_per_second: float = Field(
        default=30.0, gt=0, le=1000, description="Typing speed that paces each reply part."
    )
    show_typing: bool = Field(
        default=True,
        description="Show typing… and pause like a person before each part (off: send at once).",
    )
    split_replies: bool = Field(
        default=True, description="Send long replies as several messages on paragraph breaks."
    )
    memory_messages: int = Field(
        default=20, ge=0, le=200, description="Messages of history the brain sees."
    )
    handoff_keywords: list[str] = Field(
        default_factory=lambda: ["atendente", "humano", "human", "operator"],
        max_length=50,
        description="A customer message containing one of these hands over to people.",
    )
    human_silence_resume_minutes: int | None = Field(
        default=60,
        ge=1,
        le=10_080,
        description="After a handoff, the bot resumes when people stay silent this long; "
        "null: only when released or closed.",
    )
    working_hours: WorkingHours | None = Field(
        default=None, description="When the bot answers; null: always."
    )
    out_of_hours_reply: str = Field(
        default="Olá! Estamos fora do horário de atendimento; respondemos assim que voltarmos.",
        max_length=1000,
    )
    # What the bot says when it cannot read a customer's message; they offer a person, as
    # the other replies do (the customer may answer with a handoff keyword).
    voice_note_reply: str = Field(
        default="Recebi seu áudio, mas ainda não consigo ouvir áudios por aqui. Pode escrever "
        "sua mensagem? Se preferir, chamo uma pessoa da equipe.",
        min_length=1,
        max_length=1000,
        description="The answer to a voice note that cannot be transcribed.",
    )
    image_reply: str = Field(
        default="Recebi sua imagem, mas não consigo ver imagens por aqui. Pode descrever em "
        "texto o que precisa? Se preferir, chamo uma pessoa da equipe.",
        min_length=1,
        max_length=1000,
        description="The answer to an image without a caption the agent cannot see.",
    )
    answer_groups: bool = False
    ignored_contacts: list[ContactId] = Field(
        default_factory=list,
        max_length=1000,
        description="Phone numbers (digits, optional +) the bot never answers.",
    )
    replies_per_minute: int = Field(
        default=6, ge=1, le=60, description="Per conversation; stops loops with other bots."
    )

    @field_validator("handoff_keywords")
    @classmethod
    def _keywords(cls, value: list[str]) -> list[str]:
        cleaned = [k.strip().lower() for k in value]
        if any(not k or len(k) > 60 for k in cleaned):
            raise ValueError("keywords must have 1 to 60 characters")
        return list(dict.fromkeys(cleaned))

    @field_validator("ignored_contacts")
    @classmethod
    def _phones(cls, value: list[str]) -> list[str]:
        for phone in value:
            if not re.fullmatch(r"\+?[0-9]{5,20}", phone.strip()):
                raise ValueError(f"{phone!r} is not a phone number")
        return [p.strip() for p in value]
