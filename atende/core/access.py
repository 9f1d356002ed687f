"""Who is calling: sign-in sessions (browser cookie) and API keys (`Authorization: Bearer`)."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from atende.core.audit import Actor, record_audit
from atende.core.db import utcnow
from atende.core.errors import InvalidInput, NotFound
from atende.core.models import ApiKey, Membership, Role, User, UserSession
from atende.core.security import new_token, token_hash

API_KEY_PREFIX = "atk_"
# How often `last_used_at` is refreshed: not on every request, so that most reads write nothing.
LAST_USED_PRECISION = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller, always bound to exactly one organisation."""

    org_id: int
    role: Role
    user_id: int | None = None
    session_id: int | None = None
    api_key_id: int | None = None
    name: str = ""
    email: str = ""

    @property
    def is_api_key(self) -> bool:
        return self.api_key_id is not None

    def actor(self, ip: str = "") -> Actor:
        return Actor(org_id=self.org_id, user_id=self.user_id, api_key_id=self.api_key_id, ip=ip)


# --- sessions -------------------------------------------------------------------------------------


async def start_session(
    session: AsyncSession, *, user_id: int, org_id: int, days: int, user_agent: str = ""
) -> str:
    """Creates a sign-in session and returns its token (goes into the cookie only)."""
    token = new_token()
    session.add(
        UserSession(
            token_hash=token_hash(token),
            user_id=user_id,
            org_id=org_id,
            expires_at=utcnow() + timedelta(days=days),
            user_agent=user_agent[:255],
        )
    )
    await session.flush()
    return token


async def end_session(session: AsyncSession, *, token: str) -> None:
    await session.execute(delete(UserSession).where(UserSession.token_hash == token_hash(token)))


async def switch_session_org(session: AsyncSession, *, session_id: int, org_id: int) -> None:
    await session.execute(
        update(UserSession).where(UserSession.id == session_id).values(org_id=org_id)
    )


async def principal_from_session(session: AsyncSession, *, token: str) -> Principal | None:
    row = (
        await session.execute(
            select(
                UserSession.id, UserSession.org_id, User.id, User.name, User.email, Membership.role
            )
            .join(User, User.id == UserSession.user_id)
            .join(
                Membership,
                (Membership.user_id == User.id) & (Membership.org_id == UserSession.org_id),
            )
            .where(
                UserSession.token_hash == token_hash(token),
                UserSession.expires_at > utcnow(),
                User.is_active.is_(True),
            )
        )
    ).first()
    if row is None:
        return None
    session_id, org_id, user_id, name, email, role = row
    return Principal(
        org_id=org_id,
        role=Role(role),
        user_id=user_id,
        session_id=session_id,
        name=name,
        email=email,
    )


# --- API keys -------------------------------------------------------------------------------------


async def create_api_key(
    session: AsyncSession, *, org_id: int, name: str, actor: Actor
) -> tuple[ApiKey, str]:
    """Returns the key row and the full key, which is shown once and never stored."""
    name = name.strip()
    if not name or len(name) > 120:
        raise InvalidInput("Give the key a name of 1 to 120 characters.", field="name")
    key = new_token(API_KEY_PREFIX)
    row = ApiKey(
        org_id=org_id,
        name=name,
        prefix=key[: len(API_KEY_PREFIX) + 6],
        key_hash=token_hash(key),
        created_by=actor.user_id,
    )
    session.add(row)
    await session.flush()
    await record_audit(session, actor=actor, action="api_key.created", target=row.prefix)
    return row, key


async def list_api_keys(session: AsyncSession, *, org_id: int) -> list[ApiKey]:
    rows = await session.scalars(
        select(ApiKey).where(ApiKey.org_id == org_id).order_by(ApiKey.id.desc())
    )
    return list(rows)


async def revoke_api_key(session: AsyncSession, *, org_id: int, key_id: int, actor: Actor) -> None:
    row = await session.scalar(
        select(ApiKey).where(
            ApiKey.id == key_id, ApiKey.org_id == org_id, ApiKey.revoked_at.is_(None)
        )
    )
    if row is None:
        raise NotFound("API key not found.")
    row.revoked_at = utcnow()
    await session.flush()
    await record_audit(session, actor=actor, action="api_key.revoked", target=row.prefix)


async def authenticate_api_key(session: AsyncSession, *, key: str) -> tuple[Principal, bool] | None:
    """The key's principal, and whether its use is due to be recorded (see `touch_api_key`)."""
    if not key.startswith(API_KEY_PREFIX):
        return None
    row = await session.scalar(
        select(ApiKey).where(ApiKey.key_hash == token_hash(key), ApiKey.revoked_at.is_(None))
    )
    if row is None:
        return None
    principal = Principal(org_id=row.org_id, role=Role.admin, api_key_id=row.id, name=row.name)
    touch_due = row.last_used_at is None or row.last_used_at < utcnow() - LAST_USED_PRECISION
    return principal, touch_due


async def principal_from_api_key(session: AsyncSession, *, key: str) -> Principal | None:
    found = await authenticate_api_key(session, key=key)
    return found[0] if found else None


async def touch_api_key(session: AsyncSession, *, key_id: int) -> None:
    """Records use of a key, at most every few minutes (in its own short write transaction, so
    that read-only use and refused requests count as use too)."""
    now = utcnow()
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            (ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < now - LAST_USED_PRECISION),
        )
        .values(last_used_at=now)
    )
