"""Media that providers deliver inline, stored content-addressed under the data directory."""

import asyncio
import base64
import binascii
import hashlib
import uuid
from pathlib import Path

from atende.whatsapp.providers.base import InboundMedia


class MediaTooLarge(ValueError):
    pass


def _store(root: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    relative = Path(digest[:2]) / digest
    path = root / relative
    if not path.exists():  # same bytes, same file: a retried delivery writes nothing new
        path.parent.mkdir(parents=True, exist_ok=True)
        # A name of its own: two deliveries of the same bytes may be written at once.
        temporary = path.with_suffix(f".{uuid.uuid4().hex}.part")
        temporary.write_bytes(data)
        temporary.replace(path)
    return str(relative)


async def media_record(media: InboundMedia, *, root: Path, max_bytes: int) -> dict[str, object]:
    """What the message row keeps about its media; inline bytes are written to disk first."""
    record: dict[str, object] = {
        "mime_type": media.mime_type,
        "filename": media.filename,
        "voice_note": media.voice_note,
    }
    if media.data_base64:
        if len(media.data_base64) > max_bytes * 4 // 3 + 4:
            raise MediaTooLarge(f"media larger than {max_bytes} bytes")
        try:
            data = base64.b64decode(media.data_base64, validate=False)
        except (binascii.Error, ValueError):
            record["error"] = "inline media is not valid base64"
            return record
        record["path"] = await asyncio.to_thread(_store, root, data)
        record["size"] = len(data)
    else:
        # Fetched later from the provider (URL or media id); kept so it can be.
        record["url"] = media.url
        record["provider_media_id"] = media.provider_media_id
        record["size"] = media.size
    return record


def store(root: Path, data: bytes) -> str:
    """Writes `data` under `root`, content-addressed; returns the path relative to `root`
    (its file name is the SHA-256 of the bytes). Blocking: run it in a thread."""
    return _store(root, data)
