"""Serving the media of messages to members of the message's organisation."""

from pathlib import Path

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from atende.core.deps import CurrentPrincipal, DbSession
from atende.core.errors import NotFound
from atende.core.schemas import PathId
from atende.core.settings import Settings
from atende.inbox.media import stored_media

router = APIRouter(prefix="/api/v1/messages", tags=["inbox"])

CACHE_SECONDS = 3600
# Shown in the page itself; anything else (HTML, SVG, PDF, ...) is downloaded, never rendered
# on our origin.
INLINE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
INLINE_PREFIXES = ("audio/", "video/")


def media_root(request: Request) -> Path:
    settings: Settings = request.app.state.settings
    return Path(settings.data_dir) / "media"


@router.get(
    "/{message_id}/media",
    response_class=FileResponse,
    responses={
        200: {"description": "The file, with its type and name.", "content": {"*/*": {}}},
        404: {"description": "No such message, no media, or the download failed."},
        409: {"description": "The media is still being downloaded (`pending`)."},
    },
)
async def get_media(
    message_id: PathId, request: Request, principal: CurrentPrincipal, session: DbSession
) -> FileResponse:
    """The message's media file, for members of its organisation."""
    media = await stored_media(
        session, org_id=principal.org_id, message_id=message_id, root=media_root(request)
    )
    if not await anyio.Path(media.file).is_file():
        raise NotFound("The media file is missing from storage.")
    inline = media.mime_type in INLINE_TYPES or media.mime_type.startswith(INLINE_PREFIXES)
    return FileResponse(
        media.file,
        media_type=media.mime_type,
        filename=media.filename,
        content_disposition_type="inline" if inline else "attachment",
        headers={
            "Cache-Control": f"private, max-age={CACHE_SECONDS}",
            "X-Content-Type-Options": "nosniff",
        },
    )
