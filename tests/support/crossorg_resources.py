"""The resources the cross-organisation walk (`crossorg.py`) needs: one creator per kind,
each making one resource in organisation A through the API (or, where the API cannot, such as
a failed send, the database) and returning its id(s)."""

import asyncio
import secrets
from collections.abc import Awaitable, Callable

from sqlalchemy import update

from atende.inbox.models import Message
from tests.support.direct_db import direct_session
from tests.support.tenants import Tenant, add_member, unique_email

# A creator returns the id, or for a kind that fills several parameters of one route (a child
# and its parent), their ids by parameter name.
Creator = Callable[[Tenant, str], Awaitable[str | dict[str, str]]]


async def create_member(owner: Tenant, base_url: str) -> str:
    client, user_id = await add_member(owner, base_url, "operator")
    await client.aclose()
    return str(user_id)


async def create_invitation(owner: Tenant, base_url: str) -> str:
    response = await owner.client.post("/api/v1/invitations", json={"email": unique_email()})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def create_api_key(owner: Tenant, base_url: str) -> str:
    response = await owner.client.post("/api/v1/api-keys", json={"name": "A's key"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def create_instance(owner: Tenant, base_url: str) -> str:
    response = await owner.client.post("/api/v1/instances", json={"name": "A's number"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def create_conversation(owner: Tenant, base_url: str) -> str:
    instance_id = await create_instance(owner, base_url)
    connect = await owner.client.post(f"/api/v1/instances/{instance_id}/connect")
    code = connect.json()["qr_code"]
    await owner.client.post(f"/api/v1/sandbox/{instance_id}/scan", json={"code": code})
    sent = await owner.client.post(
        f"/api/v1/sandbox/{instance_id}/messages", json={"from": "+5511912345678", "text": "oi"}
    )
    assert sent.status_code == 201, sent.text
    page = await owner.client.get("/api/v1/conversations", params={"instance_id": instance_id})
    return str(page.json()["items"][0]["id"])


# base URL -> database URL of the servers being walked (for resources no API can make yet).
DATABASES: dict[str, str] = {}


async def create_message_with_media(owner: Tenant, base_url: str) -> str:
    """A customer's image whose download is pending (A's control call: 409, not 404)."""
    conversation_id = await create_conversation(owner, base_url)
    history = await owner.client.get(f"/api/v1/conversations/{conversation_id}/messages")
    message_id = int(history.json()["items"][0]["id"])
    async with direct_session(DATABASES[base_url]) as session:
        await session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(type="image", media={"mime_type": "image/jpeg", "provider_media_id": "1"})
        )
    return str(message_id)


async def create_failed_message(owner: Tenant, base_url: str) -> dict[str, str]:
    """An operator message of A whose send failed (A's control call requeues it: 202)."""
    conversation_id = await create_conversation(owner, base_url)
    sent = await owner.client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"text": "hello"}
    )
    message_id = int(sent.json()["id"])
    await fail_message(DATABASES[base_url], owner, conversation_id, message_id)
    return {"conversation_id": str(conversation_id), "message_id": str(message_id)}


async def fail_message(
    database_url: str, owner: Tenant, conversation_id: int | str, message_id: int
) -> None:
    """Waits for the sender to finish with the message, then marks its send failed."""
    for _ in range(100):
        history = await owner.client.get(f"/api/v1/conversations/{conversation_id}/messages")
        status = next(m["status"] for m in history.json()["items"] if m["id"] == message_id)
        if status != "queued":
            break
        await asyncio.sleep(0.05)
    async with direct_session(database_url) as session:
        await session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(status="failed", error="The provider refused it.")
        )


async def create_canned_reply(owner: Tenant, base_url: str) -> str:
    response = await owner.client.post(
        "/api/v1/canned-replies", json={"shortcut": f"r{secrets.token_hex(4)}", "text": "Hi!"}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def create_agent(owner: Tenant, base_url: str) -> str:
    response = await owner.client.post("/api/v1/agents", json={"name": "A's agent"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def create_agent_with_knowledge(owner: Tenant, base_url: str) -> dict[str, str]:
    """An agent of A and one of its knowledge sources (a route takes both ids)."""
    agent_id = await create_agent(owner, base_url)
    response = await owner.client.post(
        f"/api/v1/agents/{agent_id}/knowledge",
        json={"kind": "faq", "title": "A's FAQ", "pairs": [{"question": "q", "answer": "a"}]},
    )
    assert response.status_code == 201, response.text
    return {"agent_id": agent_id, "source_id": str(response.json()["id"])}


async def create_agent_with_tool(owner: Tenant, base_url: str) -> dict[str, str]:
    """An agent of A and one of its HTTP tools (a route takes both ids)."""
    agent_id = await create_agent(owner, base_url)
    response = await owner.client.post(
        f"/api/v1/agents/{agent_id}/tools",
        json={"name": "a_tool", "description": "A's tool", "url": "https://example.com/a"},
    )
    assert response.status_code == 201, response.text
    return {"agent_id": agent_id, "tool_id": str(response.json()["id"])}


async def create_contact(owner: Tenant, base_url: str) -> str:
    conversation_id = await create_conversation(owner, base_url)
    conversation = await owner.client.get(f"/api/v1/conversations/{conversation_id}")
    return str(conversation.json()["contact"]["id"])


async def create_label(owner: Tenant, base_url: str) -> str:
    response = await owner.client.post(
        "/api/v1/labels", json={"name": f"A's {secrets.token_hex(4)}"}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def create_labelled_conversation(owner: Tenant, base_url: str) -> dict[str, str]:
    """A conversation of A with one of A's labels on it (a route takes both ids)."""
    conversation_id = await create_conversation(owner, base_url)
    label_id = await create_label(owner, base_url)
    response = await owner.client.post(
        f"/api/v1/conversations/{conversation_id}/labels", json={"label_id": int(label_id)}
    )
    assert response.status_code == 200, response.text
    return {"conversation_id": conversation_id, "label_id": label_id}


CREATORS: dict[str, Creator] = {
    "label": create_label,
    "labelled_conversation": create_labelled_conversation,
    "contact": create_contact,
    "agent": create_agent,
    "agent_with_knowledge": create_agent_with_knowledge,
    "agent_with_tool": create_agent_with_tool,
    "conversation": create_conversation,
    "message_with_media": create_message_with_media,
    "failed_message": create_failed_message,
    "canned_reply": create_canned_reply,
    "instance": create_instance,
    "member": create_member,
    "invitation": create_invitation,
    "api_key": create_api_key,
}
