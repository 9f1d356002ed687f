"""Typing indicators on the customer's phone while an agent "types" its reply.

Best effort: a presence that fails or comes late changes nothing in the conversation, so the job
tries once and never holds up a reply (the reply's own send job is independent).
"""

import logging
from dataclasses import dataclass

from atende.core.db import Database
from atende.core.jobs import Job
from atende.core.security import SecretBox
from atende.whatsapp import service
from atende.whatsapp.models import Instance
from atende.whatsapp.providers.base import InstanceStatus, Presence, ProviderError
from atende.whatsapp.providers.registry import Providers

log = logging.getLogger("atende.whatsapp.presence")
# Whoever wants a typing indicator shown records a job of this kind (payload: instance_id, to).
PRESENCE_JOB = "whatsapp.presence"


@dataclass
class PresenceSender:
    database: Database
    providers: Providers
    box: SecretBox
    base_url: str

    async def __call__(self, job: Job) -> None:
        async with self.database.unit_of_work(write=False) as session:
            instance = await session.get(Instance, int(job.payload["instance_id"]))
            if instance is None or instance.status != InstanceStatus.connected:
                return
            ref = service.instance_ref(instance, self.box, self.base_url)
            provider = self.providers.get(instance.provider)
        try:
            await provider.send_presence(ref, to=str(job.payload["to"]), presence=Presence.typing)
        except ProviderError as error:
            log.info("typing indicator not shown", extra={"why": error.reason})
