"""Routing decisions over HTTP: every stored decision with its candidates and exclusions.

Any token may read them, but a rep token only the decisions that chose its rep (another's
is a 404, as a missing one).

    curl -H "Authorization: Bearer $TOKEN" 'localhost:8000/decisions?account=ACME-001'
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from dtem.domain.clock import as_utc
from dtem.entrypoints.api.callers import rep_scope
from dtem.entrypoints.api.deps import ContainerDep, TokenDep
from dtem.entrypoints.api.pagination import IsoTime, Page, PageDep
from dtem.services import decisions

router = APIRouter(tags=["routing"])


class DecisionOut(BaseModel):
    id: int
    account: str
    at: datetime
    trigger: str
    outcome: str
    policy_version: int
    rep: str | None
    lease_id: int | None

    @classmethod
    def of(cls, v: decisions.DecisionView) -> DecisionOut:
        return cls(**{k: getattr(v, k) for k in cls.model_fields})


class DecisionDetailOut(DecisionOut):
    candidates: list[dict[str, Any]]
    exclusions: dict[str, str]


@router.get("/decisions", response_model=Page[DecisionOut])
def list_decisions(
    c: ContainerDep,
    token: TokenDep,
    page: PageDep,
    account: str | None = Query(None, description="Only this account's (external id)."),
    rep: str | None = Query(None, description="Only those that chose this rep."),
    since: IsoTime | None = Query(None, description="Only those at or after this time."),
) -> Page[DecisionOut]:
    """Routing decisions, newest first (`dtem route --explain` shows an account's)."""
    rep = rep_scope(token) or rep
    since = as_utc(since) if since else None
    found = decisions.list_decisions(c.ledger, account, rep, since, page.after(int), page.fetch)
    return page.of(found, key=lambda d: d.id, item=DecisionOut.of)


@router.get("/decisions/{decision_id}", response_model=DecisionDetailOut)
def show_decision(decision_id: int, c: ContainerDep, token: TokenDep) -> DecisionDetailOut:
    """One decision with every candidate and why the others were excluded."""
    v = decisions.show_decision(c.ledger, decision_id, as_rep=rep_scope(token))
    return DecisionDetailOut(
        **DecisionOut.of(v).model_dump(), candidates=v.candidates, exclusions=v.exclusions
    )
