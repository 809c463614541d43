"""Liveness and readiness: the only endpoint without a token."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

import dtem
from dtem.domain.errors import LedgerUnavailable
from dtem.entrypoints.api.deps import ContainerDep
from dtem.entrypoints.api.errors import RETRY_AFTER_SECONDS, UNAVAILABLE, log
from dtem.entrypoints.api.problems import problem_response

router = APIRouter(tags=["health"])


@router.get("/health", response_model=None)
def health(request: Request, c: ContainerDep) -> dict[str, str] | JSONResponse:
    """`{"status": "ok", …}`, or a 503 problem with `"database": "unreachable"`."""
    try:
        with c.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except LedgerUnavailable as exc:
        log.warning("health: %s", exc)
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return problem_response(
            503, UNAVAILABLE, request.url.path, "ledger-unavailable", headers,
            error="LedgerUnavailable", version=dtem.__version__, database="unreachable",
        )  # fmt: skip
    return {"status": "ok", "version": dtem.__version__, "database": c.engine.dialect.name}
