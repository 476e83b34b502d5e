"""The settings-only switch between the embedded and the scaled column of DESIGN §2.

`build_state` asks these factories for each seam; nothing else in the code knows which column runs:

| setting | embedded (default) | scaled |
|---|---|---|
| `redis_url` | in-process events, stop flags, key cache | Redis Streams bus, Redis stop channel, shared key cache |
| `job_backend` | job table worked inside `serve` | `celery`: `loomworks worker` processes |
| `storage` | `local` directory | `s3` bucket |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from loomworks.core.config import Settings
from loomworks.services.api_keys import AppKeyCache
from loomworks.services.chat.tasks import TaskRegistry
from loomworks.services.events import EventBus, LocalEventBus, RedisEventBus
from loomworks.store.db import Database
from loomworks.store.s3 import S3Storage
from loomworks.store.storage import LocalStorage, Storage
from loomworks.tasks.queue import JobQueue

if TYPE_CHECKING:
    from loomworks.services.signals import RedisSignals


class ScaledModeError(ValueError):
    """The settings ask for a scaled part without what it needs (e.g. Celery without Redis)."""


@dataclass
class SharedParts:
    """The per-process parts whose implementation the settings choose."""

    bus: EventBus
    tasks: TaskRegistry
    key_cache: AppKeyCache
    signals: RedisSignals | None = None


def shared_parts(settings: Settings) -> SharedParts:
    """Event bus, task registry (stop-generation) and key cache for this process."""
    if not settings.redis_url:
        return SharedParts(
            bus=LocalEventBus(ttl=settings.event_stream_ttl_seconds), tasks=TaskRegistry(), key_cache=AppKeyCache()
        )
    # Imported here: redis is only needed in the scaled mode (~40 ms of start-up otherwise).
    from loomworks.services.signals import RedisSignals, RedisTaskRegistry, SharedAppKeyCache

    signals = RedisSignals(settings.redis_url)
    parts = SharedParts(
        bus=RedisEventBus(
            settings.redis_url,
            ttl=settings.event_stream_ttl_seconds,
            reconnect_seconds=settings.event_bus_reconnect_seconds,
        ),
        tasks=RedisTaskRegistry(signals),
        key_cache=SharedAppKeyCache(signals),
        signals=signals,
    )
    signals.start()
    return parts


def storage_for(settings: Settings) -> Storage:
    """The file storage the settings name."""
    if settings.storage == "s3":
        store = S3Storage(
            endpoint=settings.s3_endpoint,
            bucket=settings.s3_bucket,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            region=settings.s3_region,
            prefix=settings.s3_prefix,
        )
        store.ensure_bucket()
        return store
    return LocalStorage(settings.resolved_storage_dir)


def job_queue_for(db: Database, settings: Settings) -> JobQueue:
    """The job table, worked in process (embedded) or by Celery workers."""
    if settings.job_backend != "celery":
        return JobQueue(db, concurrency=settings.job_concurrency, lease_seconds=settings.job_lease_seconds)
    if not settings.redis_url:
        raise ScaledModeError("LOOMWORKS_JOB_BACKEND=celery needs LOOMWORKS_REDIS_URL (the broker).")
    from loomworks.tasks.celery_app import CeleryJobQueue, create_celery

    return CeleryJobQueue(
        db,
        create_celery(settings.redis_url),
        concurrency=settings.job_concurrency,
        lease_seconds=settings.job_lease_seconds,
        sweep_seconds=max(min(settings.job_lease_seconds / 2, 5.0), 0.5),
    )


def runs_jobs_in_process(settings: Settings) -> bool:
    """Whether `serve` works the job table (and recovers cut-off runs) itself."""
    return settings.run_jobs_in_process and settings.job_backend == "embedded"
