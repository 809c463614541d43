"""Compensation over HTTP: statements (own, team or all, by role) and comp plans.

`GET /comp/statements/{rep}/{period}`: a rep token only its own (another rep's → 403);
a manager any rep, or only its team's when the token's subject names a team (a `pod`);
admin any; agents and viewers none. `GET /comp/plans` for any token; `POST /comp/plans`
(admin) stores a plan or answers 422 with every reason it was refused. Closed periods:
`GET /comp/periods` (manager, viewer, admin); `POST /comp/periods/{period}/close` (admin).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from dtem.domain.store_comp import CommissionLine
from dtem.entrypoints.api.callers import ReaderDep, RepOrManagerDep, actor
from dtem.entrypoints.api.deps import AdminDep, ContainerDep, TokenDep
from dtem.entrypoints.api.pagination import Page, PageDep
from dtem.services.comp import plans, statements
from dtem.services.comp.presenters import plan_json, statement_json

router = APIRouter(prefix="/comp", tags=["compensation"])

PeriodPath = Annotated[  # what `domain.comp_schedule.parse_period` reads
    str, Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2027-01"])
]


@router.get("/statements/{rep}/{period}")
def get_statement(rep: str, period: PeriodPath, c: ContainerDep, token: TokenDep) -> dict[str, Any]:
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


class LineOut(BaseModel):
    id: int
    opportunity: str
    lease_id: int
    seq: int = Field(description="0: the won deal; 1, 2, …: later adjustments")
    kind: str
    period: str
    won_on: date
    score_at_grant: str
    plan_version: int
    rate: str
    amount: str = Field(description="exact decimal; an adjustment holds the change")
    commission: str = Field(description="exact decimal; an adjustment holds the change")
    posted_at: datetime
    policy_version: int
    reason: str

    @classmethod
    def of(cls, x: CommissionLine) -> LineOut:
        return cls(
            id=x.id or 0, opportunity=x.opportunity, lease_id=x.lease_id, seq=x.seq,
            kind=x.kind, period=x.period, won_on=x.won_on, score_at_grant=str(x.score_at_grant),
            plan_version=x.plan_version, rate=str(x.rate), amount=str(x.amount),
            commission=str(x.commission), posted_at=x.posted_at,
            policy_version=x.policy_version, reason=x.reason,
        )  # fmt: skip


@router.get("/lines", response_model=Page[LineOut])
def list_lines(
    c: ContainerDep,
    token: RepOrManagerDep,
    page: PageDep,
    rep: Annotated[str, Query(description="the rep's external id")],
    period: Annotated[str | None, Query(examples=["2027-01"])] = None,
) -> Page[LineOut]:
    """A rep's commission lines by id, of one period or every one; who may see them as for
    a statement (a rep only its own)."""
    viewer = statements.Viewer(token.role, token.subject)
    found = statements.list_lines(c.ledger, rep, viewer, period, page.after(int), page.fetch)
    return page.of(found, key=lambda x: x.id or 0, item=LineOut.of)


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
def close_period(period: PeriodPath, c: ContainerDep, token: AdminDep) -> PeriodCloseOut:
    """Close a period (`dtem comp close`): its lines are locked; later corrections post in
    an open period. Closing a closed period changes nothing."""
    done = statements.close_period(c.ledger, c.clock, period, actor(token))
    return PeriodCloseOut(
        period=done.period, closed_at=done.closed_at, closed_by=done.closed_by,
        closed_now=done.closed_now, lines=done.lines, commission=str(done.commission),
    )  # fmt: skip
