"""A plain ASGI route that names itself in the scope like FastAPI's routes do.

For the few endpoints where FastAPI's per-request machinery (dependency solving, validation)
costs more than the work itself: event streams and provider webhooks. Metrics and logs still
see the route template.
"""

from starlette.routing import Match, Route
from starlette.types import Scope


class AsgiRoute(Route):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope
