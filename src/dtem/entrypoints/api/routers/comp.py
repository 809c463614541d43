"""Compensation over HTTP: statements (own, team or all, by role) and comp plans.

`GET /comp/statements/{rep}/{period}`: a rep token only its own (another rep's → 403);
a manager any rep, or only its team's when the token's subject names a team (a `pod`);
admin any; agents and viewers none. `GET /comp/plans` for any token; `POST /comp/plans`
(admin) stores a plan or answers 422 with every reason it was refused. Closed periods:
`GET /comp/periods` (manager, viewer, admin); `POST /comp/periods/{period}/close` (admin).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from dtem.entrypoints.api.callers import ReaderDep, actor
from dtem.entrypoints.api.deps import AdminDep, ContainerDep, TokenDep
from dtem.entrypoints.api.pagination import Page, PageDep
from dtem.services.comp import plans, statements
from dtem.services.comp.presenters import plan_json, statement_json

router = APIRouter(prefix="/comp", tags=["compensation"])


@router.get("/statements/{rep}/{period}")
def get_statement(rep: str, period: str, c: ContainerDep, token: TokenDep) -> dict[str, Any]:
    """A rep's commission lines in a period (YYYY-MM), with totals and the lock."""
    viewer = statements.Viewer(token.role, token.subject)
    return statement_json(statements.statement(c.ledger, rep, period, viewer))


@router.get("/plans")
def list_plans(c: ContainerDep, _t: TokenDep) -> dict[str, Any]:
    """Stored comp plan versions and the one in force today."""
    listing = plans.list_plans(c.ledger, c.clock)
    default = listing.pending_default
    return {
        "in_force": listing.in_force,
        "plans": [plan_json(p) for p in listing.plans],
        "pending_default": default.to_dict() if default else None,
    }


@router.post("/plans", status_code=201)
def store_plan(document: dict[str, Any], c: ContainerDep, token: AdminDep) -> dict[str, Any]:
    """Validate and schedule a comp plan document (422 lists every problem)."""
    note = str(document.pop("note", ""))
    stored = plans.store_plan(c.ledger, c.clock, document, f"token:{token.id}", note)
    return plan_json(stored)


class PeriodOut(BaseModel):
    period: str = Field(examples=["2027-01"])
    closed_at: datetime
    closed_by: str


class PeriodCloseOut(PeriodOut):
    closed_now: bool = Field(description="false: it was already closed (nothing changed)")
    lines: int
    commission: str = Field(description="total commission of the period (exact decimal)")


@router.get("/periods", response_model=Page[PeriodOut])
def list_periods(c: ContainerDep, _t: ReaderDep, page: PageDep) -> Page[PeriodOut]:
    """Closed (locked) periods, newest first."""
    found = statements.closed_periods(c.ledger, page.after(str), page.fetch)
    return page.of(found, key=lambda p: p.period, item=lambda p: PeriodOut(**vars(p)))


@router.post("/periods/{period}/close", response_model=PeriodCloseOut)
def close_period(period: str, c: ContainerDep, token: AdminDep) -> PeriodCloseOut:
    """Close a period (`dtem comp close`): its lines are locked; later corrections post in
    an open period. Closing a closed period changes nothing."""
    done = statements.close_period(c.ledger, c.clock, period, actor(token))
    return PeriodCloseOut(
        period=done.period, closed_at=done.closed_at, closed_by=done.closed_by,
        closed_now=done.closed_now, lines=done.lines, commission=str(done.commission),
    )  # fmt: skip
