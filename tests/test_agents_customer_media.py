"""Voice notes and images made readable for the brain (`customer_media.MediaReader`), against
the loopback OpenAI-compatible server: the transcription request (model, file), failures and
timeouts, the image parts a vision model receives, and the polite answers otherwise."""

import base64
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from atende.agents.behaviour import Behaviour
from atende.agents.brains.base import BrainContext
from atende.agents.brains.openai import OpenAIBrain
from atende.agents.customer_media import MAX_IMAGE_BYTES, MediaReader, waits_for_media
from atende.agents.service import AgentProfile
from atende.core.files import store_bytes
from atende.inbox.replies import Attachment, ReplyContext
from tests.support.fake_http import Scripted
from tests.support.fake_openai import TRANSCRIPTIONS, FakeOpenAI

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
OGG = b"OggS\x00\x02voice-note-bytes"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
async def fake() -> Any:
    async with FakeOpenAI() as server:
        yield server


def agent(fake: FakeOpenAI, **changes: Any) -> AgentProfile:
    fields: dict[str, Any] = {
        "id": 1,
        "org_id": 1,
        "name": "Loja",
        "instructions": "",
        "greeting": "",
        "fallback_text": "Vou chamar uma pessoa.",
        "brain": "openai",
        "base_url": fake.base_url + "/v1",
        "model": "gpt-4o-mini",
        "temperature": 0.2,
        "max_tokens": 300,
        "api_key": "sk-audio-1234",
        "behaviour": Behaviour(),
        "transcription_model": "whisper-1",
        "vision": True,
    }
    return AgentProfile(**{**fields, **changes})


def attachment(
    root: Path, message_id: int, kind: str, data: bytes, mime: str, **changes: Any
) -> Attachment:
    fields: dict[str, Any] = {
        "message_id": message_id,
        "type": kind,
        "caption": "",
        "mime_type": mime,
        "path": store_bytes(root, data),
        "pending": False,
        "error": None,
        "transcript": None,
    }
    return Attachment(**{**fields, **changes})


def burst(*messages: tuple[int, str], attachments: tuple[Attachment, ...]) -> ReplyContext:
    return ReplyContext(
        org_id=1,
        conversation_id=1,
        instance_id=1,
        mode="bot",
        bot_paused_until=None,
        contact_phone="+5511999990000",
        contact_wa_id="5511999990000@s.whatsapp.net",
        is_group=False,
        opted_out=False,
        last_inbound_id=messages[-1][0],
        last_inbound_at=NOW,
        unanswered=[text for _, text in messages],
        unanswered_at=[NOW for _ in messages],
        unanswered_ids=[message_id for message_id, _ in messages],
        memory=[],
        agent_replies_last_minute=0,
        agent_has_spoken=True,
        last_agent_text=None,
        quiet_since=NOW,
        attachments=attachments,
    )


def reader(root: Path, timeout: float = 5.0) -> MediaReader:
    return MediaReader(media_root=root, timeout=timeout, max_retries=0)


async def test_a_voice_note_is_transcribed_and_stands_for_the_words(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.hear("Vocês fazem entrega no domingo?")
    context = burst(
        (5, "oi"),
        (6, "[audio]"),
        attachments=(attachment(tmp_path, 6, "audio", OGG, "audio/ogg"),),
    )
    readable = await reader(tmp_path).read(context, agent(fake))
    assert readable.polite is None
    assert readable.message == "oi\nVocês fazem entrega no domingo?"
    (request,) = fake.transcriptions()
    assert request.headers["authorization"] == "Bearer sk-audio-1234"
    assert request.form["model"] == "whisper-1"
    filename, content_type, data = request.files["file"]
    assert (filename, content_type, data) == ("voice-note.ogg", "audio/ogg", OGG)
    (made,) = readable.transcriptions
    assert (made.message_id, made.model, made.text, made.error) == (
        6,
        "whisper-1",
        "Vocês fazem entrega no domingo?",
        None,
    )
    assert readable.inputs == [
        {"kind": "transcript", "message_id": 6, "text": "Vocês fazem entrega no domingo?"}
    ]
    assert fake.completions() == []  # transcribing asks no chat model


async def test_a_stored_transcript_is_reused(fake: FakeOpenAI, tmp_path: Path) -> None:
    voice = attachment(tmp_path, 6, "audio", OGG, "audio/ogg", transcript="já transcrito")
    readable = await reader(tmp_path).read(burst((6, "[audio]"), attachments=(voice,)), agent(fake))
    assert readable.message == "já transcrito"
    assert readable.transcriptions == []
    assert fake.transcriptions() == []


@pytest.mark.parametrize("failure", ["http", "timeout", "empty", "missing"])
async def test_a_failed_transcription_is_recorded_and_the_polite_answer_given(
    fake: FakeOpenAI, tmp_path: Path, failure: str
) -> None:
    voice = attachment(tmp_path, 6, "audio", OGG, "audio/ogg")
    if failure == "http":
        fake.script("POST", TRANSCRIPTIONS, Scripted(500, {"error": {"message": "boom"}}))
    elif failure == "timeout":
        fake.script("POST", TRANSCRIPTIONS, Scripted(200, {"text": "late"}, delay=3))
    elif failure == "empty":
        fake.hear("   ")
    else:
        voice = replace(voice, path=None, error="download failed: 404")
    readable = await reader(tmp_path, timeout=0.5).read(
        burst((6, "[audio]"), attachments=(voice,)), agent(fake)
    )
    assert readable.polite == Behaviour().voice_note_reply
    (made,) = readable.transcriptions
    assert made.text is None
    assert (
        made.error
        == {
            "http": "the model server answered HTTP 500: Error code: 500 - boom",
            "timeout": "the model did not answer in time",
            "empty": "the transcription was empty",
            "missing": "download failed: 404",
        }[failure]
    )
    assert readable.inputs == [{"kind": "transcript", "message_id": 6, "error": made.error}]


async def test_without_a_transcription_model_a_voice_note_gets_the_polite_answer(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    voice = attachment(tmp_path, 6, "audio", OGG, "audio/ogg")
    custom = Behaviour(voice_note_reply="Please write to us: we cannot hear audio here.")
    readable = await reader(tmp_path).read(
        burst((6, "[audio]"), attachments=(voice,)),
        agent(fake, transcription_model="", behaviour=custom),
    )
    assert readable.polite == "Please write to us: we cannot hear audio here."
    assert fake.requests == []
    # Said with words, the voice note is only mentioned: the brain answers the words.
    mixed = await reader(tmp_path).read(
        burst((5, "qual o preço?"), (6, "[audio]"), attachments=(voice,)),
        agent(fake, transcription_model=""),
    )
    assert mixed.polite is None
    assert mixed.message == "qual o preço?\n[audio]"


async def test_an_image_goes_to_a_vision_model_as_an_image_part(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    image = attachment(tmp_path, 7, "image", PNG, "image/png", caption="Tem desse em azul?")
    readable = await reader(tmp_path).read(
        burst((7, "Tem desse em azul?"), attachments=(image,)), agent(fake)
    )
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert [part.data_url for part in readable.images] == [data_url]
    assert readable.message == "Tem desse em azul?"
    assert readable.inputs == [{"kind": "image", "message_id": 7, "mime_type": "image/png"}]
    fake.say("Temos sim!")
    profile = agent(fake)
    reply = await OpenAIBrain(max_retries=0).reply(
        BrainContext(agent=profile, message=readable.message, images=readable.images)
    )
    assert reply.text == "Temos sim!"
    (request,) = fake.completions()
    assert request.json["messages"][-1] == {
        "role": "user",
        "content": [
            {"type": "text", "text": "Tem desse em azul?"},
            {"type": "image_url", "image_url": {"url": data_url}},
        ],
    }


async def test_images_a_model_cannot_read(fake: FakeOpenAI, tmp_path: Path) -> None:
    png = attachment(tmp_path, 7, "image", PNG, "image/png")
    bmp = attachment(tmp_path, 8, "image", b"BM" + b"\x00" * 30, "image/bmp")
    huge = attachment(tmp_path, 9, "image", b"\xff\xd8" + b"\x00" * MAX_IMAGE_BYTES, "image/jpeg")
    blind = agent(fake, vision=False)
    # No vision: the caption alone, else the polite answer.
    captioned = replace(png, caption="é esse modelo")
    readable = await reader(tmp_path).read(
        burst((7, "é esse modelo"), attachments=(captioned,)), blind
    )
    assert (readable.message, readable.images, readable.polite) == ("é esse modelo", [], None)
    readable = await reader(tmp_path).read(burst((7, "[image]"), attachments=(png,)), blind)
    assert readable.polite == Behaviour().image_reply
    # The offline brain never sees images, whatever the flag says.
    offline = agent(fake, brain="offline")
    readable = await reader(tmp_path).read(burst((7, "[image]"), attachments=(png,)), offline)
    assert readable.polite == Behaviour().image_reply
    # Vision, but a type models do not read, or too large: recorded, and the polite answer.
    readable = await reader(tmp_path).read(
        burst((8, "[image]"), (9, "[image]"), attachments=(bmp, huge)), agent(fake)
    )
    assert readable.images == []
    assert readable.polite == Behaviour().image_reply
    errors = {entry["message_id"]: entry["error"] for entry in readable.inputs}
    assert errors[8] == "image/bmp is not an image type models read"
    assert "larger than" in errors[9]


def test_a_burst_waits_for_media_still_downloading(tmp_path: Path) -> None:
    voice = attachment(tmp_path, 6, "audio", OGG, "audio/ogg", path=None, pending=True)
    assert waits_for_media(burst((6, "[audio]"), attachments=(voice,)))
    assert not waits_for_media(burst((6, "[audio]"), attachments=(replace(voice, pending=False),)))
