"""What the routes need, built once per application (never at import), started and stopped
together: the database, the command handler, the live hub and, on PostgreSQL, the bus."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from liveblog.api.limits import ConnectionCount, WriteRate
from liveblog.application import Application, build_application
from liveblog.config import Settings
from liveblog.live.bus import PostgresListener
from liveblog.live.hub import Hub
from liveblog.store.database import Database
from liveblog.store.schema import ensure_migrated
from liveblog.websub import HubPinger


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    database: Database
    application: Application
    hub: Hub
    write_rate: WriteRate
    connections: ConnectionCount
    token_use: dict[str, datetime] = field(default_factory=dict)
    """When each token was last recorded as used, to write that at most once a minute."""


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
        application.on_commit = hub.wake
        await hub.start()
        pinger = websub_pinger(settings, database)
        if pinger is not None:
            application.on_commit = both(hub.wake, pinger.wake)
            await pinger.start()
        listener = None
        if not database.is_sqlite:
            listener = PostgresListener(
                database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
                on_wake=hub.wake,
                on_reconnect=hub.wake_all,
            )
            await listener.start()
        try:
            yield Services(
                settings=settings,
                database=database,
                application=application,
                hub=hub,
                write_rate=WriteRate(per_minute=settings.write_rate_per_minute, burst=settings.write_burst),
                connections=ConnectionCount(per_address=settings.live_connections_per_address),
            )
        finally:
            if listener is not None:
                await listener.stop()
            if pinger is not None:
                await pinger.stop()
            await hub.stop()
    finally:
        if owned:
            await database.dispose()


def websub_pinger(settings: Settings, database: Database) -> HubPinger | None:
    """The WebSub pinger, if a hub is configured (the settings require a public URL with it)."""
    if settings.websub_hub_url is None or settings.public_url is None:
        return None
    return HubPinger(settings.websub_hub_url, settings.public_url, database)


def both(first: Callable[[str, int], None], second: Callable[[str, int], None]) -> Callable[[str, int], None]:
    """An ``on_commit`` that calls ``first`` and then ``second``."""

    def on_commit(story: str, version: int) -> None:
        first(story, version)
        second(story, version)

    return on_commit


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
