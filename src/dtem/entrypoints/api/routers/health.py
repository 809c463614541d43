"""Liveness and readiness: the only endpoint without a token."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse

import dtem
from dtem.domain.errors import LedgerUnavailable
from dtem.entrypoints.api.deps import ContainerDep
from dtem.entrypoints.api.errors import RETRY_AFTER_SECONDS, UNAVAILABLE, log

router = APIRouter(tags=["health"])


@router.get("/health", response_model=None)
def health(c: ContainerDep) -> dict[str, str] | JSONResponse:
    """`{"status": "ok", …}`, or 503 with `"database": "unreachable"` and the reason."""
    try:
        with c.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except LedgerUnavailable as exc:
        log.warning("health: %s", exc)
        body = {
            "status": "unavailable",
            "version": dtem.__version__,
            "database": "unreachable",
            "detail": UNAVAILABLE,
        }
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return JSONResponse(body, status_code=503, headers=headers)
    return {"status": "ok", "version": dtem.__version__, "database": c.engine.dialect.name}
