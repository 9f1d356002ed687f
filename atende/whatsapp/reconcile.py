"""After a restart (ours or the provider's), ask each external number how it really is.

Statuses are kept in the database and follow the provider's events; events sent while Atende
was down are lost to us, so on start-up every Evolution or Cloud number that was not left
disconnected gets a `whatsapp.reconcile` job that asks the provider and applies the answer.
The instance itself is never lost: it is a row, whatever the provider went through.
"""

import logging
from dataclasses import dataclass

from sqlalchemy import select

from atende.core.db import Database, utcnow
from atende.core.jobs import Job, RetryLater, enqueue
from atende.core.security import SecretBox
from atende.whatsapp import service
from atende.whatsapp.models import Instance
from atende.whatsapp.providers.base import InstanceStatus, ProviderError
from atende.whatsapp.providers.registry import Providers

log = logging.getLogger("atende.whatsapp.reconcile")
RECONCILE_JOB = "whatsapp.reconcile"
EXTERNAL = ("evolution", "cloud")


async def enqueue_reconciliation(database: Database) -> int:
    """One job per external number not left disconnected; keyed by the minute of the start, so
    several processes starting together ask once."""
    minute = utcnow().strftime("%Y%m%d%H%M")
    queued = 0
    async with database.unit_of_work() as session:
        rows = await session.execute(
            select(Instance.id, Instance.org_id).where(
                Instance.provider.in_(EXTERNAL),
                Instance.status != InstanceStatus.disconnected.value,
            )
        )
        for instance_id, org_id in rows.tuples():
            queued += await enqueue(
                session,
                kind=RECONCILE_JOB,
                key=f"reconcile:{instance_id}:{minute}",
                payload={"instance_id": instance_id},
                org_id=org_id,
                max_attempts=5,
            )
    return queued


@dataclass
class Reconciler:
    database: Database
    providers: Providers
    box: SecretBox
    base_url: str

    async def __call__(self, job: Job) -> None:
        instance_id = int(job.payload["instance_id"])
        async with self.database.unit_of_work(write=False) as session:
            instance = await session.get(Instance, instance_id)
            if instance is None:
                return
            ref = service.instance_ref(instance, self.box, self.base_url)
            provider_name = instance.provider
        try:
            update = await self.providers.get(provider_name).status(ref)
        except ProviderError as error:
            if error.retryable:
                raise RetryLater(None, error.reason) from error
            log.warning("status check refused", extra={"instance_id": instance_id})
            return
        async with self.database.unit_of_work() as session:
            instance = await session.get(Instance, instance_id)
            if instance is not None:
                await service.apply_connection(session, instance, update)
