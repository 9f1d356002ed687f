"""No organisation sees or touches another's data, on every /api/v1 route."""

import pytest

from tests.support.crossorg import (
    ApiRoute,
    api_routes,
    check_registrations,
    get_json,
    walk_as_other_org,
)
from tests.support.server import Server
from tests.support.tenants import Tenant, add_member, unique_email

# Listing routes that are not plain JSON reads, with the test that covers their isolation.
NOT_LISTINGS = {"/api/v1/events": "a live stream; isolation is tested in test_realtime_sse.py"}


async def test_every_id_route_is_404_for_another_organisation(
    server: Server, tenant: Tenant, other_tenant: Tenant
) -> None:
    walked = await walk_as_other_org(server, tenant, other_tenant)
    assert "DELETE /api/v1/api-keys/{key_id}" in walked
    assert "PATCH /api/v1/members/{user_id}" in walked
    assert len(walked) >= 4
    # The other organisation's attempts changed nothing it could see.
    assert [m["user_id"] for m in await get_json(other_tenant.client, "/api/v1/members")] == [
        other_tenant.user_id
    ]


async def test_listings_show_only_the_callers_organisation(
    server: Server, tenant: Tenant, other_tenant: Tenant
) -> None:
    _client, member_id = await add_member(tenant, server.base_url, "admin")
    await _client.aclose()
    invited = unique_email("invited")
    assert (
        await tenant.client.post("/api/v1/invitations", json={"email": invited})
    ).status_code == 201
    key = (await tenant.client.post("/api/v1/api-keys", json={"name": "secret-name-a"})).json()
    secrets_of_a = [tenant.email, invited, key["prefix"], "secret-name-a"]

    listings = [
        r
        for r in api_routes(server)
        if r.method == "GET" and not r.params and r.path not in NOT_LISTINGS
    ]
    assert {r.path for r in listings} >= {
        "/api/v1/me",
        "/api/v1/members",
        "/api/v1/invitations",
        "/api/v1/api-keys",
        "/api/v1/audit-log",
    }
    for route in listings:
        response = await other_tenant.client.get(route.path)
        assert response.status_code == 200, (route, response.text)
        for secret in secrets_of_a:
            assert secret not in response.text, (route.path, secret)
        # A's own view does contain A's data, so the check above can fail.
        own = await tenant.client.get(route.path)
        assert own.status_code == 200
    members_b = await get_json(other_tenant.client, "/api/v1/members")
    assert [m["user_id"] for m in members_b] == [other_tenant.user_id]
    members_a = await get_json(tenant.client, "/api/v1/members")
    assert {m["user_id"] for m in members_a} == {tenant.user_id, member_id}
    assert await get_json(other_tenant.client, "/api/v1/api-keys") == []
    assert await get_json(other_tenant.client, "/api/v1/invitations") == []
    audit_a = await tenant.client.get("/api/v1/audit-log")
    assert invited in audit_a.text


def test_an_unregistered_id_route_fails_loudly() -> None:
    with pytest.raises(AssertionError, match=r"widgets/\{widget_id\}"):
        check_registrations([ApiRoute("GET", "/api/v1/widgets/{widget_id}")])
    check_registrations([ApiRoute("DELETE", "/api/v1/api-keys/{key_id}")])
