"""Media of messages: what is stored, what is still to fetch, and serving it to members.

A message's `media` record is a small JSON object:
`{mime_type, filename, voice_note, size, path?, sha256?, url?, provider_media_id?, error?}`.
`path` is relative to the media root (`<data_dir>/media`, content-addressed: `ab/abcd…`) and is
present once the bytes are on disk; `error` once fetching them failed for good. Anything else is
pending: a `whatsapp.fetch_media` job (queued with `enqueue_media_fetch`) downloads it.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from atende.core.db import utcnow
from atende.core.errors import Conflict, NotFound
from atende.core.events import record_event
from atende.core.files import path_inside
from atende.core.jobs import enqueue, enqueue_step
from atende.inbox.events import MessageUpdated
from atende.inbox.models import Message

FETCH_MEDIA_JOB = "whatsapp.fetch_media"
# Attempts at a download before the media is marked failed (backoff in between).
FETCH_ATTEMPTS = 6
MAX_ERROR = 300
_MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")


def needs_fetch(media: Mapping[str, Any] | None) -> bool:
    """Whether a media record still waits for its bytes (not stored, not failed)."""
    if not media:
        return False
    return not media.get("path") and not media.get("error")


def _job_key(message_id: int) -> str:
    return f"media:message:{message_id}"


def _job_payload(instance_id: int, message_id: int) -> dict[str, Any]:
    return {"message_id": message_id, "instance_id": instance_id, "max_attempts": FETCH_ATTEMPTS}


async def enqueue_media_fetch(
    session: AsyncSession, *, org_id: int, instance_id: int, message_id: int
) -> bool:
    """Queues the download of a message's media in the caller's transaction (once per
    message: a second call is a no-op). False if it was queued already."""
    return await enqueue(
        session,
        kind=FETCH_MEDIA_JOB,
        key=_job_key(message_id),
        payload=_job_payload(instance_id, message_id),
        org_id=org_id,
        max_attempts=FETCH_ATTEMPTS,
    )


def media_fetch_job_step(
    dialect: str, *, org_id: int, instance_id: int, message_id: int
) -> tuple[Executable, dict[str, Any]]:
    """The same job as `enqueue_media_fetch`, as a prebuilt (statement, parameters) step for
    drivers without an ORM session (`atende.inbox.inbound.inbound_steps`). Runners pick it up
    on their next sweep, or sooner when anything else wakes them."""
    return enqueue_step(
        dialect,
        kind=FETCH_MEDIA_JOB,
        key=_job_key(message_id),
        payload=_job_payload(instance_id, message_id),
        org_id=org_id,
        max_attempts=FETCH_ATTEMPTS,
    )


@dataclass(frozen=True, slots=True)
class MediaToFetch:
    message_id: int
    org_id: int
    instance_id: int
    provider_message_id: str | None
    media: dict[str, Any]


async def media_to_fetch(
    session: AsyncSession, *, org_id: int, message_id: int
) -> MediaToFetch | None:
    """The media a fetch job should download; None when there is nothing (left) to do."""
    message = await session.scalar(
        select(Message).where(Message.id == message_id, Message.org_id == org_id)
    )
    if message is None or not needs_fetch(message.media):
        return None
    assert message.media is not None
    return MediaToFetch(
        message_id=message.id,
        org_id=message.org_id,
        instance_id=message.instance_id,
        provider_message_id=message.provider_message_id,
        media=dict(message.media),
    )


async def _update_media(
    session: AsyncSession, *, org_id: int, message_id: int, changes: dict[str, Any]
) -> bool:
    message = await session.scalar(
        select(Message).where(Message.id == message_id, Message.org_id == org_id)
    )
    if message is None or not needs_fetch(message.media):
        return False
    # A new dict: JSON columns only notice reassignment, not in-place changes.
    message.media = {**(message.media or {}), **changes}
    await session.flush()
    await record_event(
        session,
        org_id=message.org_id,
        payload=MessageUpdated(
            message_id=message.id,
            conversation_id=message.conversation_id,
            media_status="failed" if "error" in changes else "ready",
            media_error=changes.get("error"),
        ),
    )
    return True


async def record_media_stored(
    session: AsyncSession,
    *,
    org_id: int,
    message_id: int,
    path: str,
    size: int,
    sha256: str,
    mime_type: str | None = None,
    filename: str | None = None,
) -> bool:
    """The bytes are on disk at `path` (relative to the media root); announces
    `message.updated`. False when the message is gone or its media was settled already."""
    changes: dict[str, Any] = {
        "path": path,
        "size": size,
        "sha256": sha256,
        "fetched_at": utcnow().isoformat(),
    }
    if mime_type:
        changes["mime_type"] = mime_type
    if filename:
        changes["filename"] = filename
    return await _update_media(session, org_id=org_id, message_id=message_id, changes=changes)


async def record_media_failed(
    session: AsyncSession, *, org_id: int, message_id: int, error: str
) -> bool:
    """Fetching failed for good: the reason is kept on the media record and announced."""
    changes = {"error": error[:MAX_ERROR] or "download failed"}
    return await _update_media(session, org_id=org_id, message_id=message_id, changes=changes)


# --- serving ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredMedia:
    file: Path  # absolute, inside the media root
    mime_type: str
    filename: str


def safe_mime(value: object) -> str:
    """A stored MIME type as a header value, or `application/octet-stream` if it is odd."""
    if isinstance(value, str):
        mime = value.split(";", 1)[0].strip().lower()
        if _MIME.match(mime):
            return mime
    return "application/octet-stream"


def _filename(message_id: int, media: Mapping[str, Any], mime: str) -> str:
    name = media.get("filename")
    if isinstance(name, str):
        # No directories, no control characters; the header encoding does the rest.
        name = "".join(c for c in name.replace("\\", "/").rsplit("/", 1)[-1] if c.isprintable())
        name = name.strip().strip(".")[:200]
        if name:
            return name
    subtype = mime.split("/", 1)[1].split("+", 1)[0] if "/" in mime else "bin"
    extension = subtype if subtype.isalnum() and len(subtype) <= 8 else "bin"
    return f"message-{message_id}.{extension}"


async def stored_media(
    session: AsyncSession, *, org_id: int, message_id: int, root: Path
) -> StoredMedia:
    """The file of a message's media, for members of its organisation only.

    NotFound: no such message in the organisation, no media, failed download, or a stored path
    outside the media root. Conflict (`pending`): the bytes are still being fetched."""
    media = await session.scalar(
        select(Message.media).where(Message.id == message_id, Message.org_id == org_id)
    )
    if not isinstance(media, dict) or not media:
        raise NotFound("This message has no media.")
    path = media.get("path")
    if not path:
        if media.get("error"):
            raise NotFound(
                f"The media could not be downloaded: {media['error']}", error=media["error"]
            )
        raise Conflict("The media is not downloaded yet; try again shortly.", pending=True)
    file = path_inside(root, str(path)) if isinstance(path, str) else None
    if file is None:
        raise NotFound("This message has no media.")
    mime = safe_mime(media.get("mime_type"))
    return StoredMedia(file, mime, _filename(message_id, media, mime))
