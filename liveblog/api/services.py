"""What the routes need, built once per application by the app factory (no globals)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from liveblog.application import Application
from liveblog.config import Settings
from liveblog.store.database import Database


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    database: Database
    application: Application


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
