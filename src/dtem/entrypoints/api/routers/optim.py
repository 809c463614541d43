"""The batch optimiser over HTTP: rebalance, capacity bids and awards, CRM export.

Rebalance, award and export: manager (or admin). A bid: a manager, or the rep bidding
for themself (a rep token's subject is the rep's external id). Listing bids: any token.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field, StrictBool

from dtem.domain.clock import as_utc
from dtem.domain.errors import Forbidden
from dtem.domain.ports import TokenRecord
from dtem.entrypoints.api.deps import ContainerDep, TokenDep, require_role
from dtem.entrypoints.api.pagination import IsoTime, Page, PageDep, PageParams, invalid_cursor
from dtem.services import bidding, export

router = APIRouter(tags=["optimiser"])

ManagerDep = Annotated[TokenRecord, Depends(require_role("manager"))]
BidderDep = Annotated[TokenRecord, Depends(require_role("manager", "rep"))]


QUARTER = r"^\d{4}Q[1-4]$"  # what `domain.bidding.parse_quarter` reads


class RebalanceIn(BaseModel):
    move_leases: StrictBool = False
    hours: StrictBool = Field(
        False, description="hour capacities: a GAP MIP instead of min-cost flow"
    )
    top_k: int = Field(50, ge=1)
    time_limit: float = Field(60.0, gt=0, le=3600)
    dry_run: StrictBool = False


class BidIn(BaseModel):
    rep: str
    quarter: str = Field(pattern=QUARTER, examples=["2027Q1"])
    leases: int = Field(ge=1, le=1_000_000)


class AwardIn(BaseModel):
    quarter: str = Field(pattern=QUARTER, examples=["2027Q1"])
    total: int | None = Field(None, ge=0, description="default: Σ capacity of active reps")


def _finite(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in doc.items()}


@router.post("/rebalance")
def post_rebalance(body: RebalanceIn, c: ContainerDep, token: ManagerDep) -> dict[str, Any]:
    """Solve (and unless dry_run apply) the batch assignment; the report with its bound."""
    from dtem.services.rebalance import rebalance  # loads the solvers only when asked

    report = rebalance(
        c.ledger, c.clock, body.move_leases, body.hours, body.top_k, body.time_limit,
        body.dry_run, f"token:{token.id}",
    )  # fmt: skip
    return _finite(report.to_dict())


@router.post("/bids", status_code=201)
def post_bid(body: BidIn, c: ContainerDep, token: BidderDep) -> dict[str, Any]:
    if token.role == "rep" and token.subject != body.rep:
        raise Forbidden(f"a rep token may only bid for its own rep ({token.subject!r})")
    bid = bidding.submit_bid(c.ledger, c.clock, body.rep, body.quarter, body.leases,
                             f"token:{token.id}")  # fmt: skip
    return {"rep": body.rep, "quarter": bid.quarter, "leases": bid.leases}


class BidOut(BaseModel):
    rep: str
    quarter: str
    leases: int
    submitted_at: datetime
    awarded: int | None
    award_reason: str | None
    awarded_at: datetime | None


@router.get("/bids", response_model=Page[BidOut])
def get_bids(
    c: ContainerDep, _t: TokenDep, page: PageDep, quarter: Annotated[str | None, Query()] = None
) -> Page[BidOut]:
    """Capacity bids by quarter, then rep (`dtem bid list`)."""
    found = bidding.bid_page(c.ledger, quarter, _bid_key(page), page.fetch)
    return page.of(
        found, key=lambda kv: f"{kv[0][0]}/{kv[0][1]}", item=lambda kv: BidOut.model_validate(kv[1])
    )


def _bid_key(page: PageParams) -> bidding.BidKey | None:
    """The (quarter, rep id) a bids cursor holds as `quarter/rep_id`."""
    after = page.after(str)
    if after is None:
        return None
    quarter, _, rep_id = after.rpartition("/")
    if not quarter or not rep_id.isdigit() or len(rep_id) > 18:
        raise invalid_cursor(page.cursor or "")
    return quarter, int(rep_id)


@router.post("/bids/award")
def post_award(body: AwardIn, c: ContainerDep, token: ManagerDep) -> dict[str, Any]:
    result = bidding.award_quarter(c.ledger, c.clock, body.quarter, body.total,
                                   f"token:{token.id}")  # fmt: skip
    return {
        "quarter": result.quarter,
        "total_capacity": result.total_capacity,
        "awarded": result.awarded,
        "lines": [vars(x) for x in result.lines],
    }


class CsvResponse(PlainTextResponse):
    """A CSV document: declared and served as `text/csv`."""

    media_type = "text/csv"


@router.get(
    "/exports/assignments",
    response_class=CsvResponse,
    responses={
        200: {
            "description": "the bulk-update CSV",
            "headers": {
                "X-DTEM-Rows": {"description": "rows in the CSV", "schema": {"type": "integer"}},
                "X-DTEM-Until": {"description": "the new watermark", "schema": {"type": "string"}},
            },
        }
    },
)
def get_export(
    c: ContainerDep,
    token: ManagerDep,
    format: Annotated[str, Query(pattern="^(salesforce|hubspot)$")],
    since: Annotated[IsoTime | None, Query()] = None,
    pool_owner: Annotated[str | None, Query()] = None,
) -> CsvResponse:
    """The owner changes since `since` (default: the watermark) as a bulk-update CSV."""
    parts: list[str] = []
    start = as_utc(since) if since is not None else None
    result = export.export_assignments(
        c.ledger, c.clock, format, parts.append, start, pool_owner, f"token:{token.id}"
    )
    headers = {"X-DTEM-Rows": str(result.rows), "X-DTEM-Until": result.until.isoformat()}
    return CsvResponse(parts[0], headers=headers)
