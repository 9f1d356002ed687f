"""Request and response bodies of the core API."""

from datetime import datetime
from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, field_validator

from atende.core.models import Role

# Ids in paths: anything outside a 64-bit id cannot exist, and the drivers refuse to bind it.
MAX_ID = 2**63 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]


def check_storable(value: str) -> str:
    """Text every database can store: no NUL (PostgreSQL refuses it) and valid Unicode (a lone
    surrogate, which JSON can carry as `\\ud800`, cannot be encoded as UTF-8)."""
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text must be valid Unicode") from exc
    return value


class Strict(BaseModel):
    """Base of request bodies: unknown fields are errors, text is trimmed and storable."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: object) -> object:
        return check_storable(value) if isinstance(value, str) else value


class LoginIn(Strict):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)
    org_id: int | None = None


class SignupIn(Strict):
    email: str = Field(max_length=254)
    password: str = Field(min_length=8, max_length=1024)
    name: str = Field(default="", max_length=120)
    organisation: str = Field(min_length=1, max_length=120)


class AcceptInvitationIn(Strict):
    """Accept as a new person (name + password) or as an existing account (its password)."""

    password: str = Field(max_length=1024)
    name: str = Field(default="", max_length=120)


class MeOut(BaseModel):
    user_id: int | None
    name: str
    email: str
    org_id: int
    role: Role
    via_api_key: bool


class OrganisationOut(BaseModel):
    org_id: int
    name: str
    role: Role
    current: bool


class SwitchIn(Strict):
    org_id: int = Field(ge=1, le=2**63 - 1)


class MemberOut(BaseModel):
    user_id: int
    name: str
    email: str
    role: Role


class RoleIn(Strict):
    role: Role


class InvitationIn(Strict):
    email: str = Field(max_length=254)
    role: Role = Role.operator


class InvitationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    role: Role
    expires_at: datetime


class InvitationCreated(InvitationOut):
    url: str = Field(description="The invitation link; shown once.")


class ApiKeyIn(Strict):
    name: str = Field(min_length=1, max_length=120)


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The full key; shown once, store it now.")


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    action: str
    target: str
    actor_user_id: int | None
    actor_api_key_id: int | None
    ip: str
    created_at: datetime
