"""The app factory. ``costcast serve`` runs it with uvicorn; tests build it with
``create_app()`` and override ``get_settings``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.routes import (
    alerts,
    billing,
    exports,
    forecasts,
    health,
    impact,
    kpis,
    prices,
    scenarios,
    usage,
)
from api.settings import get_settings
from api.state import AppState

# Every router the app serves; tests walk these to check each route's scope.
ROUTERS = tuple(
    m.router
    for m in (health, usage, kpis, impact, alerts, forecasts, scenarios, prices, billing, exports)
)

DESCRIPTION = """Forecasts, what-if scenarios, usage, prices, billed actuals and finance
exports of LLM API spend. Every route but `/health/*` needs `Authorization: Bearer TOKEN`
(make one with `costcast token create`); each route names the scope it needs."""


def create_app() -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings = app.dependency_overrides.get(get_settings, get_settings)()
        app.state.costcast = AppState(settings)
        try:
            yield
        finally:
            app.state.costcast.close()

    app = FastAPI(title="costcast", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    return app
