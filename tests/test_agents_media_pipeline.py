"""Voice notes and images on a sandbox number, end to end: the transcript answered and kept
with the message, an image reaching a vision model, a failed transcription still answered,
and the polite answers when the agent can neither hear nor see."""

import base64
import json
from typing import Any

from tests.support.fake_evolution import FakeEvolution
from tests.support.fake_http import Scripted
from tests.support.fake_openai import TRANSCRIPTIONS, FakeOpenAI
from tests.support.server import Server
from tests.support.tenants import Tenant
from tests.test_agents_pipeline import CUSTOMER, FAST, agent_on_number, settle
from tests.test_whatsapp_evolution_e2e import FIXTURES, NAME, Number, wait_for

OGG = b"OggS\x00\x02sandbox-voice-note"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 48


async def send_media(
    tenant: Tenant, instance_id: int, data: bytes, mime: str, caption: str = ""
) -> None:
    sent = await tenant.client.post(
        f"/api/v1/sandbox/{instance_id}/messages",
        json={
            "from": CUSTOMER,
            "text": caption,
            "media": {"mime_type": mime, "data_base64": base64.b64encode(data).decode()},
        },
    )
    assert sent.status_code == 201, sent.text


async def openai_agent(tenant: Tenant, model: FakeOpenAI, **settings: Any) -> int:
    instance_id, agent_id = await agent_on_number(tenant)
    switched = await tenant.client.patch(
        f"/api/v1/agents/{agent_id}",
        json={
            "brain": "openai",
            "base_url": model.base_url + "/v1",
            "model": "gpt-4o-mini",
            "api_key": "sk-media-test",
            **settings,
        },
    )
    assert switched.status_code == 200, switched.text
    assert {k: switched.json()[k] for k in settings} == settings
    return instance_id


async def conversation_id(tenant: Tenant) -> int:
    return int((await tenant.client.get("/api/v1/conversations")).json()["items"][0]["id"])


async def inbound_audio(tenant: Tenant) -> dict[str, Any]:
    cid = await conversation_id(tenant)
    page = (await tenant.client.get(f"/api/v1/conversations/{cid}/messages")).json()
    (audio,) = [m for m in page["items"] if m["type"] == "audio"]
    return dict(audio)


async def llm_calls(tenant: Tenant) -> list[dict[str, Any]]:
    cid = await conversation_id(tenant)
    calls = await tenant.client.get(f"/api/v1/conversations/{cid}/llm-calls")
    assert calls.status_code == 200, calls.text
    return list(reversed(calls.json()))  # oldest first


async def test_a_voice_note_is_answered_from_its_transcript(tenant: Tenant) -> None:
    async with FakeOpenAI() as model:
        instance_id = await openai_agent(tenant, model, transcription_model="whisper-1")
        model.hear("Vocês fazem entrega?")
        model.say("Entregamos sim, em até 2 horas.")
        await send_media(tenant, instance_id, OGG, "audio/ogg")
        chat = await settle(tenant, instance_id)
        assert chat[-1]["author"] == "agent"
        assert chat[-1]["text"] == "Entregamos sim, em até 2 horas."
        (transcription,) = model.transcriptions()
        assert transcription.form["model"] == "whisper-1"
        assert transcription.files["file"][2] == OGG
        (completion,) = model.completions()
        messages = completion.json["messages"]
        assert messages[-1] == {"role": "user", "content": "Vocês fazem entrega?"}
        # The knowledge was looked up with the transcript's words.
        assert "entregamos em toda a cidade" in messages[0]["content"].lower()
    audio = await inbound_audio(tenant)
    assert audio["transcript"] == "Vocês fazem entrega?"
    transcribed, answered = await llm_calls(tenant)
    assert (transcribed["model"], transcribed["outcome"]) == ("whisper-1", "ok")
    inputs = [{"kind": "transcript", "message_id": audio["id"], "text": "Vocês fazem entrega?"}]
    assert answered["details"]["inputs"] == [{**inputs[0], "mime_type": None, "error": None}]
    cid = await conversation_id(tenant)
    page = await tenant.client.get(f"/inbox/{cid}/messages/{audio['id']}")
    assert page.status_code == 200
    assert "Vocês fazem entrega?" in page.text  # shown under the audio in the inbox


async def test_a_failed_transcription_is_kept_and_the_customer_still_answered(
    tenant: Tenant,
) -> None:
    async with FakeOpenAI() as model:
        instance_id = await openai_agent(tenant, model, transcription_model="whisper-1")
        model.script("POST", TRANSCRIPTIONS, *[Scripted(503, {"error": {"message": "down"}})] * 3)
        await send_media(tenant, instance_id, OGG, "audio/ogg")
        chat = await settle(tenant, instance_id, seconds=6.0)
        assert model.completions() == []
    agent_lines = [m for m in chat if m["author"] == "agent"]
    assert [m["text"] for m in agent_lines] == [
        "Recebi seu áudio, mas ainda não consigo ouvir áudios por aqui. Pode escrever sua "
        "mensagem? Se preferir, chamo uma pessoa da equipe."
    ]
    audio = await inbound_audio(tenant)
    assert audio["transcript"] is None
    assert "HTTP 503" in audio["media"]["transcript_error"]
    (call,) = await llm_calls(tenant)
    assert (call["model"], call["outcome"]) == ("whisper-1", "error")
    assert "HTTP 503" in call["error"]


async def test_an_image_reaches_a_vision_model_as_an_image_part(tenant: Tenant) -> None:
    async with FakeOpenAI() as model:
        instance_id = await openai_agent(tenant, model, vision=True)
        model.say("Temos sim, em azul e em preto.")
        await send_media(tenant, instance_id, PNG, "image/png", caption="Tem desse em azul?")
        chat = await settle(tenant, instance_id)
        assert chat[-1]["text"] == "Temos sim, em azul e em preto."
        (completion,) = model.completions()
        content = completion.json["messages"][-1]["content"]
        data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
        assert content == [
            {"type": "text", "text": "Tem desse em azul?"},
            {"type": "image_url", "image_url": {"url": data_url}},
        ]
    (call,) = await llm_calls(tenant)
    assert [(i["kind"], i["mime_type"]) for i in call["details"]["inputs"]] == [
        ("image", "image/png")
    ]


async def test_without_transcription_or_vision_the_polite_answers_are_sent(
    tenant: Tenant,
) -> None:
    instance_id, agent_id = await agent_on_number(tenant)  # the offline brain
    changed = await tenant.client.patch(
        f"/api/v1/agents/{agent_id}",
        json={"behaviour": {"image_reply": "Não vejo imagens; pode descrever?"}},
    )
    assert changed.status_code == 200, changed.text
    await send_media(tenant, instance_id, OGG, "audio/ogg")
    chat = await settle(tenant, instance_id)
    assert chat[-1]["author"] == "agent"
    assert chat[-1]["text"].startswith("Recebi seu áudio, mas ainda não consigo ouvir")
    await send_media(tenant, instance_id, PNG, "image/png")
    chat = await settle(tenant, instance_id)
    assert chat[-1]["text"] == "Não vejo imagens; pode descrever?"
    # With a caption, the caption is answered (the FAQ knows deliveries).
    await send_media(tenant, instance_id, PNG, "image/png", caption="vocês fazem entrega?")
    chat = await settle(tenant, instance_id)
    assert "entregamos em toda a cidade" in chat[-1]["text"].lower()


async def test_an_image_still_downloading_is_waited_for(server: Server, tenant: Tenant) -> None:
    """Evolution without inline media: the first downloads fail (retried by its job, with
    backoff, for longer than the debounce), so the reply waits for the image rather than
    answering without it."""
    payload = json.loads((FIXTURES / "messages-upsert-image.json").read_bytes())
    del payload["data"]["message"]["base64"]
    key = payload["data"]["key"]["id"]
    jpeg = b"\xff\xd8\xff a customer's photo \xff\xd9"
    async with FakeOpenAI() as model, FakeEvolution() as evolution:
        evolution.media[key] = ("image/jpeg", jpeg)
        evolution.script(
            "POST",
            f"/chat/getBase64FromMediaMessage/{NAME}",
            *[Scripted(500, {"error": "busy"})] * 2,
        )
        number = Number(server, tenant, evolution)
        await number.pair()
        await number.fixture("connection-update-open.json")
        agent = await tenant.client.post(
            "/api/v1/agents",
            json={
                "name": "Ana",
                "brain": "openai",
                "base_url": model.base_url + "/v1",
                "model": "gpt-4o-mini",
                "vision": True,
                "behaviour": FAST,
            },
        )
        assert agent.status_code == 201, agent.text
        assigned = await tenant.client.patch(
            f"/api/v1/instances/{number.id}", json={"agent_id": agent.json()["id"]}
        )
        assert assigned.status_code == 200, assigned.text
        model.say("Temos esse modelo em azul, sim!")
        delivered = await number.deliver(json.dumps(payload).encode())
        assert delivered.json()["stored"] == 1, delivered.text

        async def answered() -> bool:
            return any(r.path == f"/message/sendText/{NAME}" for r in evolution.requests)

        await wait_for(answered, timeout=30)
        fetches = [r for r in evolution.requests if "getBase64FromMediaMessage" in r.path]
        (completion,) = model.completions()
    assert len(fetches) == 3  # the failed downloads, then the one the reply waited for
    data_url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
    assert completion.json["messages"][-1]["content"] == [
        {"type": "text", "text": "Esse modelo tem em azul?"},
        {"type": "image_url", "image_url": {"url": data_url}},
    ]
