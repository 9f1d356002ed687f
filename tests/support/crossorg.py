"""Walks every `/api/v1` route as the owner of another organisation (STYLE: "a test walks every
endpoint as a user of another organisation").

The route list comes from the application itself (`create_app().routes`, built in a subprocess
with the test server's settings), so a new route is walked as soon as it exists. Each route
with path parameters is called with the ids of resources that belong to organisation A, as
the signed-in owner of organisation B, and must answer 404: not 403 (that would confirm the id
exists), not 2xx. Afterwards the same calls made by A's owner must *not* be 404, which proves the
ids were real. Routes without path parameters must show B only its own data (see the tests).

How to register a new module's routes (the walk fails loudly until you do):

1. Map each path parameter to a kind of resource in `PARAMS`, keyed by the route's path
   template and the parameter name::

       ("/api/v1/agents/{agent_id}", "agent_id"): "agent",

2. Teach `Resources.create` how to make one resource of that kind in organisation A (an async
   function in `CREATORS`, in `crossorg_resources.py`, taking the owner's `Tenant` and the
   server's base URL, returning the id as a string)::

       async def create_agent(owner: Tenant, base_url: str) -> str:
           response = await owner.client.post("/api/v1/agents", json={"name": "A's agent"})
           assert response.status_code == 201, response.text
           return str(response.json()["id"])

       CREATORS["agent"] = create_agent

3. If the route takes a JSON body, give a valid one in `BODIES`, keyed by (method, template),
   so that validation (422) does not hide the 404.

   A route whose parameters belong together (a parent and its child) maps them all to one
   kind whose creator returns ``{"parent_id": ..., "child_id": ...}``.

4. A route that is deliberately not scoped by organisation (the id is itself the credential,
   like an invitation token) goes into `UNSCOPED` with the reason; use that sparingly.
"""

import json
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from string import Formatter
from typing import Any

import httpx

from tests.support.crossorg_resources import CREATORS, DATABASES
from tests.support.server import Server
from tests.support.tenants import Tenant

API_PREFIX = "/api/v1"

# (path template, parameter) -> kind of resource
PARAMS: dict[tuple[str, str], str] = {
    ("/api/v1/members/{user_id}", "user_id"): "member",
    ("/api/v1/invitations/{invitation_id}", "invitation_id"): "invitation",
    ("/api/v1/api-keys/{key_id}", "key_id"): "api_key",
    **{
        (path, "instance_id"): "instance"
        for path in (
            "/api/v1/instances/{instance_id}",
            "/api/v1/instances/{instance_id}/connect",
            "/api/v1/instances/{instance_id}/disconnect",
            "/api/v1/sandbox/{instance_id}/messages",
            "/api/v1/sandbox/{instance_id}/read",
            "/api/v1/sandbox/{instance_id}/scan",
        )
    },
    ("/api/v1/contacts/{contact_id}", "contact_id"): "contact",
    **{
        (path, "conversation_id"): "conversation"
        for path in (
            "/api/v1/conversations/{conversation_id}",
            "/api/v1/conversations/{conversation_id}/messages",
            "/api/v1/conversations/{conversation_id}/takeover",
            "/api/v1/conversations/{conversation_id}/release",
            "/api/v1/conversations/{conversation_id}/close",
            "/api/v1/conversations/{conversation_id}/attachments",
            "/api/v1/conversations/{conversation_id}/assign",
            "/api/v1/conversations/{conversation_id}/llm-calls",
            "/api/v1/conversations/{conversation_id}/labels",
            "/api/v1/conversations/{conversation_id}/notes",
        )
    },
    ("/api/v1/labels/{label_id}", "label_id"): "label",
    **{
        (
            "/api/v1/conversations/{conversation_id}/labels/{label_id}",
            param,
        ): "labelled_conversation"
        for param in ("conversation_id", "label_id")
    },
    ("/api/v1/messages/{message_id}/media", "message_id"): "message_with_media",
    **{
        ("/api/v1/conversations/{conversation_id}/messages/{message_id}/retry", param): (
            "failed_message"
        )
        for param in ("conversation_id", "message_id")
    },
    ("/api/v1/canned-replies/{canned_id}", "canned_id"): "canned_reply",
    **{
        (path, "agent_id"): "agent"
        for path in (
            "/api/v1/agents/{agent_id}",
            "/api/v1/agents/{agent_id}/knowledge",
            "/api/v1/agents/{agent_id}/test",
            "/api/v1/agents/{agent_id}/tools",
        )
    },
    **{
        ("/api/v1/agents/{agent_id}/tools/{tool_id}", param): "agent_with_tool"
        for param in ("agent_id", "tool_id")
    },
    **{
        (path, param): "agent_with_knowledge"
        for path in (
            "/api/v1/agents/{agent_id}/knowledge/{source_id}",
            "/api/v1/agents/{agent_id}/knowledge/{source_id}/reindex",
        )
        for param in ("agent_id", "source_id")
    },
}

# (method, path template) -> a valid JSON body
BODIES: dict[tuple[str, str], Any] = {
    ("PATCH", "/api/v1/members/{user_id}"): {"role": "admin"},
    ("PATCH", "/api/v1/instances/{instance_id}"): {"name": "Renamed"},
    ("POST", "/api/v1/sandbox/{instance_id}/messages"): {"from": "+5511987654321", "text": "oi"},
    ("POST", "/api/v1/sandbox/{instance_id}/read"): {"customer": "+5511987654321"},
    ("POST", "/api/v1/sandbox/{instance_id}/scan"): {"code": "not-the-code"},
    ("POST", "/api/v1/conversations/{conversation_id}/messages"): {"text": "hello"},
    ("POST", "/api/v1/conversations/{conversation_id}/assign"): {"assignee_user_id": None},
    ("POST", "/api/v1/conversations/{conversation_id}/notes"): {"text": "A note"},
    ("PATCH", "/api/v1/canned-replies/{canned_id}"): {"text": "Renamed"},
    ("PATCH", "/api/v1/contacts/{contact_id}"): {"name": "Renamed"},
    # A's control call names a label A does not have: 422, which is not the 404 B must get.
    ("POST", "/api/v1/conversations/{conversation_id}/labels"): {"name": "No such label"},
    ("PATCH", "/api/v1/labels/{label_id}"): {"colour": "red"},
    ("PATCH", "/api/v1/agents/{agent_id}"): {"name": "Renamed"},
    ("POST", "/api/v1/agents/{agent_id}/knowledge"): {"kind": "text", "title": "T", "text": "x"},
    ("POST", "/api/v1/agents/{agent_id}/test"): {"text": "hello"},
    ("POST", "/api/v1/agents/{agent_id}/tools"): {
        "name": "lookup",
        "description": "Looks things up.",
        "url": "https://example.com/lookup",
    },
    ("PATCH", "/api/v1/agents/{agent_id}/tools/{tool_id}"): {"description": "Renamed"},
}

# (method, path template) -> why the route is not scoped by organisation
UNSCOPED: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/invitations/{token}/accept"): (
        "the invitation token is the credential; it is a secret, not an id"
    ),
}


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str

    @property
    def params(self) -> list[str]:
        return [name for _, name, _, _ in Formatter().parse(self.path) if name]


# Lists (method, path) of every route: plain Starlette routes (such as the SSE stream), the
# routes of included routers (FastAPI >= 0.16x keeps included routers nested), and, in case that
# private structure changes, everything in the OpenAPI document.
_LIST_ROUTES = """
import asyncio
import json
import secrets
from atende.app import create_app

app = create_app()
found = set()

def walk(routes):
    for route in routes:
        if hasattr(route, "effective_route_contexts"):
            for ctx in route.effective_route_contexts():
                for method in getattr(ctx.original_route, "methods", None) or ():
                    found.add((method, ctx.path))
        elif getattr(route, "path", None):
            for method in getattr(route, "methods", None) or ():
                found.add((method, route.path))

walk(app.routes)
for path, operations in app.openapi()["paths"].items():
    for method in operations:
        found.add((method.upper(), path))
print(json.dumps(sorted(found)))
"""


@cache
def _routes_for(env_items: tuple[tuple[str, str], ...]) -> tuple[ApiRoute, ...]:
    done = subprocess.run(
        [sys.executable, "-c", _LIST_ROUTES],
        env=dict(env_items),
        check=True,
        capture_output=True,
        text=True,
    )
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    return tuple(
        ApiRoute(method, path)
        for method, path in rows
        if path.startswith(API_PREFIX + "/") and method not in ("HEAD", "OPTIONS")
    )


def api_routes(server: Server) -> list[ApiRoute]:
    """Every route of the app under /api/v1 (OpenAPI or not, e.g. the SSE stream)."""
    return list(_routes_for(tuple(sorted(server.env.items()))))


def check_registrations(routes: list[ApiRoute]) -> None:
    """Fails loudly when a route has a path parameter that nobody registered."""
    missing = [
        f"{r.method} {r.path}: {{{p}}}"
        for r in routes
        if (r.method, r.path) not in UNSCOPED
        for p in r.params
        if (r.path, p) not in PARAMS or PARAMS[(r.path, p)] not in CREATORS
    ]
    assert not missing, (
        "These routes have path parameters the cross-organisation walk cannot fill; register "
        "them in tests/support/crossorg.py (see its docstring):\n  " + "\n  ".join(missing)
    )


@dataclass
class Resources:
    """Resources of organisation A, made on demand, one fresh resource per route and kind (a
    DELETE by A at the end must not break the check of the next route)."""

    owner: Tenant
    base_url: str
    made: dict[tuple[str, str, str], str | dict[str, str]] = field(default_factory=dict)

    async def id_for(self, route: ApiRoute, param: str) -> str:
        kind = PARAMS[(route.path, param)]
        key = (route.method, route.path, kind)
        if key not in self.made:
            self.made[key] = await CREATORS[kind](self.owner, self.base_url)
        made = self.made[key]
        return made[param] if isinstance(made, dict) else made

    async def url(self, route: ApiRoute) -> str:
        values = {p: await self.id_for(route, p) for p in route.params}
        return route.path.format(**values)


def _order(route: ApiRoute) -> int:
    return ["GET", "POST", "PUT", "PATCH", "DELETE"].index(route.method)


async def walk_as_other_org(server: Server, owner_a: Tenant, owner_b: Tenant) -> list[str]:
    """Calls every id route with A's ids as B (must be 404), then as A (must not be 404).

    Returns the routes walked (so the caller can assert the walk was not empty)."""
    routes = api_routes(server)
    check_registrations(routes)
    DATABASES[server.base_url] = server.database_url
    resources = Resources(owner_a, server.base_url)
    walked: list[tuple[ApiRoute, str]] = []
    failures: list[str] = []
    for route in sorted(routes, key=_order):
        if not route.params or (route.method, route.path) in UNSCOPED:
            continue
        url = await resources.url(route)
        body = BODIES.get((route.method, route.path))
        response = await owner_b.client.request(route.method, url, json=body)
        if response.status_code != 404:
            failures.append(f"{route.method} {url} as B: {response.status_code} {response.text}")
        elif not response.headers.get("content-type", "").startswith("application/problem+json"):
            failures.append(f"{route.method} {url} as B: 404 is not problem+json")
        walked.append((route, url))
    for route, url in walked:
        body = BODIES.get((route.method, route.path))
        response = await owner_a.client.request(route.method, url, json=body)
        if response.status_code == 404 or response.status_code >= 500:
            failures.append(
                f"{route.method} {url} as A (control): {response.status_code} {response.text}"
            )
    assert not failures, "Cross-organisation walk failed:\n  " + "\n  ".join(failures)
    return [f"{route.method} {route.path}" for route, _ in walked]


async def get_json(client: httpx.AsyncClient, path: str) -> Any:
    response = await client.get(path)
    assert response.status_code == 200, (path, response.text)
    return response.json()
