"""REST API of contacts, and assigning conversations to people."""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from atende.core.deps import CurrentPrincipal, DbSession
from atende.core.schemas import MAX_ID, PathId, Strict
from atende.inbox import contacts, conversations
from atende.inbox.contacts import ContactDetail
from atende.inbox.models import Contact
from atende.inbox.routes import conversation_out
from atende.inbox.schemas import ContactOut, ConversationOut

router = APIRouter(prefix="/api/v1", tags=["inbox"])


class ContactDetailOut(ContactOut):
    conversation_id: int | None


class ContactPage(BaseModel):
    items: list[ContactOut]
    next_cursor: int | None = Field(description="Pass as `before` for the next page.")


class ContactPatch(Strict):
    name: str | None = Field(default=None, max_length=200)
    opted_out: bool | None = None


class AssignIn(Strict):
    assignee_user_id: int | None = Field(ge=1, le=MAX_ID, description="null: nobody.")


def contact_out(contact: Contact) -> ContactOut:
    return ContactOut(
        id=contact.id,
        name=contact.name,
        phone=contact.phone,
        wa_id=contact.wa_id,
        is_group=contact.is_group,
        opted_out=contact.opted_out,
    )


def detail_out(detail: ContactDetail) -> ContactDetailOut:
    return ContactDetailOut(
        **contact_out(detail.contact).model_dump(), conversation_id=detail.conversation_id
    )


@router.get("/contacts", response_model=ContactPage)
async def list_contacts(
    principal: CurrentPrincipal,
    session: DbSession,
    q: Annotated[str | None, Query(max_length=200)] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> ContactPage:
    rows, next_cursor = await contacts.list_contacts(
        session, org_id=principal.org_id, query=q, before=before, limit=limit
    )
    return ContactPage(items=[contact_out(row) for row in rows], next_cursor=next_cursor)


@router.get("/contacts/{contact_id}", response_model=ContactDetailOut)
async def get_contact(
    contact_id: PathId, principal: CurrentPrincipal, session: DbSession
) -> ContactDetailOut:
    return detail_out(
        await contacts.get_contact(session, org_id=principal.org_id, contact_id=contact_id)
    )


@router.patch("/contacts/{contact_id}", response_model=ContactDetailOut)
async def update_contact(
    contact_id: PathId, body: ContactPatch, principal: CurrentPrincipal, session: DbSession
) -> ContactDetailOut:
    detail = await contacts.update_contact(
        session,
        org_id=principal.org_id,
        contact_id=contact_id,
        name=body.name,
        opted_out=body.opted_out,
    )
    return detail_out(detail)


@router.post("/conversations/{conversation_id}/assign", response_model=ConversationOut)
async def assign(
    conversation_id: PathId, body: AssignIn, principal: CurrentPrincipal, session: DbSession
) -> ConversationOut:
    """Gives the conversation to a member of the team (`null`: to nobody)."""
    await contacts.assign(
        session,
        org_id=principal.org_id,
        conversation_id=conversation_id,
        user_id=body.assignee_user_id,
    )
    conversation, contact = await conversations.get_conversation(
        session, org_id=principal.org_id, conversation_id=conversation_id
    )
    return conversation_out(conversation, contact)
