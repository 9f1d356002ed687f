"""REST API of labels: the organisation's list, and labels on a conversation."""

from fastapi import APIRouter, Response
from pydantic import Field, model_validator

from atende.core.deps import CurrentPrincipal, DbSession, ManagerPrincipal
from atende.core.errors import InvalidInput
from atende.core.schemas import MAX_ID, PathId, Strict
from atende.inbox import labels
from atende.inbox.outputs import conversation_out, label_out
from atende.inbox.schemas import Colour, ConversationOut, LabelOut

router = APIRouter(prefix="/api/v1", tags=["inbox"])


class LabelIn(Strict):
    name: str = Field(min_length=1, max_length=labels.MAX_NAME)
    colour: Colour = "grey"


class LabelPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=labels.MAX_NAME)
    colour: Colour | None = None


class ConversationLabelIn(Strict):
    """One of the organisation's labels, by id or by name (any case)."""

    label_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    name: str | None = Field(default=None, min_length=1, max_length=labels.MAX_NAME)

    @model_validator(mode="after")
    def _one_of(self) -> "ConversationLabelIn":
        if (self.label_id is None) == (self.name is None):
            raise ValueError("give either `label_id` or `name`")
        return self


@router.get("/labels", response_model=list[LabelOut])
async def list_labels(principal: CurrentPrincipal, session: DbSession) -> list[LabelOut]:
    """By name."""
    return [
        label_out(label) for label in await labels.list_labels(session, org_id=principal.org_id)
    ]


@router.post("/labels", response_model=LabelOut, status_code=201)
async def create_label(body: LabelIn, principal: ManagerPrincipal, session: DbSession) -> LabelOut:
    """Owners and admins keep the list; a name is unique whatever its case (409)."""
    label = await labels.create_label(
        session, org_id=principal.org_id, name=body.name, colour=body.colour
    )
    return label_out(label)


@router.patch("/labels/{label_id}", response_model=LabelOut)
async def update_label(
    label_id: PathId, body: LabelPatch, principal: ManagerPrincipal, session: DbSession
) -> LabelOut:
    label = await labels.update_label(
        session, org_id=principal.org_id, label_id=label_id, name=body.name, colour=body.colour
    )
    return label_out(label)


@router.delete("/labels/{label_id}", status_code=204)
async def delete_label(
    label_id: PathId, principal: ManagerPrincipal, session: DbSession
) -> Response:
    """Also takes it off every conversation and contact."""
    await labels.delete_label(session, org_id=principal.org_id, label_id=label_id)
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/labels", response_model=ConversationOut)
async def add_conversation_label(
    conversation_id: PathId,
    body: ConversationLabelIn,
    principal: CurrentPrincipal,
    session: DbSession,
) -> ConversationOut:
    """Puts an existing label on the conversation (already there: no change)."""
    await labels.conversation_for(
        session, org_id=principal.org_id, conversation_id=conversation_id
    )  # an unknown conversation is a 404 before the label is looked at
    if body.label_id is not None:
        label = await labels.label_by_id(session, org_id=principal.org_id, label_id=body.label_id)
        if label is None:
            raise InvalidInput("No such label in this organisation.", field="label_id")
    else:
        found = await labels.label_by_name(session, org_id=principal.org_id, name=body.name or "")
        if found is None:
            raise InvalidInput(
                "No label with this name; create it first (POST /api/v1/labels).", field="name"
            )
        label = found
    await labels.label_conversation(
        session, org_id=principal.org_id, conversation_id=conversation_id, label=label
    )
    return await conversation_out(session, org_id=principal.org_id, conversation_id=conversation_id)


@router.delete("/conversations/{conversation_id}/labels/{label_id}", status_code=204)
async def remove_conversation_label(
    conversation_id: PathId, label_id: PathId, principal: CurrentPrincipal, session: DbSession
) -> Response:
    """Takes the label off (not on it: no change)."""
    await labels.unlabel_conversation(
        session, org_id=principal.org_id, conversation_id=conversation_id, label_id=label_id
    )
    return Response(status_code=204)
