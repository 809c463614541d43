"""The HTTP API: one router per resource, wired to the container built by bootstrap."""

from __future__ import annotations

from fastapi import FastAPI

import dtem
from dtem.bootstrap import Container, connect
from dtem.config import Settings
from dtem.entrypoints.api import contract, docs_pages, errors
from dtem.entrypoints.api.cors import TrackingCors
from dtem.entrypoints.api.dispatching import dispatching
from dtem.entrypoints.api.idempotency import Idempotency
from dtem.entrypoints.api.routers import (
    accounts,
    agents,
    audit,
    comp,
    decisions,
    governance,
    health,
    imports,
    kpis,
    leases,
    market,
    notifications,
    opportunities,
    optim,
    privacy,
    reps,
    scores,
    segment,
    signals,
    tokens,
    webhooks,
)
from dtem.entrypoints.web import site as dashboard


def create_app(container: Container, dispatch_webhooks: bool = False) -> FastAPI:
    """Build the API on a container (tests pass their own). `dispatch_webhooks`: run a
    webhook dispatcher beside it while it serves (`dtem serve` does, unless disabled)."""
    app = FastAPI(
        lifespan=dispatching(container) if dispatch_webhooks else None,
        title="DTEM",
        version=dtem.__version__,
        description="Dynamic Territory Equity Model: ledger, scores, leases and policies.",
        docs_url=None,  # served by docs_pages from packaged assets, not a CDN
        redoc_url=None,
    )
    docs_pages.install(app)
    app.state.container = container
    app.add_middleware(Idempotency)  # inside the last resort that errors.install adds
    errors.install(app)
    app.include_router(health.router)
    app.include_router(governance.router)
    app.include_router(segment.router)
    app.include_router(market.router)
    app.include_router(decisions.router)
    app.include_router(leases.router)
    app.include_router(opportunities.router)
    app.include_router(reps.router)
    app.include_router(imports.router)
    app.include_router(signals.router)
    app.include_router(tokens.router)
    app.include_router(audit.router)
    app.include_router(optim.router)
    app.include_router(agents.router)
    app.include_router(scores.router)
    app.include_router(comp.router)
    app.include_router(kpis.router)
    app.include_router(accounts.router)
    app.include_router(privacy.router)
    app.include_router(webhooks.router)
    app.include_router(notifications.router)
    dashboard.install(app)  # the pages people open in a browser, at / and /ui/…
    contract.install(app)  # reads the routes when the document is first asked for
    if container.settings.cors_origins:
        app.add_middleware(TrackingCors, origins=container.settings.cors_origins)
    return app


def app_from_environment() -> FastAPI:
    """The app of one server worker process, on the ledger the environment names.

    `dtem serve` runs uvicorn with this factory's import string, which is what lets
    `--workers N` start N processes (an app object cannot be handed to another process).
    """
    settings = Settings()
    return create_app(connect(settings), dispatch_webhooks=settings.webhook_dispatch)
