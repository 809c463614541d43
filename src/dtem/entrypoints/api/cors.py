"""CORS for the tracking API only: browsers on the configured origins may call `/v1/*`.

analytics.js posts `text/plain` bodies (no pre-flight) and reads the answer only when
the response allows its origin; a page using Basic auth sends a pre-flight first. The
rest of the API (bearer tokens) stays same-origin.

Example:  DTEM_CORS_ORIGINS=https://www.acme.com dtem serve
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

TRACKING_PREFIX = "/v1/"


class TrackingCors:
    """ASGI middleware: Starlette's CORS for paths under `/v1/`, nothing elsewhere."""

    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=["POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Content-Encoding"],
            max_age=86_400,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope["path"]).startswith(TRACKING_PREFIX):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
