"""Request and response bodies of the core API."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from atende.core.models import Role


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


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
