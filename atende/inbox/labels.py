"""Labels: the organisation's own tags, put on conversations and on contacts.

Names are unique per organisation whatever their case ("VIP" and "vip" are one label), colours
come from a small palette the pages know how to draw. A conversation's labels change in the
same transaction as its `conversation.updated` event, so open inboxes redraw the row.
"""

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from atende.core.errors import Conflict, InvalidInput, NotFound
from atende.core.events import record_event
from atende.inbox.events import LabelChanged
from atende.inbox.models import ContactLabel, Conversation, ConversationLabel, Label
from atende.inbox.service import announce_conversation

PALETTE = ("grey", "red", "orange", "yellow", "green", "teal", "blue", "purple")
MAX_NAME = 50
MAX_LABELS = 200  # per organisation: a list people pick from, not a database of tags


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidInput("Give the label a name.", field="name")
    if len(cleaned) > MAX_NAME:
        raise InvalidInput(f"A label name has at most {MAX_NAME} characters.", field="name")
    return cleaned


def _check_colour(colour: str) -> str:
    if colour not in PALETTE:
        raise InvalidInput(f"Pick a colour among {', '.join(PALETTE)}.", field="colour")
    return colour


async def list_labels(session: AsyncSession, *, org_id: int) -> list[Label]:
    return list(
        await session.scalars(select(Label).where(Label.org_id == org_id).order_by(Label.name_key))
    )


async def get_label(session: AsyncSession, *, org_id: int, label_id: int) -> Label:
    label = await label_by_id(session, org_id=org_id, label_id=label_id)
    if label is None:
        raise NotFound("Label not found.")
    return label


async def label_by_id(session: AsyncSession, *, org_id: int, label_id: int) -> Label | None:
    return await session.scalar(select(Label).where(Label.id == label_id, Label.org_id == org_id))


async def label_by_name(session: AsyncSession, *, org_id: int, name: str) -> Label | None:
    return await session.scalar(
        select(Label).where(Label.org_id == org_id, Label.name_key == name_key(name))
    )


async def _check_free(session: AsyncSession, org_id: int, name: str, own_id: int | None) -> None:
    same = await label_by_name(session, org_id=org_id, name=name)
    if same is not None and same.id != own_id:
        raise Conflict(f'There is already a label "{same.name}".', field="name")


async def _announce(session: AsyncSession, label: Label, *, deleted: bool = False) -> None:
    await record_event(
        session,
        org_id=label.org_id,
        payload=LabelChanged(
            label_id=label.id, name=label.name, colour=label.colour, deleted=deleted
        ),
    )


async def create_label(session: AsyncSession, *, org_id: int, name: str, colour: str) -> Label:
    name = _clean_name(name)
    await _check_free(session, org_id, name, None)
    if len(await list_labels(session, org_id=org_id)) >= MAX_LABELS:
        raise Conflict(f"An organisation has at most {MAX_LABELS} labels.", field="name")
    label = Label(org_id=org_id, name=name, name_key=name_key(name), colour=_check_colour(colour))
    session.add(label)
    await session.flush()
    await _announce(session, label)
    return label


async def update_label(
    session: AsyncSession,
    *,
    org_id: int,
    label_id: int,
    name: str | None = None,
    colour: str | None = None,
) -> Label:
    """Renames or recolours; every conversation and contact keeps it."""
    label = await get_label(session, org_id=org_id, label_id=label_id)
    if name is not None:
        name = _clean_name(name)
        await _check_free(session, org_id, name, label.id)
        label.name, label.name_key = name, name_key(name)
    if colour is not None:
        label.colour = _check_colour(colour)
    await session.flush()
    await _announce(session, label)
    return label


async def delete_label(session: AsyncSession, *, org_id: int, label_id: int) -> None:
    """Deletes the label and takes it off every conversation and contact."""
    label = await get_label(session, org_id=org_id, label_id=label_id)
    await session.execute(delete(ConversationLabel).where(ConversationLabel.label_id == label.id))
    await session.execute(delete(ContactLabel).where(ContactLabel.label_id == label.id))
    await _announce(session, label, deleted=True)
    await session.delete(label)
    await session.flush()


async def conversation_for(
    session: AsyncSession, *, org_id: int, conversation_id: int
) -> Conversation:
    conversation = await session.scalar(
        select(Conversation).where(
            Conversation.id == conversation_id, Conversation.org_id == org_id
        )
    )
    if conversation is None:
        raise NotFound("Conversation not found.")
    return conversation


async def label_conversation(
    session: AsyncSession, *, org_id: int, conversation_id: int, label: Label
) -> bool:
    """Puts the label on the conversation (announced); False if it was there already."""
    conversation = await conversation_for(session, org_id=org_id, conversation_id=conversation_id)
    present = await session.get(ConversationLabel, (conversation.id, label.id))
    if present is not None:
        return False
    session.add(ConversationLabel(conversation_id=conversation.id, label_id=label.id))
    await session.flush()
    await announce_conversation(session, conversation)
    return True


async def unlabel_conversation(
    session: AsyncSession, *, org_id: int, conversation_id: int, label_id: int
) -> bool:
    """Takes the label off (announced); False if it was not on the conversation."""
    conversation = await conversation_for(session, org_id=org_id, conversation_id=conversation_id)
    label = await get_label(session, org_id=org_id, label_id=label_id)
    present = await session.get(ConversationLabel, (conversation.id, label.id))
    if present is None:
        return False
    await session.delete(present)
    await session.flush()
    await announce_conversation(session, conversation)
    return True


async def add_label_by_name(
    session: AsyncSession, *, org_id: int, conversation_id: int, name: str
) -> bool:
    """For the agents' `add_label(name)` tool: puts an existing label (any case) on the
    conversation. False when the organisation has no such label (agents do not invent them)."""
    label = await label_by_name(session, org_id=org_id, name=name)
    if label is None:
        return False
    await label_conversation(session, org_id=org_id, conversation_id=conversation_id, label=label)
    return True


async def labels_by_ids(session: AsyncSession, *, org_id: int, label_ids: list[int]) -> list[Label]:
    """The labels named, all of them or an error naming the first unknown id."""
    wanted = list(dict.fromkeys(label_ids))
    found = {
        label.id: label
        for label in await session.scalars(
            select(Label).where(Label.org_id == org_id, Label.id.in_(wanted))
        )
    }
    for label_id in wanted:
        if label_id not in found:
            raise InvalidInput(f"No label {label_id} in this organisation.", field="labels")
    return [found[label_id] for label_id in wanted]


async def set_contact_labels(
    session: AsyncSession, *, org_id: int, contact_id: int, label_ids: list[int]
) -> None:
    """Replaces the contact's labels (the caller has checked the contact is the org's)."""
    labels = await labels_by_ids(session, org_id=org_id, label_ids=label_ids)
    await session.execute(delete(ContactLabel).where(ContactLabel.contact_id == contact_id))
    session.add_all(ContactLabel(contact_id=contact_id, label_id=label.id) for label in labels)
    await session.flush()


async def labels_of_conversations(
    session: AsyncSession, conversation_ids: Iterable[int]
) -> dict[int, list[Label]]:
    """Each conversation's labels, by name (one query for a page of rows)."""
    return await _labels_by_owner(session, ConversationLabel.conversation_id, conversation_ids)


async def labels_of_contacts(
    session: AsyncSession, contact_ids: Iterable[int]
) -> dict[int, list[Label]]:
    """Each contact's labels, by name (one query for a page of rows)."""
    return await _labels_by_owner(session, ContactLabel.contact_id, contact_ids)


async def _labels_by_owner(
    session: AsyncSession,
    owner: InstrumentedAttribute[int],
    owner_ids: Iterable[int],
) -> dict[int, list[Label]]:
    """`owner` is the link table's column naming what carries the label."""
    ids = list(owner_ids)
    found: dict[int, list[Label]] = defaultdict(list)
    if ids:
        link = owner.class_
        rows = await session.execute(
            select(owner, Label)
            .join(Label, Label.id == link.label_id)
            .where(owner.in_(ids))
            .order_by(Label.name_key)
        )
        for owner_id, label in rows.tuples():
            found[owner_id].append(label)
    return found
