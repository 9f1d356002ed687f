"""Webhook intake: verify, parse, store idempotently with the events, and only then answer.

A delivery is acknowledged (2xx) only after the transaction that stored it has committed, so
a process killed at any point loses nothing: the provider retries, and a retry of what was
stored is recognised by the provider message id and changes nothing.

Answers: unknown provider or instance 404, bad secret or signature 401, malformed body 400,
media over the limit 413; anything the provider sends that we do not use (unknown events) is
acknowledged and ignored, because the provider would otherwise retry it for days.
"""

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from atende.core.db import Database
from atende.core.errors import NotFound, PayloadTooLarge, Problem
from atende.core.security import SecretBox
from atende.inbox import service as inbox
from atende.inbox.inbound_writer import InboundWriter
from atende.whatsapp import service
from atende.whatsapp.media import MediaTooLarge, media_record
from atende.whatsapp.models import Instance
from atende.whatsapp.providers.base import (
    ConnectionUpdate,
    InboundMessage,
    InstanceRef,
    OutboundEcho,
    ProviderEvent,
    QrUpdate,
    StatusUpdate,
    WebhookRejected,
    WebhookRequest,
)
from atende.whatsapp.providers.registry import Providers

log = logging.getLogger("atende.whatsapp.intake")
# A changed secret or a deleted instance reaches other processes' caches within this time.
REF_CACHE_SECONDS = 5.0
REF_CACHE_SIZE = 10_000


class WebhookProblem(Problem):
    code, title = "webhook-rejected", "Webhook rejected"

    def __init__(self, rejected: WebhookRejected) -> None:
        super().__init__(rejected.reason)
        self.status = rejected.status


@dataclass(frozen=True, slots=True)
class IntakeResult:
    stored: int  # new messages
    duplicates: int
    other: int  # statuses, connection changes, QR codes, ignored echoes


@dataclass
class Intake:
    database: Database
    providers: Providers
    box: SecretBox
    base_url: str
    media_root: Path
    media_max_bytes: int
    writer: InboundWriter
    # Instances by (provider, id), read once every few seconds rather than on every delivery.
    _refs: dict[tuple[str, int], tuple[InstanceRef, float]] = field(default_factory=dict)

    def forget(self, instance_id: int) -> None:
        """Drops a changed or deleted instance from the cache of this process."""
        for key in [key for key in self._refs if key[1] == instance_id]:
            del self._refs[key]

    async def _ref(self, provider: str, instance_id: int) -> InstanceRef:
        cached = self._refs.get((provider, instance_id))
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        async with self.database.unit_of_work(write=False) as session:
            instance = await self._instance(session, provider, instance_id)
            ref = service.instance_ref(instance, self.box, self.base_url)
        if len(self._refs) > REF_CACHE_SIZE:
            self._refs.clear()
        self._refs[(provider, instance_id)] = (ref, now + REF_CACHE_SECONDS)
        return ref

    async def handshake(self, *, provider: str, instance_id: int, request: WebhookRequest) -> str:
        adapter = self.providers.get(provider)
        ref = await self._ref(provider, instance_id)
        try:
            return adapter.answer_handshake(ref, request)
        except WebhookRejected as rejected:
            raise WebhookProblem(rejected) from rejected

    async def receive(
        self, *, provider: str, instance_id: int, request: WebhookRequest
    ) -> IntakeResult:
        adapter = self.providers.get(provider)
        ref = await self._ref(provider, instance_id)
        try:
            adapter.verify_webhook(ref, request)
            events = adapter.parse_webhook(ref, request)
        except WebhookRejected as rejected:
            log.info("webhook rejected", extra={"instance_id": instance_id, "why": rejected.reason})
            raise WebhookProblem(rejected) from rejected
        media = await self._store_media(events)
        messages = [event for event in events if isinstance(event, InboundMessage)]
        others = [event for event in events if not isinstance(event, InboundMessage)]
        # Messages go to the batching writer (they are most of the traffic); the rest, rarer,
        # in a transaction of their own. The answer waits for both commits.
        results = await asyncio.gather(
            *(
                self.writer.store(
                    org_id=ref.org_id,
                    instance_id=ref.id,
                    inbound=_inbound_input(
                        message,
                        media.get(message.provider_message_id),
                        answered=ref.agent_id is not None,
                    ),
                )
                for message in messages
            )
        )
        other = 0
        if others:
            async with self.database.unit_of_work() as session:
                instance = await self._instance(session, provider, instance_id)
                other = (await apply_events(session, instance, others)).other
        stored = sum(result is not None for result in results)
        return IntakeResult(stored, len(results) - stored, other)

    async def _instance(self, session: AsyncSession, provider: str, instance_id: int) -> Instance:
        instance = await service.instance_for_webhook(
            session, instance_id=instance_id, provider=provider
        )
        if instance is None:
            raise NotFound("Unknown instance.")
        return instance

    async def _store_media(self, events: list[ProviderEvent]) -> dict[str, dict[str, object]]:
        """Inline media is written (content-addressed) before the transaction: no file I/O
        while holding the database's write lock."""
        stored: dict[str, dict[str, object]] = {}
        for event in events:
            if isinstance(event, InboundMessage) and event.media is not None:
                try:
                    stored[event.provider_message_id] = await media_record(
                        event.media, root=self.media_root, max_bytes=self.media_max_bytes
                    )
                except MediaTooLarge as exc:
                    raise PayloadTooLarge(str(exc)) from exc
        return stored


async def apply_events(
    session: AsyncSession,
    instance: Instance,
    events: Sequence[ProviderEvent],
    media: dict[str, dict[str, object]] | None = None,
) -> IntakeResult:
    stored = duplicates = other = 0
    for event in events:
        if isinstance(event, InboundMessage):
            result = await inbox.record_inbound(
                session,
                org_id=instance.org_id,
                instance_id=instance.id,
                inbound=_inbound_input(
                    event,
                    (media or {}).get(event.provider_message_id),
                    answered=instance.agent_id is not None,
                ),
            )
            if result is None:
                duplicates += 1
            else:
                stored += 1
            continue
        other += 1
        if isinstance(event, StatusUpdate):
            await inbox.record_status(
                session,
                org_id=instance.org_id,
                instance_id=instance.id,
                provider_message_id=event.provider_message_id,
                status=event.status.value,
                error=event.error,
            )
        elif isinstance(event, ConnectionUpdate):
            await service.apply_connection(session, instance, event)
        elif isinstance(event, QrUpdate):
            await service.apply_qr(session, instance, event)
        elif isinstance(event, OutboundEcho):
            pass  # our sender records the provider id of what it sends itself
    return IntakeResult(stored, duplicates, other)


def _inbound_input(
    event: InboundMessage, media: dict[str, object] | None, *, answered: bool
) -> inbox.InboundInput:
    extra = dict(event.extra)
    for key, value in (
        ("reaction_to", event.reaction_to),
        ("edit_of", event.edit_of),
        ("deletes", event.deletes),
        ("provider_type", event.provider_type),
    ):
        if value:
            extra[key] = value
    return inbox.InboundInput(
        provider_message_id=event.provider_message_id,
        chat_id=event.chat_id,
        phone_digits=event.phone,
        sender_name=event.sender_name,
        type=event.type.value,
        text=event.text,
        timestamp=event.timestamp,
        media=media,
        extra=extra or None,
        from_me=event.from_me,
        is_group=event.is_group,
        reply_to=event.reply_to,
        agent_answers=answered,
    )
