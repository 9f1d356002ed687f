"""Who may see a page: signed-in people (else off to /login) and managers (else a 403 page)."""

from typing import Annotated

from fastapi import Depends, Request, Response

from atende.core.access import Principal
from atende.core.deps import DbSession, OptionalPrincipal
from atende.core.errors import Forbidden, NotAuthenticated
from atende.web.activity import latest_event_seq
from atende.web.shell import login_redirect


class SignInRequired(NotAuthenticated):
    """Raised by page dependencies; answered with a redirect to the sign-in page, not a 401."""


async def on_sign_in_required(request: Request, exc: Exception) -> Response:
    return login_redirect(request)


async def page_principal(
    request: Request, principal: OptionalPrincipal, session: DbSession
) -> Principal:
    # Pages are for people: an API key gets no page session.
    if principal is None or principal.is_api_key:
        raise SignInRequired("Sign in to see this page.")
    # Read before the page's own queries: the page's event stream resumes after this point,
    # so nothing that happens between rendering and connecting is missed.
    request.state.event_seq = await latest_event_seq(session, org_id=principal.org_id)
    return principal


PagePrincipal = Annotated[Principal, Depends(page_principal, scope="function")]


async def page_manager(principal: PagePrincipal) -> Principal:
    if not principal.role.can_manage:
        raise Forbidden("Only owners and admins can do this.")
    return principal


PageManager = Annotated[Principal, Depends(page_manager, scope="function")]
