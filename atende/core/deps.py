"""FastAPI dependencies shared by every module's routes (`Annotated` aliases)."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from atende.core.access import (
    Principal,
    authenticate_api_key,
    principal_from_session,
    touch_api_key,
)
from atende.core.csrf import SAFE_METHODS, SESSION_COOKIE
from atende.core.db import Database
from atende.core.errors import Forbidden, NotAuthenticated
from atende.core.settings import Settings


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One unit of work per request: commits before the response is sent, or rolls back."""
    database = get_database(request)
    async with database.unit_of_work(write=request.method not in SAFE_METHODS) as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(db_session, scope="function")]
AppSettings = Annotated[Settings, Depends(get_app_settings)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


async def optional_principal(request: Request, session: DbSession) -> Principal | None:
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    principal: Principal | None = None
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        principal = await _principal_from_key(request, session, key=authorization[7:].strip())
    elif token := request.cookies.get(SESSION_COOKIE):
        principal = await principal_from_session(session, token=token)
    request.state.principal = principal
    return principal


async def _principal_from_key(request: Request, session: AsyncSession, *, key: str) -> Principal:
    """Authenticates an API key and records its use (`last_used_at`, every few minutes).

    Both happen in short transactions of their own, before the request's unit of work starts,
    so the stamp sticks even when the request only reads (its transaction is rolled back) or is
    refused. Should the request's transaction have begun already (a dependency used it first),
    the stamp joins it instead: on SQLite, with one writer, a second write transaction would
    otherwise wait for the request's own lock."""
    database = get_database(request)
    if session.in_transaction():
        found = await authenticate_api_key(session, key=key)
    else:
        async with database.unit_of_work(write=False) as own:
            found = await authenticate_api_key(own, key=key)
    if found is None:
        raise NotAuthenticated("The API key is not valid or was revoked.")
    principal, touch_due = found
    if touch_due and principal.api_key_id is not None:
        if session.in_transaction():
            await touch_api_key(session, key_id=principal.api_key_id)
        else:
            async with database.unit_of_work() as own:
                await touch_api_key(own, key_id=principal.api_key_id)
    return principal


async def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal, scope="function")],
) -> Principal:
    if principal is None:
        raise NotAuthenticated("Sign in or send an API key.")
    return principal


async def manager_principal(
    principal: Annotated[Principal, Depends(current_principal, scope="function")],
) -> Principal:
    if not principal.role.can_manage:
        raise Forbidden("Only owners and admins can do this.")
    return principal


async def human_manager(
    principal: Annotated[Principal, Depends(manager_principal, scope="function")],
) -> Principal:
    """Managing members and API keys needs a signed-in person, not another API key."""
    if principal.is_api_key:
        raise Forbidden("API keys cannot manage members or keys; sign in as an admin.")
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal, scope="function")]
CurrentPrincipal = Annotated[Principal, Depends(current_principal, scope="function")]
ManagerPrincipal = Annotated[Principal, Depends(manager_principal, scope="function")]
HumanManager = Annotated[Principal, Depends(human_manager, scope="function")]


async def end_transaction_before_io(session: AsyncSession) -> None:
    """Commits what the request did so far (e.g. an API key's use), so that no transaction,
    and on SQLite no write lock, is held while a route waits on the network. Later use of the
    session starts a new transaction, committed by the unit of work as usual."""
    if session.in_transaction():
        await session.commit()
