"""What the routes need, built once per application (never at import), started and stopped
together: the database, the command handler, the live hub and, on PostgreSQL, the bus."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from liveblog.api.limits import ConnectionCount, WriteRate
from liveblog.application import Application, build_application
from liveblog.audit.sealing import Sealer
from liveblog.config import Settings
from liveblog.live.bus import PostgresListener
from liveblog.live.grip_publisher import GripPublisher
from liveblog.live.hub import Hub
from liveblog.store.database import Database
from liveblog.store.schema import ensure_migrated
from liveblog.store.tokens import TokenCache
from liveblog.webhooks.policy import RetryPolicy
from liveblog.webhooks.source import FeedSource, StoreFeedSource
from liveblog.webhooks.worker import Dispatcher, WorkerConfig
from liveblog.websub import HubPinger


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    database: Database
    application: Application
    hub: Hub
    write_rate: WriteRate
    connections: ConnectionCount
    feed: FeedSource
    """What webhook deliveries follow (and where a new endpoint starts)."""
    webhooks: Dispatcher | None
    """The webhook delivery worker of this process (``None`` with LIVEBLOG_WEBHOOK_DELIVERY off)."""
    token_use: dict[str, datetime] = field(default_factory=dict)
    """When each token was last recorded as used, to write that at most once a minute."""
    sealer: Sealer | None = None
    """The sweep that signs every story's head within ``checkpoint_within_seconds``."""
    token_cache: TokenCache = field(default_factory=TokenCache)
    """Editors' tokens, confirmed by each write (see :class:`~liveblog.store.tokens.TokenCache`)."""
    grip: GripPublisher | None = None
    """What publishes this process's events to the GRIP tier (``LIVEBLOG_LIVE_TIER=grip``)."""


@asynccontextmanager
async def running_services(settings: Settings, database: Database | None = None) -> AsyncIterator[Services]:
    """Build and start everything for ``settings`` (on ``database`` if given, which the
    caller then owns); stop it all on exit."""
    owned = database is None
    database = database or Database(settings.database_url)
    try:
        await ensure_migrated(database)
        application = await build_application(settings, database)
        hub = Hub(application, sweep_every=settings.live_sweep_seconds)
        feed = StoreFeedSource(database)
        dispatcher = webhook_dispatcher(settings, database, feed, application)

        def committed(story: str, version: int) -> None:
            hub.wake(story, version)
            if dispatcher is not None:
                dispatcher.wake(story, version)

        def reconnected() -> None:
            hub.wake_all()
            if dispatcher is not None:
                dispatcher.wake()

        pinger = websub_pinger(settings, database)

        def committed_here(story: str, version: int) -> None:
            committed(story, version)
            # The process that committed announces the change to the WebSub hub; the others
            # (woken by the bus) need not announce it again.
            if pinger is not None:
                pinger.wake(story, version)

        application.on_commit = committed_here
        publisher = None
        if settings.live_tier == "grip":
            # The committing process alone publishes a commit's events (on_recorded is
            # called here, never for what the bus brings from other processes).
            publisher = GripPublisher(
                settings.grip_publish_urls, application, token=settings.grip_publish_token
            )
            application.on_recorded = publisher.recorded
            await publisher.start()
        await hub.start()
        if pinger is not None:
            await pinger.start()
        listener = None
        if not database.is_sqlite:
            listener = PostgresListener(
                database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
                on_wake=committed,
                on_reconnect=reconnected,
            )
            await listener.start()
        token_cache = TokenCache()
        application.on_token_refused = token_cache.forget
        sealer = None
        if application.signer is not None:
            sealer = Sealer(
                database,
                application.signer,
                within=settings.checkpoint_within_seconds,
                clock=application.clock,
            )
            await sealer.start()
        if dispatcher is not None:
            # Started last, stopped first: deliveries run beside the server, never in a write.
            await dispatcher.start()
        try:
            yield Services(
                settings=settings,
                database=database,
                application=application,
                hub=hub,
                write_rate=WriteRate(per_minute=settings.write_rate_per_minute, burst=settings.write_burst),
                connections=ConnectionCount(per_address=settings.live_connections_per_address),
                sealer=sealer,
                feed=feed,
                webhooks=dispatcher,
                token_cache=token_cache,
                grip=publisher,
            )
        finally:
            if dispatcher is not None:
                await dispatcher.stop()
            if sealer is not None:
                await sealer.stop()
            if listener is not None:
                await listener.stop()
            if pinger is not None:
                await pinger.stop()
            await hub.stop()
            if publisher is not None:
                await publisher.stop()
    finally:
        if owned:
            await database.dispose()


def webhook_dispatcher(
    settings: Settings, database: Database, feed: FeedSource, application: Application
) -> Dispatcher | None:
    """The delivery worker ``settings`` ask for (see :mod:`liveblog.webhooks.worker`)."""
    if not settings.webhook_delivery:
        return None
    config = WorkerConfig(
        retry=RetryPolicy(
            base_seconds=settings.webhook_retry_base_seconds,
            max_seconds=settings.webhook_retry_max_seconds,
            max_failures=settings.webhook_max_failures,
        ),
        timeout_seconds=settings.webhook_timeout_seconds,
        allow_private=settings.webhook_allow_private,
        poll_seconds=settings.webhook_poll_seconds,
    )
    return Dispatcher(database, feed, config, clock=application.clock)


def websub_pinger(settings: Settings, database: Database) -> HubPinger | None:
    """The WebSub pinger, if a hub is configured (the settings require a public URL with it)."""
    if settings.websub_hub_url is None or settings.public_url is None:
        return None
    return HubPinger(settings.websub_hub_url, settings.public_url, database)


async def get_services(request: Request) -> Services:
    # A coroutine: FastAPI runs a plain function dependency in a worker thread, a thread hop
    # on every request (the profile in bench/README.md found it on the write path).
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
