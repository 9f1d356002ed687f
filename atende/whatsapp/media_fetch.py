"""The `whatsapp.fetch_media` job: downloads media that did not arrive inline.

Queued with `atende.inbox.media.enqueue_media_fetch` in the transaction that stored the
message. Cloud API: the media id is resolved to a short-lived URL, downloaded with the Bearer
token. Evolution: `getBase64FromMediaMessage` decrypts it from WhatsApp's CDN. Downloads are
size-limited (`media_max_bytes`), stored content-addressed, and recorded on the message, which
is announced as `message.updated`. Retryable provider errors are retried with the runner's
backoff; a permanent failure (or the last attempt) records the reason on the media record.
"""

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from atende.core.db import Database
from atende.core.errors import NotFound
from atende.core.files import store_bytes
from atende.core.jobs import Job, RetryLater
from atende.core.security import SecretBox
from atende.core.settings import Settings
from atende.inbox import media as inbox_media
from atende.whatsapp import service
from atende.whatsapp.providers.base import InstanceRef, ProviderError
from atende.whatsapp.providers.cloud import CloudProvider
from atende.whatsapp.providers.download import DownloadedMedia
from atende.whatsapp.providers.evolution import EvolutionProvider
from atende.whatsapp.providers.registry import Providers

log = logging.getLogger("atende.whatsapp.media_fetch")

GENERIC_MIME = "application/octet-stream"


@dataclass(frozen=True)
class MediaFetcher:
    database: Database
    providers: Providers
    box: SecretBox
    base_url: str
    media_root: Path
    max_bytes: int

    @classmethod
    def from_settings(
        cls, settings: Settings, database: Database, providers: Providers, box: SecretBox
    ) -> "MediaFetcher":
        return cls(
            database=database,
            providers=providers,
            box=box,
            base_url=settings.base_url,
            media_root=Path(settings.data_dir) / "media",
            max_bytes=settings.media_max_bytes,
        )

    async def __call__(self, job: Job) -> None:
        message_id = int(job.payload["message_id"])
        org_id = job.org_id
        if org_id is None:
            return
        max_attempts = int(job.payload.get("max_attempts", inbox_media.FETCH_ATTEMPTS))
        last_attempt = job.attempt >= max_attempts
        async with self.database.unit_of_work(write=False) as session:
            pending = await inbox_media.media_to_fetch(
                session, org_id=org_id, message_id=message_id
            )
            if pending is None:
                return  # deleted, or settled by an earlier run of this job
            try:
                instance = await service.get_instance(
                    session, org_id=org_id, instance_id=pending.instance_id
                )
            except NotFound:
                return
            provider = instance.provider
            ref = service.instance_ref(instance, self.box, self.base_url)
        # No transaction is open during the download.
        try:
            downloaded = await self._download(provider, ref, pending)
            path = await asyncio.to_thread(store_bytes, self.media_root, downloaded.data)
        except (ProviderError, OSError) as error:
            reason = error.reason if isinstance(error, ProviderError) else f"storage: {error}"
            retryable = not isinstance(error, ProviderError) or error.retryable
            log.warning(
                "media fetch failed",
                extra={"message_id": message_id, "provider": provider, "why": reason},
            )
            if retryable and not last_attempt:
                raise RetryLater(None, reason) from error
            async with self.database.unit_of_work() as session:
                await inbox_media.record_media_failed(
                    session, org_id=org_id, message_id=message_id, error=reason
                )
            return
        stored_mime = pending.media.get("mime_type")
        better_mime = (not stored_mime or stored_mime == GENERIC_MIME) and downloaded.mime_type
        async with self.database.unit_of_work() as session:
            await inbox_media.record_media_stored(
                session,
                org_id=org_id,
                message_id=message_id,
                path=path,
                size=len(downloaded.data),
                sha256=Path(path).name,
                mime_type=downloaded.mime_type if better_mime else None,
                filename=None if pending.media.get("filename") else downloaded.filename,
            )

    async def _download(
        self, provider: str, ref: InstanceRef, pending: inbox_media.MediaToFetch
    ) -> DownloadedMedia:
        adapter = self.providers.get(provider)
        if isinstance(adapter, CloudProvider):
            media_id = pending.media.get("provider_media_id")
            if not isinstance(media_id, str) or not media_id:
                raise ProviderError("the message has no Cloud API media id", retryable=False)
            return await adapter.download_media(ref, media_id=media_id, max_bytes=self.max_bytes)
        if isinstance(adapter, EvolutionProvider):
            if not pending.provider_message_id:
                raise ProviderError("the message has no provider id", retryable=False)
            return await adapter.download_media(
                ref, message_id=pending.provider_message_id, max_bytes=self.max_bytes
            )
        raise ProviderError(f"{provider} media cannot be downloaded", retryable=False)
