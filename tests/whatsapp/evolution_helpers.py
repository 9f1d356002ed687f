"""Shared by the Evolution parser tests: the provider, fixtures, message builders."""

import json
from datetime import UTC, datetime
from typing import Any

import httpx

from atende.whatsapp.providers.base import (
    InboundMessage,
    ProviderEvent,
)
from atende.whatsapp.providers.evolution import EvolutionProvider
from tests.whatsapp.conftest import (
    evolution_instance,
    fixture_bytes,
    fixture_json,
    post,
)

MARIA = "5511999998888@s.whatsapp.net"
SENT_AT = datetime(2026, 3, 9, 3, 35, 45, tzinfo=UTC)  # messageTimestamp 1773027345


# Parsing makes no requests: this client never opens a connection.
_PROVIDER = EvolutionProvider(httpx.AsyncClient())


def provider() -> EvolutionProvider:
    return _PROVIDER


def parse_body(body: bytes) -> list[ProviderEvent]:
    return provider().parse_webhook(evolution_instance(), post(body))


def parse_fixture(name: str) -> list[ProviderEvent]:
    return parse_body(fixture_bytes("evolution", name))


def one_message(name: str) -> InboundMessage:
    events = parse_fixture(name)
    assert len(events) == 1
    assert isinstance(events[0], InboundMessage)
    return events[0]


def upsert(message: dict[str, Any], message_type: str, **data: Any) -> InboundMessage:
    body = fixture_json("evolution", "messages-upsert-text.json")
    body["data"]["message"] = message
    body["data"]["messageType"] = message_type
    body["data"].update(data)
    (msg,) = parse_body(json.dumps(body).encode())
    assert isinstance(msg, InboundMessage)
    return msg
