"""Mount the dashboard on the API's app: its pages, its static files."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from dtem.entrypoints.web import admin, auth, people, pool

STATIC = "/ui/static"


def install(app: FastAPI) -> None:
    """Add the dashboard's routes (none in the OpenAPI schema) and `/ui/static`."""
    app.mount(STATIC, StaticFiles(packages=[("dtem.entrypoints.web", "static")]), name="ui-static")
    for module in (auth, pool, people, admin):
        app.include_router(module.router)
