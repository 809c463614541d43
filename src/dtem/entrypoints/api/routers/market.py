"""The market maker over HTTP: routing, leases, opportunity stages, overflow, reps, and
opportunities waiting for their account.

Every endpoint needs a bearer token. Routing and stage changes: manager, agent or admin
(agents report hand-raises). Reassign: manager. Release: a manager, or the rep who holds
the lease (a rep token's subject is the rep's external id).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from dtem.domain.errors import Forbidden
from dtem.domain.ports import TokenRecord
from dtem.entrypoints.api.deps import ContainerDep, TokenDep, require_role
from dtem.services import directory, leases, routing, stages
from dtem.services.imports.unattached import UnattachedView, attach_opportunity, list_unattached

router = APIRouter(tags=["market"])

ManagerDep = Annotated[TokenRecord, Depends(require_role("manager"))]
RouterDep = Annotated[TokenRecord, Depends(require_role("manager", "agent"))]
ReleaserDep = Annotated[TokenRecord, Depends(require_role("manager", "rep"))]


class RouteIn(BaseModel):
    trigger: str = Field("manual", examples=["hand_raise"])


class LeaseOut(BaseModel):
    id: int
    account: str
    rep: str
    state: str
    granted_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    score_at_grant: float
    policy_version: int
    reason: str
    version: int = Field(description="1 at grant, one more per transition")


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


class ReleaseIn(BaseModel):
    reason: str = ""


class ReassignIn(BaseModel):
    to_rep: str
    reason: str = Field(min_length=1)


class StageIn(BaseModel):
    stage: str = Field(examples=["proposal"])


class AttachIn(BaseModel):
    account: str = Field(
        min_length=1, description="external id, domain or exact name", examples=["acme.com"]
    )


class RepOut(BaseModel):
    external_id: str
    name: str
    email: str | None
    manager: str | None
    team: str | None
    region: str | None
    pod: str | None
    capacity: int
    active: bool


def _actor(token: TokenRecord) -> str:
    return f"token:{token.id}" + (f":{token.subject}" if token.subject else "")


def _lease_out(v: leases.LeaseView) -> LeaseOut:
    x = v.lease
    return LeaseOut(
        id=x.id,
        account=v.account,
        rep=v.rep,
        state=x.state.value,
        granted_at=x.granted_at,
        expires_at=x.expires_at,
        ended_at=x.ended_at,
        score_at_grant=x.score_at_grant,
        policy_version=x.policy_version,
        reason=x.reason,
        version=x.version,
    )


def _own_rep(token: TokenRecord) -> str:
    """The rep a rep token acts as (tokens made before subjects were required may lack one)."""
    if not token.subject:
        raise Forbidden(f"rep token {token.id} names no rep; create one with --subject")
    return token.subject


@router.post("/routing/{account}", response_model=RouteOut)
def route_account(account: str, body: RouteIn, c: ContainerDep, token: RouterDep) -> RouteOut:
    """Route one account now; the decision (and why) is stored either way."""
    res = routing.route(c.ledger, c.clock, account, body.trigger, _actor(token))
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


@router.get("/leases", response_model=list[LeaseOut])
def list_leases(
    c: ContainerDep,
    token: TokenDep,
    rep: str | None = None,
    include_ended: Annotated[bool, Query(alias="all", description="ended leases too")] = False,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[LeaseOut]:
    """Leases, newest first. A rep token sees only its own."""
    if token.role == "rep":
        rep = _own_rep(token)
    return [_lease_out(v) for v in leases.list_leases(c.ledger, rep, not include_ended, limit)]


@router.post("/leases/{lease_id}/release", response_model=LeaseOut)
def release(lease_id: int, body: ReleaseIn, c: ContainerDep, token: ReleaserDep) -> LeaseOut:
    """Give a lease back early: managers any, a rep only their own (another's is a 404)."""
    as_rep = _own_rep(token) if token.role == "rep" else None
    leases.release_lease(c.ledger, c.clock, lease_id, _actor(token), body.reason, as_rep)
    return _lease_out(leases.show_lease(c.ledger, lease_id))


@router.post("/leases/{lease_id}/reassign", response_model=LeaseOut)
def reassign(lease_id: int, body: ReassignIn, c: ContainerDep, token: ManagerDep) -> LeaseOut:
    """Move a lease to another rep, with a reason; returns the new lease."""
    new = leases.reassign_lease(
        c.ledger, c.clock, lease_id, body.to_rep, body.reason, _actor(token)
    )
    return _lease_out(leases.show_lease(c.ledger, new.id))


@router.post("/opportunities/{external_id}/stage")
def opportunity_stage(
    external_id: str, body: StageIn, c: ContainerDep, token: RouterDep
) -> dict[str, Any]:
    """Record an opportunity's new stage; an advance extends its account's lease."""
    result = stages.change_stage(c.ledger, c.clock, external_id, body.stage, _actor(token))
    return {
        "opportunity": external_id,
        "stage": result.stage,
        "previous_stage": result.previous_stage,
        "leases": [
            {"id": x.id, "state": x.state.value, "expires_at": x.expires_at} for x in result.leases
        ],
    }


@router.get("/opportunities/unattached", response_model=list[UnattachedView])
def unattached_opportunities(c: ContainerDep, _t: TokenDep) -> list[UnattachedView]:
    """Opportunities stored without an account: they attach when it is imported."""
    return list_unattached(c.ledger)


@router.post("/opportunities/{external_id}/attach")
def attach(external_id: str, body: AttachIn, c: ContainerDep, token: ManagerDep) -> dict[str, Any]:
    """Attach a waiting opportunity to its account (by external id, domain or name)."""
    opp = attach_opportunity(c.ledger, c.clock, external_id, body.account, _actor(token))
    return {"opportunity": opp.external_id, "account": opp.account_external_id}


@router.get("/reps", response_model=list[RepOut])
def reps(
    c: ContainerDep,
    _t: TokenDep,
    manager: str | None = None,
    team: str | None = None,
    region: str | None = None,
) -> list[RepOut]:
    """The reps with their manager, team and region (each query parameter filters)."""
    found = directory.list_reps(c.ledger, manager=manager, team=team, region=region)
    return [
        RepOut(
            external_id=r.external_id, name=r.name, email=r.email, manager=r.manager,
            team=r.team, region=r.region, pod=r.pod, capacity=r.capacity, active=r.active,
        )
        for r in found
    ]  # fmt: skip


@router.get("/overflow")
def overflow(
    c: ContainerDep,
    _t: TokenDep,
    include_resolved: Annotated[bool, Query(alias="all")] = False,
) -> list[dict[str, Any]]:
    """Accounts no rep could take, with the reason (retried by the daily review)."""
    return routing.overflow(c.ledger, open_only=not include_resolved)
