"""REST API of contacts, and assigning conversations to people."""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from atende.core.deps import CurrentPrincipal, DbSession
from atende.core.schemas import MAX_ID, PathId, Strict
from atende.inbox import contacts
from atende.inbox.contacts import ContactDetail
from atende.inbox.outputs import contacts_out, conversation_out
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
    labels: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(
        default=None, max_length=50, description="The contact's label ids (replaces them all)."
    )


class AssignIn(Strict):
    assignee_user_id: int | None = Field(ge=1, le=MAX_ID, description="null: nobody.")


async def detail_out(session: DbSession, detail: ContactDetail) -> ContactDetailOut:
    (out,) = await contacts_out(session, [detail.contact])
    return ContactDetailOut(**out.model_dump(), conversation_id=detail.conversation_id)


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
    return ContactPage(items=await contacts_out(session, rows), next_cursor=next_cursor)


@router.get("/contacts/{contact_id}", response_model=ContactDetailOut)
async def get_contact(
    contact_id: PathId, principal: CurrentPrincipal, session: DbSession
) -> ContactDetailOut:
    return await detail_out(
        session, await contacts.get_contact(session, org_id=principal.org_id, contact_id=contact_id)
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
        label_ids=body.labels,
    )
    return await detail_out(session, detail)


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
    return await conversation_out(session, org_id=principal.org_id, conversation_id=conversation_id)
