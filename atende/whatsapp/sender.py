"""The outbound sender: the `whatsapp.send` job, one per queued message.

At most once: before calling the provider the message is marked `sending` in its own committed
transaction. A provider that refuses (an explicit error) leaves the message safe to try again
(`queued`, retried with backoff); a process that dies during the call leaves `sending`, and
the next attempt cannot know whether the message went out, so it marks it `failed` with that
reason instead of risking a second copy on the customer's phone.
"""

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from limits import parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter

from atende.core.db import Database, utcnow
from atende.core.files import path_inside
from atende.core.jobs import Job, RetryLater
from atende.core.security import SecretBox
from atende.inbox import service as inbox
from atende.whatsapp import service
from atende.whatsapp.providers.base import (
    InstanceStatus,
    MessageType,
    OutboundMedia,
    ProviderError,
)
from atende.whatsapp.providers.cloud import cloud_window_open
from atende.whatsapp.providers.registry import Providers

log = logging.getLogger("atende.whatsapp.sender")

NOT_CONNECTED_RETRY_SECONDS = 30.0
FINISHED = frozenset({"sent", "delivered", "read", "failed"})


@dataclass
class Sender:
    database: Database
    providers: Providers
    box: SecretBox
    base_url: str
    rate: str  # per instance, e.g. "60/minute"
    rate_storage: Storage
    media_root: Path

    def __post_init__(self) -> None:
        self._limit = parse(self.rate)
        self._limiter = MovingWindowRateLimiter(self.rate_storage)

    async def __call__(self, job: Job) -> None:
        message_id = int(job.payload["message_id"])
        last_attempt = job.attempt >= int(job.payload["max_attempts"])
        async with self.database.unit_of_work() as session:
            outbound = await inbox.outbound_to_send(session, message_id=message_id)
            if outbound is None or outbound.status in FINISHED:
                return  # deleted, or already done by an earlier run of this job
            if outbound.status == "sending":
                await inbox.mark_outbound(
                    session,
                    message_id=message_id,
                    status="failed",
                    error="Interrupted while sending; not retried so that it cannot arrive "
                    "twice. Check the phone before sending again.",
                )
                return
            instance = await service.get_instance(
                session, org_id=outbound.org_id, instance_id=outbound.instance_id
            )
            if instance.provider == "cloud" and not cloud_window_open(
                outbound.last_inbound_at, utcnow()
            ):
                await inbox.mark_outbound(
                    session,
                    message_id=message_id,
                    status="failed",
                    error="Outside WhatsApp's 24-hour window: only approved templates can be "
                    "sent until the customer writes again.",
                )
                return
            if instance.status != InstanceStatus.connected:
                if last_attempt:
                    await inbox.mark_outbound(
                        session,
                        message_id=message_id,
                        status="failed",
                        error="The number is not connected; connect it and send again.",
                    )
                    return
                raise RetryLater(NOT_CONNECTED_RETRY_SECONDS, "instance not connected")
            if not await self._limiter.hit(self._limit, "send", str(instance.id)):
                stats = await self._limiter.get_window_stats(self._limit, "send", str(instance.id))
                raise RetryLater(max(1.0, stats.reset_time - time.time()), "send rate limit")
            ref = service.instance_ref(instance, self.box, self.base_url)
            await inbox.mark_outbound(session, message_id=message_id, status="sending")
        # Committed `sending`: only now the network call, with no transaction open.
        provider = self.providers.get(ref_provider := instance.provider)
        try:
            if outbound.type == "text":
                result = await provider.send_text(
                    ref,
                    to=outbound.to,
                    text=outbound.text or "",
                    reply_to=outbound.reply_to_provider_id,
                )
            else:
                media = await self._outbound_media(outbound.type, outbound.media, outbound.text)
                result = await provider.send_media(ref, to=outbound.to, media=media)
        except ProviderError as error:
            log.warning(
                "send failed",
                extra={"message_id": message_id, "provider": ref_provider, "why": error.reason},
            )
            async with self.database.unit_of_work() as session:
                if error.retryable and not last_attempt:
                    await inbox.mark_outbound(session, message_id=message_id, status="queued")
                else:
                    await inbox.mark_outbound(
                        session, message_id=message_id, status="failed", error=error.reason
                    )
            if error.retryable and not last_attempt:
                raise RetryLater(None, error.reason) from error
            return
        async with self.database.unit_of_work() as session:
            await inbox.mark_outbound(
                session,
                message_id=message_id,
                status="sent",
                provider_message_id=result.provider_message_id,
            )

    async def _outbound_media(
        self, kind: str, record: dict[str, Any] | None, caption: str | None
    ) -> OutboundMedia:
        """The stored file of an outbound media message (written when it was queued)."""
        relative = record.get("path") if record else None
        file = path_inside(self.media_root, relative) if isinstance(relative, str) else None
        if record is None or file is None or not file.is_file():
            raise ProviderError("The file to send is missing.", retryable=False)
        return OutboundMedia(
            kind=MessageType(kind),
            mime_type=str(record.get("mime_type") or "application/octet-stream"),
            filename=str(record.get("filename") or file.name),
            data=await asyncio.to_thread(file.read_bytes),
            caption=caption,
        )
