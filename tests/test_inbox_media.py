"""Media of messages: served to members of the organisation only, never outside the media root;
pending and failed downloads say so; Evolution media that did not arrive inline is fetched."""

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from atende.core.jobs import JobRecord
from atende.inbox.media import enqueue_media_fetch, media_fetch_job_step
from atende.inbox.models import Message
from tests.support.direct_db import direct_session, problem_of
from tests.support.fake_evolution import FakeEvolution
from tests.support.server import Server
from tests.support.tenants import Tenant
from tests.test_inbox_api import conversation_with_customer
from tests.test_whatsapp_evolution_e2e import FIXTURES, Number, wait_for

HTML = b"<html><script>alert(document.cookie)</script></html>"


async def a_message(tenant: Tenant) -> int:
    """A customer's text message in a sandbox conversation of `tenant`'s organisation."""
    _instance_id, conversation_id = await conversation_with_customer(tenant)
    history = await tenant.client.get(f"/api/v1/conversations/{conversation_id}/messages")
    return int(history.json()["items"][0]["id"])


async def set_media(server: Server, message_id: int, media: dict[str, Any] | None) -> None:
    """Writes a media record as the intake or the fetch job would (or as an attacker wishes)."""
    async with direct_session(server.database_url) as session:
        await session.execute(update(Message).where(Message.id == message_id).values(media=media))


def put_file(server: Server, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    relative = f"{digest[:2]}/{digest}"
    path = server.data_dir / "media" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return relative


async def test_stored_media_is_served_with_safe_headers(server: Server, tenant: Tenant) -> None:
    message_id = await a_message(tenant)
    relative = put_file(server, HTML)
    await set_media(
        server,
        message_id,
        {"mime_type": "text/html", "filename": "../../evil\r\nname.html", "path": relative},
    )
    served = await tenant.client.get(f"/api/v1/messages/{message_id}/media")
    assert served.status_code == 200, served.text
    assert served.content == HTML
    assert served.headers["content-type"].startswith("text/html")
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["cache-control"].startswith("private")
    # Never rendered on our origin; no directories or header injection through the name.
    disposition = served.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "evilname.html" in disposition
    assert "/" not in disposition
    assert "\n" not in disposition


async def test_other_organisations_get_404(
    server: Server, tenant: Tenant, other_tenant: Tenant
) -> None:
    message_id = await a_message(tenant)
    await set_media(server, message_id, {"mime_type": "image/png", "path": put_file(server, b"x")})
    mine = await tenant.client.get(f"/api/v1/messages/{message_id}/media")
    theirs = await other_tenant.client.get(f"/api/v1/messages/{message_id}/media")
    assert mine.status_code == 200
    assert theirs.status_code == 404
    assert problem_of(theirs)["detail"] == "This message has no media."


@pytest.mark.parametrize("message_id", ["0", "-1", "abc", str(2**63), "99999999999"])
async def test_bad_or_unknown_ids(tenant: Tenant, message_id: str) -> None:
    response = await tenant.client.get(f"/api/v1/messages/{message_id}/media")
    assert response.status_code in (404, 422), response.text
    problem_of(response)


async def test_messages_without_media_pending_or_failed(server: Server, tenant: Tenant) -> None:
    message_id = await a_message(tenant)
    url = f"/api/v1/messages/{message_id}/media"
    none = await tenant.client.get(url)
    assert none.status_code == 404
    await set_media(server, message_id, {"mime_type": "image/jpeg", "provider_media_id": "1"})
    pending = await tenant.client.get(url)
    assert pending.status_code == 409
    assert problem_of(pending)["pending"] is True
    await set_media(server, message_id, {"mime_type": "image/jpeg", "error": "Media expired"})
    failed = await tenant.client.get(url)
    assert failed.status_code == 404
    assert "Media expired" in str(problem_of(failed)["detail"])
    gone = {"mime_type": "image/jpeg", "path": "ff/" + "f" * 64}  # recorded, not on disk
    await set_media(server, message_id, gone)
    assert (await tenant.client.get(url)).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "../atende.db",
        "../../../../../../etc/passwd",
        "/etc/passwd",
        "ab/../../atende.db",
        ".",
        "ab/\x00x",
        "link-out",
    ],
)
async def test_paths_outside_the_media_root_are_never_served(
    server: Server, tenant: Tenant, path: str
) -> None:
    root = server.data_dir / "media"
    root.mkdir(parents=True, exist_ok=True)
    link = root / "link-out"
    if not link.is_symlink():
        link.symlink_to(Path("/etc/passwd"))
    message_id = await a_message(tenant)
    await set_media(server, message_id, {"mime_type": "text/plain", "path": path})
    response = await tenant.client.get(f"/api/v1/messages/{message_id}/media")
    assert response.status_code == 404, response.text
    assert b"root:" not in response.content
    problem_of(response)


async def test_inline_evolution_media_is_served(server: Server, tenant: Tenant) -> None:
    async with FakeEvolution() as evolution:
        number = Number(server, tenant, evolution)
        await number.pair()
        reply = await number.fixture("messages-upsert-image.json")
    assert reply.json()["stored"] == 1, reply.text
    page = (await tenant.client.get("/api/v1/conversations")).json()
    history = await tenant.client.get(f"/api/v1/conversations/{page['items'][0]['id']}/messages")
    (image,) = history.json()["items"]
    served = await tenant.client.get(f"/api/v1/messages/{image['id']}/media")
    assert served.status_code == 200, served.text
    assert served.content.startswith(b"\xff\xd8")  # the JPEG that arrived as base64
    assert served.headers["content-type"] == "image/jpeg"


async def test_evolution_media_not_inline_is_fetched_by_the_job(
    server: Server, tenant: Tenant
) -> None:
    payload = json.loads((FIXTURES / "messages-upsert-image.json").read_bytes())
    del payload["data"]["message"]["base64"]
    message_key = payload["data"]["key"]["id"]
    data = b"\xff\xd8\xff decrypted by Evolution \xff\xd9"
    async with FakeEvolution() as evolution:
        evolution.media[message_key] = ("image/jpeg", data)
        number = Number(server, tenant, evolution)
        await number.pair()
        reply = await number.deliver(json.dumps(payload).encode())
        assert reply.json()["stored"] == 1, reply.text
        async with direct_session(server.database_url) as session:
            message = await session.scalar(
                select(Message).where(
                    Message.org_id == tenant.org_id, Message.provider_message_id == message_key
                )
            )
            assert message is not None
            # The intake wrote the fetch job with the message (same transaction); running the
            # same step again is a no-op.
            statement, params = media_fetch_job_step(
                session.get_bind().dialect.name,
                org_id=message.org_id,
                instance_id=message.instance_id,
                message_id=message.id,
            )
            await session.execute(statement, params)
            jobs = await session.scalars(
                select(JobRecord).where(JobRecord.key == f"media:message:{message.id}")
            )
            (job,) = jobs.all()
            assert (job.kind, job.org_id) == ("whatsapp.fetch_media", tenant.org_id)
            assert job.status in ("pending", "running", "done")
            assert job.payload["message_id"] == message.id
            # enqueue_media_fetch is the same job: a no-op now.
            assert not await enqueue_media_fetch(
                session,
                org_id=message.org_id,
                instance_id=message.instance_id,
                message_id=message.id,
            )
        url = f"/api/v1/messages/{message.id}/media"

        async def fetched() -> bool:
            return bool((await tenant.client.get(url)).status_code == 200)

        await wait_for(fetched, timeout=30)
        call = evolution.last("POST", "/chat/getBase64FromMediaMessage/agent-01")
    assert call.json == {"message": {"key": {"id": message_key}}, "convertToMp4": False}
    assert call.headers["apikey"] == evolution.api_key
    served = await tenant.client.get(url)
    assert served.content == data
    assert served.headers["content-type"] == "image/jpeg"
