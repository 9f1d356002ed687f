"""Organisations, users, memberships and invitations: the core module's public functions.

Every function that touches tenant data takes `org_id`; a row of another organisation is
reported as not found, never as forbidden, so ids of other tenants cannot be probed.
"""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from atende.core.audit import Actor, record_audit
from atende.core.db import utcnow
from atende.core.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound
from atende.core.events import (
    EventCounter,
    MemberJoined,
    MemberRemoved,
    MemberUpdated,
    record_event,
)
from atende.core.models import Invitation, Membership, Organisation, Role, User
from atende.core.security import hash_password, new_token, token_hash, verify_password

INVITATION_DAYS = 7
MIN_PASSWORD = 8


@dataclass(frozen=True, slots=True)
class Member:
    user_id: int
    name: str
    email: str
    role: Role


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or " " in email or len(email) > 254:
        raise InvalidInput("Enter a valid e-mail address.", field="email")
    return email


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"The password needs at least {MIN_PASSWORD} characters.", field="password"
        )


async def create_organisation(session: AsyncSession, *, name: str) -> Organisation:
    name = name.strip()
    if not name:
        raise InvalidInput("The organisation needs a name.", field="organisation")
    org = Organisation(name=name[:120])
    session.add(org)
    await session.flush()
    session.add(EventCounter(org_id=org.id, last_seq=0))
    await session.flush()
    return org


async def create_user(session: AsyncSession, *, email: str, name: str, password: str) -> User:
    email = normalise_email(email)
    check_password(password)
    if await session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("An account with this e-mail already exists.", field="email")
    user = User(
        email=email,
        name=(name.strip() or email.split("@")[0])[:120],
        password_hash=await hash_password(password),
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent sign-up with the same e-mail won the race
        raise Conflict("An account with this e-mail already exists.", field="email") from exc
    return user


async def add_member(
    session: AsyncSession, *, org_id: int, user: User, role: Role, actor: Actor | None = None
) -> Membership:
    membership = Membership(org_id=org_id, user_id=user.id, role=role.value)
    session.add(membership)
    await session.flush()
    await record_event(
        session,
        org_id=org_id,
        payload=MemberJoined(user_id=user.id, name=user.name, email=user.email, role=role.value),
    )
    if actor is not None:
        await record_audit(
            session, actor=actor, action="member.added", target=user.email, details={"role": role}
        )
    return membership


async def sign_up(
    session: AsyncSession, *, email: str, name: str, password: str, organisation: str
) -> tuple[User, Organisation]:
    """A new person with a new organisation that they own."""
    org_name = organisation.strip()
    if not org_name:
        raise InvalidInput("The organisation needs a name.", field="organisation")
    user = await create_user(session, email=email, name=name, password=password)
    org = await create_organisation(session, name=org_name)
    await add_member(session, org_id=org.id, user=user, role=Role.owner)
    return user, org


async def authenticate(session: AsyncSession, *, email: str, password: str) -> User | None:
    user = await session.scalar(select(User).where(User.email == email.strip().lower()))
    ok = await verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        return None
    return user


async def user_by_email(session: AsyncSession, *, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.strip().lower()))


async def memberships_of(session: AsyncSession, *, user_id: int) -> list[tuple[Organisation, Role]]:
    rows = await session.execute(
        select(Organisation, Membership.role)
        .join(Membership, Membership.org_id == Organisation.id)
        .where(Membership.user_id == user_id)
        .order_by(Organisation.name)
    )
    return [(org, Role(role)) for org, role in rows.tuples()]


async def role_in(session: AsyncSession, *, org_id: int, user_id: int) -> Role | None:
    role = await session.scalar(
        select(Membership.role).where(Membership.org_id == org_id, Membership.user_id == user_id)
    )
    return Role(role) if role else None


async def get_organisation(session: AsyncSession, *, org_id: int) -> Organisation:
    org = await session.get(Organisation, org_id)
    if org is None:
        raise NotFound("Organisation not found.")
    return org


async def list_members(session: AsyncSession, *, org_id: int) -> list[Member]:
    rows = await session.execute(
        select(User.id, User.name, User.email, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org_id)
        .order_by(User.name)
    )
    return [Member(uid, name, email, Role(role)) for uid, name, email, role in rows.tuples()]


async def _membership(session: AsyncSession, *, org_id: int, user_id: int) -> Membership:
    membership = await session.scalar(
        select(Membership).where(Membership.org_id == org_id, Membership.user_id == user_id)
    )
    if membership is None:
        raise NotFound("Member not found.")
    return membership


async def _owner_count(session: AsyncSession, org_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.org_id == org_id, Membership.role == Role.owner.value)
    )
    return int(count or 0)


async def change_role(
    session: AsyncSession, *, org_id: int, user_id: int, role: Role, actor: Actor, actor_role: Role
) -> None:
    membership = await _membership(session, org_id=org_id, user_id=user_id)
    current = Role(membership.role)
    if Role.owner in (current, role) and actor_role is not Role.owner:
        raise Forbidden("Only an owner can grant or take away ownership.")
    if current is Role.owner and role is not Role.owner and await _owner_count(session, org_id) < 2:
        raise Conflict("An organisation needs at least one owner.")
    membership.role = role.value
    await session.flush()
    await record_event(session, org_id=org_id, payload=MemberUpdated(user_id=user_id, role=role))
    await record_audit(
        session,
        actor=actor,
        action="member.role_changed",
        target=str(user_id),
        details={"role": role},
    )


async def remove_member(
    session: AsyncSession, *, org_id: int, user_id: int, actor: Actor, actor_role: Role
) -> None:
    membership = await _membership(session, org_id=org_id, user_id=user_id)
    if Role(membership.role) is Role.owner:
        if actor_role is not Role.owner:
            raise Forbidden("Only an owner can remove an owner.")
        if await _owner_count(session, org_id) < 2:
            raise Conflict("An organisation needs at least one owner.")
    await session.delete(membership)
    await session.flush()
    await record_event(session, org_id=org_id, payload=MemberRemoved(user_id=user_id))
    await record_audit(session, actor=actor, action="member.removed", target=str(user_id))


# --- invitations --------------------------------------------------------------------------------


async def create_invitation(
    session: AsyncSession, *, org_id: int, email: str, role: Role, actor: Actor, actor_role: Role
) -> tuple[Invitation, str]:
    """Returns the invitation and its token (shown once, as part of the invitation link)."""
    email = normalise_email(email)
    if role is Role.owner and actor_role is not Role.owner:
        raise Forbidden("Only an owner can invite another owner.")
    existing = await session.scalar(
        select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.org_id == org_id, User.email == email)
    )
    if existing is not None:
        raise Conflict("This person is already a member.", field="email")
    token = new_token("inv_")
    invitation = Invitation(
        org_id=org_id,
        email=email,
        role=role.value,
        token_hash=token_hash(token),
        invited_by=actor.user_id,
        expires_at=utcnow() + timedelta(days=INVITATION_DAYS),
    )
    session.add(invitation)
    await session.flush()
    await record_audit(
        session, actor=actor, action="invitation.created", target=email, details={"role": role}
    )
    return invitation, token


async def list_invitations(session: AsyncSession, *, org_id: int) -> list[Invitation]:
    rows = await session.scalars(
        select(Invitation)
        .where(
            Invitation.org_id == org_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
        .order_by(Invitation.id.desc())
    )
    return list(rows)


async def revoke_invitation(
    session: AsyncSession, *, org_id: int, invitation_id: int, actor: Actor
) -> None:
    invitation = await session.scalar(
        select(Invitation).where(
            Invitation.id == invitation_id,
            Invitation.org_id == org_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
    )
    if invitation is None:
        raise NotFound("Invitation not found.")
    invitation.revoked_at = utcnow()
    await session.flush()
    await record_audit(session, actor=actor, action="invitation.revoked", target=invitation.email)


async def find_invitation(session: AsyncSession, *, token: str) -> Invitation:
    invitation = await session.scalar(
        select(Invitation).where(Invitation.token_hash == token_hash(token))
    )
    if invitation is None or invitation.revoked_at is not None:
        raise NotFound("This invitation link is not valid.")
    if invitation.accepted_at is not None or invitation.expires_at <= utcnow():
        raise Gone("This invitation was already used or has expired.")
    return invitation


async def accept_invitation(session: AsyncSession, *, token: str, user: User) -> int:
    """Adds the user to the invitation's organisation; returns the organisation id."""
    invitation = await find_invitation(session, token=token)
    if invitation.email != user.email:
        raise Forbidden("This invitation was sent to another e-mail address.")
    if await role_in(session, org_id=invitation.org_id, user_id=user.id) is None:
        await add_member(session, org_id=invitation.org_id, user=user, role=Role(invitation.role))
    invitation.accepted_at = utcnow()
    await session.flush()
    return invitation.org_id
