"""Media that providers deliver inline, stored content-addressed under the data directory."""

import asyncio
import base64
import binascii
from pathlib import Path

from atende.core.files import store_bytes
from atende.whatsapp.providers.base import InboundMedia


class MediaTooLarge(ValueError):
    pass


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
        record["path"] = await asyncio.to_thread(store_bytes, root, data)
        record["size"] = len(data)
    else:
        # Fetched later from the provider (URL or media id); kept so it can be.
        record["url"] = media.url
        record["provider_media_id"] = media.provider_media_id
        record["size"] = media.size
    return record
