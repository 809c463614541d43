"""Liveness and readiness: the only endpoint without a token."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter

import dtem
from dtem.entrypoints.api.deps import ContainerDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(c: ContainerDep) -> dict[str, str]:
    with c.engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    return {"status": "ok", "version": dtem.__version__, "database": c.engine.dialect.name}
