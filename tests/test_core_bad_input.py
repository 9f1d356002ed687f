"""Bad input gets a precise 4xx problem, never a 500 (spec §9), including a fuzz test."""

import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.direct_db import problem_of
from tests.support.server import Server
from tests.support.tenants import PASSWORD, Tenant, unique_email

MAX_BODY = 1_048_576  # the default ATENDE_MAX_BODY_BYTES of the shared server
PROBLEMS = "https://atende.dev/problems/"


async def test_malformed_json_is_400(tenant: Tenant) -> None:
    for body in (b"{", b'{"name": }', b"nul", b"\xff\xfe\x00garbage", b'{"name": "x"} trailing'):
        response = await tenant.client.post(
            "/api/v1/api-keys", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, (body, response.text)
        assert problem_of(response)["type"] == PROBLEMS + "malformed-body"
    assert (await tenant.client.get("/api/v1/api-keys")).json() == []


async def test_deeply_nested_json_is_400(tenant: Tenant) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    response = await tenant.client.post(
        "/api/v1/api-keys", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422), response.text
    problem_of(response)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/api-keys", {}),
        ("/api/v1/api-keys", {"name": 5}),
        ("/api/v1/api-keys", {"name": ""}),
        ("/api/v1/api-keys", {"name": "x" * 121}),
        ("/api/v1/api-keys", {"name": "ok", "extra": 1}),
        ("/api/v1/api-keys", []),
        ("/api/v1/api-keys", "just a string"),
        ("/api/v1/invitations", {"email": ["a@b.c"]}),
        ("/api/v1/invitations", {"email": "a@b.c", "role": "king"}),
        ("/api/v1/invitations", {"email": "not an e-mail"}),
        ("/api/v1/auth/signup", {"email": "a@b.c"}),
        ("/api/v1/auth/signup", {"email": "a@b.c", "password": "short", "organisation": "x"}),
        ("/api/v1/auth/login", {"email": None, "password": "x"}),
        ("/api/v1/auth/login", {"email": "a@b.c", "password": "x", "org_id": "one"}),
    ],
)
async def test_wrong_types_and_missing_fields_are_422(
    server: Server, tenant: Tenant, path: str, body: object
) -> None:
    client = (
        tenant.client
        if not path.startswith("/api/v1/auth")
        else httpx.AsyncClient(base_url=server.base_url)
    )
    response = await client.post(path, json=body)
    assert response.status_code == 422, response.text
    problem = problem_of(response)
    assert problem["type"] == PROBLEMS + "invalid-input"
    if "errors" not in problem:  # a service's own check names the field instead
        assert problem["field"]
    else:
        assert isinstance(problem["errors"], list)
        assert problem["errors"]
        assert all({"loc", "msg", "type"} <= set(e) for e in problem["errors"])
    assert (await tenant.client.get("/api/v1/api-keys")).json() == []
    if client is not tenant.client:
        await client.aclose()


@pytest.mark.parametrize(
    "text",
    ["nul\x00inside", "lone \ud800 surrogate", "\udfff"],
    ids=["nul", "surrogate", "low-surrogate"],
)
async def test_unstorable_text_is_422(server: Server, tenant: Tenant, text: str) -> None:
    """NUL cannot be stored by PostgreSQL, lone surrogates by no UTF-8 database."""
    # json.dumps escapes both, so they reach the server as valid JSON.
    cases = [
        ("/api/v1/api-keys", {"name": text}, tenant.client),
        ("/api/v1/invitations", {"email": f"{text}@example.com"}, tenant.client),
    ]
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        cases += [
            ("/api/v1/auth/login", {"email": f"{text}@example.com", "password": "x"}, anonymous),
            ("/api/v1/auth/login", {"email": "a@example.com", "password": text}, anonymous),
            (
                "/api/v1/auth/signup",
                {"email": unique_email(), "password": PASSWORD + text, "organisation": "O"},
                anonymous,
            ),
            (
                "/api/v1/auth/signup",
                {"email": unique_email(), "password": PASSWORD, "organisation": text},
                anonymous,
            ),
        ]
        for path, body, client in cases:
            response = await client.post(
                path,
                content=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"},
            )
            assert response.status_code == 422, (path, body, response.text)
            problem_of(response)
    assert (await tenant.client.get("/api/v1/api-keys")).json() == []
    assert "Traceback" not in server.log_text()


@pytest.mark.parametrize("raw", ["99999999999999999999999", "-99999999999999999999", "1e3", "abc"])
async def test_path_ids_out_of_range_are_4xx(tenant: Tenant, raw: str) -> None:
    for method, path in [
        ("DELETE", f"/api/v1/api-keys/{raw}"),
        ("DELETE", f"/api/v1/invitations/{raw}"),
        ("DELETE", f"/api/v1/members/{raw}"),
        ("PATCH", f"/api/v1/members/{raw}"),
    ]:
        response = await tenant.client.request(
            method, path, json={"role": "admin"} if method == "PATCH" else None
        )
        assert response.status_code in (404, 422), (path, response.text)
        problem_of(response)


async def test_body_over_the_limit_by_content_length_is_413(tenant: Tenant) -> None:
    body = json.dumps({"name": "x" * (MAX_BODY + 10)}).encode()
    response = await tenant.client.post(
        "/api/v1/api-keys", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert problem_of(response)["type"] == PROBLEMS + "payload-too-large"


async def test_chunked_body_over_the_limit_is_413(tenant: Tenant) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(MAX_BODY // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    response = await tenant.client.post(
        "/api/v1/api-keys", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert problem_of(response)["type"] == PROBLEMS + "payload-too-large"
    assert (await tenant.client.get("/api/v1/api-keys")).json() == []


async def test_chunked_body_under_the_limit_passes(tenant: Tenant) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": '
        yield b'"chunked"}'

    response = await tenant.client.post(
        "/api/v1/api-keys", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text


async def test_unknown_api_route_is_404_problem(tenant: Tenant) -> None:
    for path in ("/api/v1/nope", "/api/v2/me", "/api/v1/api-keys/1/extra"):
        response = await tenant.client.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 404
        assert problem_of(response)["type"] == PROBLEMS + "not-found"


async def test_unknown_page_is_an_html_404_for_browsers(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        response = await client.get(
            "/no-such-page", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
        )
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "<" in response.text
        response = await client.get("/no-such-page", headers={"Accept": "application/json"})
        assert response.status_code == 404
        problem_of(response)


async def test_wrong_method_is_405(tenant: Tenant) -> None:
    for method, path in [
        ("PUT", "/api/v1/me"),
        ("DELETE", "/api/v1/members"),
        ("GET", "/api/v1/auth/login"),
    ]:
        response = await tenant.client.request(method, path)
        assert response.status_code == 405, (method, path)
        assert problem_of(response)["type"] == PROBLEMS + "method-not-allowed"
        assert response.headers.get("allow"), "405 must say which methods are allowed"


# --- fuzzing ------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["email", "password", "name", "organisation", "role", "org_id"])
            | st.text(max_size=8),
            children,
            max_size=5,
        )
    ),
    max_leaves=12,
)
FUZZED = ["/api/v1/auth/login", "/api/v1/auth/signup", "/api/v1/invitations", "/api/v1/api-keys"]


@pytest.fixture(scope="module")
def fuzz_client(server: Server) -> Iterator[httpx.Client]:
    """A signed-in owner (synchronous, for hypothesis), echoing the CSRF token."""

    def add_csrf(request: httpx.Request) -> None:
        if token := client.cookies.get("atende_csrf"):
            request.headers.setdefault("X-CSRF-Token", token)

    client = httpx.Client(base_url=server.base_url, timeout=30, event_hooks={"request": [add_csrf]})
    response = client.post(
        "/api/v1/auth/signup",
        json={"email": unique_email("fuzz"), "password": PASSWORD, "organisation": "Fuzz"},
    )
    assert response.status_code == 201
    yield client
    client.close()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=st.sampled_from(FUZZED), value=json_values)
def test_fuzz_json_never_500(fuzz_client: httpx.Client, path: str, value: object) -> None:
    response = fuzz_client.post(path, json=value)
    assert response.status_code < 500, (path, value, response.text)
    if response.status_code >= 400:
        problem_of(response)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(FUZZED),
    body=st.binary(max_size=300),
    content_type=st.sampled_from(
        ["application/json", "application/x-www-form-urlencoded", "multipart/form-data", ""]
    ),
)
def test_fuzz_bytes_never_500(
    fuzz_client: httpx.Client, path: str, body: bytes, content_type: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = fuzz_client.post(path, content=body, headers=headers)
    assert response.status_code < 500, (path, body, response.text)
    problem_of(response) if response.status_code >= 400 else None


def test_no_traceback_in_the_server_log(server: Server) -> None:
    """Runs after the tests above (file order): nothing they sent crashed a handler."""
    assert "Traceback" not in server.log_text()
