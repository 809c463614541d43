"""The market maker over HTTP: route an account now, and the overflow queue.

Every endpoint needs a bearer token. Routing: manager, agent or admin (agents report
hand-raises). Leases, reps, decisions and opportunities have routers of their own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from dtem.domain.routing import TRIGGERS
from dtem.entrypoints.api.callers import RouterDep, actor
from dtem.entrypoints.api.deps import ContainerDep, TokenDep
from dtem.entrypoints.api.pagination import Page, PageDep
from dtem.services import routing

router = APIRouter(tags=["market"])


class RouteIn(BaseModel):
    trigger: str = Field(
        "manual", examples=["hand_raise"], json_schema_extra={"enum": list(TRIGGERS)}
    )  # an unknown one is refused by routing.route as 422, naming the valid ones


class RouteOut(BaseModel):
    account: str
    outcome: str
    reason: str
    trigger: str
    policy_version: int
    decision_id: int
    rep: str | None
    lease_id: int | None
    candidates: list[dict[str, Any]]
    exclusions: dict[str, str]


@router.post("/routing/{account}", response_model=RouteOut)
def route_account(account: str, body: RouteIn, c: ContainerDep, token: RouterDep) -> RouteOut:
    """Route one account now; the decision (and why) is stored either way."""
    res = routing.route(c.ledger, c.clock, account, body.trigger, actor(token))
    return RouteOut(
        account=res.account,
        outcome=res.outcome,
        reason=res.reason,
        trigger=res.trigger,
        policy_version=res.policy_version,
        decision_id=res.decision_id,
        rep=res.rep,
        lease_id=res.lease.id if res.lease else None,
        candidates=res.candidates,
        exclusions=res.exclusions,
    )


class OverflowOut(BaseModel):
    id: int
    account: str
    queued_at: datetime
    reason: str
    resolved_at: datetime | None
    resolution: str | None


@router.get("/overflow", response_model=Page[OverflowOut])
def overflow(
    c: ContainerDep,
    _t: TokenDep,
    page: PageDep,
    include_resolved: Annotated[bool, Query(alias="all", description="resolved ones too")] = False,
) -> Page[OverflowOut]:
    """Accounts no rep could take, with the reason, oldest first (retried by the daily
    review; `dtem overflow list`)."""
    found = routing.overflow(c.ledger, not include_resolved, page.after(int), page.fetch)
    return page.of(found, key=lambda e: int(e["id"]), item=lambda e: OverflowOut(**e))
