"""Routes of the realtime module."""

from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

from atende.realtime.hub import Hub
from atende.realtime.sse import EventStream


class StreamRoute(Route):
    """A raw ASGI route that, like FastAPI's routes, names itself in the scope (for metrics)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope


def event_routes(hub: Hub) -> list[BaseRoute]:
    return [StreamRoute("/api/v1/events", EventStream(hub), methods=["GET"], name="events")]
