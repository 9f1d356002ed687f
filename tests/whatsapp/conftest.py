"""Fixtures for the provider adapters: payload fixtures, instances, fake provider servers."""

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from atende.whatsapp.providers.base import InstanceRef, WebhookRequest
from tests.support.fake_evolution import FakeEvolution
from tests.support.fake_graph import FakeGraph

# Copies of ../shared/fixtures (the providers' documented payload shapes), kept in the repository
# so that a clone anywhere runs the same tests.
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EVOLUTION_NAME = "agent-01"
CLOUD_PHONE_ID = "106540352242922"
WEBHOOK_SECRET = "per-instance-secret-123"
APP_SECRET = "cloud-app-secret"
VERIFY_TOKEN = "verify-me"


def fixture_dir(provider: str) -> Path:
    path = FIXTURES / provider
    if not path.is_dir() or not any(path.glob("*.json")):
        pytest.fail(f"provider fixtures missing: expected JSON files in {path}")
    return path


def fixture_bytes(provider: str, name: str) -> bytes:
    return (fixture_dir(provider) / name).read_bytes()


def fixture_json(provider: str, name: str) -> Any:
    return json.loads(fixture_bytes(provider, name))


def evolution_instance(
    base_url: str = "http://evolution.invalid", api_key: str = "k"
) -> InstanceRef:
    return InstanceRef(
        id=1,
        org_id=1,
        name="Loja X",
        external_name=EVOLUTION_NAME,
        config={"base_url": base_url, "api_key": api_key},
        webhook_url="https://atende.example.com/webhooks/evolution/1",
        webhook_secret=WEBHOOK_SECRET,
    )


def cloud_instance(token: str = "EAAG-test-token") -> InstanceRef:
    return InstanceRef(
        id=2,
        org_id=1,
        name="Loja X Cloud",
        external_name=CLOUD_PHONE_ID,
        config={"access_token": token, "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN},
        webhook_url="https://atende.example.com/webhooks/cloud/2",
        webhook_secret="unused",
    )


def post(body: bytes, headers: dict[str, str] | None = None) -> WebhookRequest:
    return WebhookRequest(
        method="POST", path="/webhooks/x/1", query={}, headers=headers or {}, body=body
    )


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
async def fake_evolution() -> AsyncIterator[FakeEvolution]:
    async with FakeEvolution() as server:
        yield server


@pytest.fixture
async def fake_graph() -> AsyncIterator[FakeGraph]:
    async with FakeGraph() as server:
        yield server
