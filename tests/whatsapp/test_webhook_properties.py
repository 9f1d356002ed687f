"""Property-based tests: whatever arrives, parse_webhook returns normalised events or raises
WebhookRejected — never another exception — and valid text messages keep their id and text."""

import copy
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atende.whatsapp.providers.base import (
    ConnectionUpdate,
    DeliveryStatus,
    InboundMedia,
    InboundMessage,
    InstanceStatus,
    MessageType,
    OutboundEcho,
    ProviderEvent,
    QrUpdate,
    StatusUpdate,
    WebhookRejected,
)
from atende.whatsapp.providers.cloud import CloudProvider
from atende.whatsapp.providers.evolution import EvolutionProvider
from tests.whatsapp.conftest import cloud_instance, evolution_instance, fixture_dir, post

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Parsing makes no requests: these clients never open a connection.
_EVOLUTION = EvolutionProvider(httpx.AsyncClient())
_CLOUD = CloudProvider(httpx.AsyncClient())


def parse_evolution(body: bytes) -> list[ProviderEvent]:
    return _EVOLUTION.parse_webhook(evolution_instance(), post(body))


def parse_cloud(body: bytes) -> list[ProviderEvent]:
    return _CLOUD.parse_webhook(cloud_instance(), post(body))


PARSERS: dict[str, Callable[[bytes], list[ProviderEvent]]] = {
    "evolution": parse_evolution,
    "cloud": parse_cloud,
}
FIXTURES = {
    provider: {p.name: json.loads(p.read_bytes()) for p in fixture_dir(provider).glob("*.json")}
    for provider in PARSERS
}

# -- what a valid result looks like --------------------------------------------------------------


def _opt_str(value: object) -> bool:
    return value is None or isinstance(value, str)


def _valid_media(media: InboundMedia) -> None:
    assert isinstance(media.mime_type, str)
    assert _opt_str(media.data_base64)
    assert _opt_str(media.url)
    assert _opt_str(media.provider_media_id)
    assert _opt_str(media.filename)
    assert media.size is None or (isinstance(media.size, int) and media.size >= 0)
    assert isinstance(media.voice_note, bool)


def assert_valid(event: ProviderEvent) -> None:
    if isinstance(event, InboundMessage):
        assert isinstance(event.provider_message_id, str)
        assert event.provider_message_id
        assert isinstance(event.chat_id, str)
        assert isinstance(event.sender_id, str)
        assert event.phone is None or event.phone.isdigit()
        assert _opt_str(event.sender_name)
        assert isinstance(event.type, MessageType)
        assert isinstance(event.timestamp, datetime)
        assert event.timestamp.tzinfo is not None
        assert _opt_str(event.text)
        if event.media is not None:
            _valid_media(event.media)
        for ref in (event.reply_to, event.reaction_to, event.edit_of, event.deletes):
            assert _opt_str(ref)
        assert isinstance(event.from_me, bool)
        assert isinstance(event.is_group, bool)
        assert isinstance(event.provider_type, str)
        assert isinstance(event.extra, Mapping)
    elif isinstance(event, StatusUpdate):
        assert isinstance(event.provider_message_id, str)
        assert event.provider_message_id
        assert isinstance(event.status, DeliveryStatus)
        assert event.timestamp is None or event.timestamp.tzinfo is not None
        assert _opt_str(event.error)
        assert _opt_str(event.chat_id)
    elif isinstance(event, ConnectionUpdate):
        assert isinstance(event.status, InstanceStatus)
        assert _opt_str(event.reason)
        assert event.phone is None or event.phone.isdigit()
    elif isinstance(event, QrUpdate):
        assert isinstance(event.code, str)
        assert event.code
    elif isinstance(event, OutboundEcho):
        assert isinstance(event.provider_message_id, str)
        assert isinstance(event.chat_id, str)
    else:
        raise AssertionError(f"not a normalised event: {event!r}")


def check(provider: str, body: bytes) -> list[ProviderEvent] | None:
    try:
        events = PARSERS[provider](body)
    except WebhookRejected as exc:
        rejected = exc
    else:
        rejected = None
    if rejected is not None:
        assert rejected.status == 400
        assert rejected.reason
        return None
    assert isinstance(events, list)
    for event in events:
        assert_valid(event)
    return events


# -- generators ----------------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and ±Infinity too: json.loads accepts them
    | st.text(max_size=20)
    | st.sampled_from(["", "0", "1773027345", "@g.us", "x@lid", "READ", "open", "text"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
providers = st.sampled_from(sorted(PARSERS))


def _slots(node: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key-or-index) in a JSON tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            out.append((node, key))
            _slots(value, out)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out.append((node, index))
            _slots(value, out)
    return out


@st.composite
def mutated_fixtures(draw: st.DrawFn) -> tuple[str, bytes]:
    """A fixture with a few fields dropped, replaced by random JSON, or retyped."""
    provider = draw(providers)
    name = draw(st.sampled_from(sorted(FIXTURES[provider])))
    body = copy.deepcopy(FIXTURES[provider][name])
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        slots = _slots(body, [])
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        action = draw(st.sampled_from(["drop", "replace", "retype"]))
        if action == "drop" and isinstance(container, dict):
            del container[key]
        elif action == "retype":
            value = container[key]
            container[key] = [value] if not isinstance(value, list) else {"0": value}
        else:
            container[key] = draw(json_values)
    return provider, json.dumps(body).encode()


# -- properties ----------------------------------------------------------------------------------


@SETTINGS
@given(mutated_fixtures())
def test_mutated_fixtures_parse_or_are_rejected(case: tuple[str, bytes]) -> None:
    check(*case)


@SETTINGS
@given(providers, json_values)
def test_random_json_parses_or_is_rejected(provider: str, value: Any) -> None:
    check(provider, json.dumps(value).encode())


@SETTINGS
@given(providers, st.binary(max_size=300))
def test_random_bytes_parse_or_are_rejected(provider: str, body: bytes) -> None:
    check(provider, body)


@SETTINGS
@given(st.data())
def test_truncated_fixtures_are_rejected(data: st.DataObject) -> None:
    provider = data.draw(providers)
    name = data.draw(st.sampled_from(sorted(FIXTURES[provider])))
    raw = json.dumps(FIXTURES[provider][name]).encode()
    cut = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    assert check(provider, raw[:cut]) is None  # a cut JSON object never parses


@SETTINGS
@given(
    provider=providers,
    name=st.sampled_from(["event", "entry", "data", "object"]),
    value=json_values,
)
def test_top_level_fields_of_any_type(provider: str, name: str, value: Any) -> None:
    body = copy.deepcopy(next(iter(FIXTURES[provider].values())))
    body[name] = value
    check(provider, json.dumps(body).encode())


message_ids = st.text(
    alphabet=st.characters(categories=["Lu", "Ll", "Nd"], max_codepoint=0x7F) | st.just("."),
    min_size=1,
    max_size=40,
)


@SETTINGS
@given(message_id=message_ids, text=st.text(max_size=500), legacy=st.booleans())
def test_evolution_text_round_trips(message_id: str, text: str, legacy: bool) -> None:
    body = copy.deepcopy(FIXTURES["evolution"]["messages-upsert-text.json"])
    body["data"]["key"]["id"] = message_id
    if legacy:
        body["data"]["message"] = {"extendedTextMessage": {"text": text}}
        body["data"]["messageType"] = "extendedTextMessage"
    else:
        body["data"]["message"]["conversation"] = text
    events = check("evolution", json.dumps(body).encode())
    assert events is not None
    (msg,) = events
    assert isinstance(msg, InboundMessage)
    assert (msg.provider_message_id, msg.text, msg.type) == (message_id, text, MessageType.text)


@SETTINGS
@given(
    message_id=message_ids,
    text=st.text(min_size=1, max_size=500),
    sender=st.from_regex(r"[1-9][0-9]{7,14}", fullmatch=True),
)
def test_cloud_text_round_trips(message_id: str, text: str, sender: str) -> None:
    body = copy.deepcopy(FIXTURES["cloud"]["inbound-text.json"])
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update({"id": message_id, "from": sender, "text": {"body": text}})
    events = check("cloud", json.dumps(body).encode())
    assert events is not None
    (msg,) = events
    assert isinstance(msg, InboundMessage)
    assert (msg.provider_message_id, msg.text, msg.phone) == (message_id, text, sender)
