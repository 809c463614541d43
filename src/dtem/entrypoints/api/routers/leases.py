"""Leases over HTTP: list, show one with its transitions, release, reassign.

Any token may read leases, but a rep token only its own (another rep's lease is a 404, as
a missing one). Release: a manager, or the rep who holds the lease. Reassign: a manager.

    curl -H "Authorization: Bearer $TOKEN" 'localhost:8000/leases?all=true&limit=100'
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from dtem.entrypoints.api.callers import ManagerDep, RepOrManagerDep, actor, own_rep, rep_scope
from dtem.entrypoints.api.deps import ContainerDep, TokenDep
from dtem.entrypoints.api.pagination import Page, PageDep
from dtem.services import leases

router = APIRouter(tags=["leases"])


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

    @classmethod
    def of(cls, v: leases.LeaseView) -> LeaseOut:
        x = v.lease
        return cls(
            id=x.id, account=v.account, rep=v.rep, state=x.state.value,
            granted_at=x.granted_at, expires_at=x.expires_at, ended_at=x.ended_at,
            score_at_grant=x.score_at_grant, policy_version=x.policy_version,
            reason=x.reason, version=x.version,
        )  # fmt: skip


class LeaseEventOut(BaseModel):
    seq: int = Field(description="the lease's version after this transition")
    kind: str
    at: datetime
    actor: str
    reason: str
    policy_version: int | None


class LeaseDetailOut(LeaseOut):
    events: list[LeaseEventOut] = Field(description="every transition, oldest first")


class ReleaseIn(BaseModel):
    reason: str = ""


class ReassignIn(BaseModel):
    to_rep: str
    reason: str = Field(min_length=1)


@router.get("/leases", response_model=Page[LeaseOut])
def list_leases(
    c: ContainerDep,
    token: TokenDep,
    page: PageDep,
    rep: str | None = None,
    include_ended: Annotated[bool, Query(alias="all", description="ended leases too")] = False,
) -> Page[LeaseOut]:
    """Leases, newest first (`dtem lease list`). A rep token sees only its own."""
    rep = rep_scope(token) or rep
    found = leases.list_leases(
        c.ledger, rep, not include_ended, page.fetch, before_id=page.after(int)
    )
    return page.of(found, key=lambda v: v.lease.id, item=LeaseOut.of)


@router.get("/leases/{lease_id}", response_model=LeaseDetailOut)
def show_lease(lease_id: int, c: ContainerDep, token: TokenDep) -> LeaseDetailOut:
    """A lease and every transition (`dtem lease show`); another rep's lease is a 404."""
    view = leases.show_lease(c.ledger, lease_id, as_rep=rep_scope(token))
    events = [
        LeaseEventOut(seq=e.seq, kind=e.kind, at=e.at, actor=e.actor, reason=e.reason,
                      policy_version=e.policy_version)
        for e in view.events
    ]  # fmt: skip
    return LeaseDetailOut(**LeaseOut.of(view).model_dump(), events=events)


@router.post("/leases/{lease_id}/release", response_model=LeaseOut)
def release(lease_id: int, body: ReleaseIn, c: ContainerDep, token: RepOrManagerDep) -> LeaseOut:
    """Give a lease back early: managers any, a rep only their own (another's is a 404)."""
    as_rep = own_rep(token) if token.role == "rep" else None
    leases.release_lease(c.ledger, c.clock, lease_id, actor(token), body.reason, as_rep)
    return LeaseOut.of(leases.show_lease(c.ledger, lease_id))


@router.post("/leases/{lease_id}/reassign", response_model=LeaseOut)
def reassign(lease_id: int, body: ReassignIn, c: ContainerDep, token: ManagerDep) -> LeaseOut:
    """Move a lease to another rep, with a reason; returns the new lease."""
    new = leases.reassign_lease(c.ledger, c.clock, lease_id, body.to_rep, body.reason, actor(token))
    return LeaseOut.of(leases.show_lease(c.ledger, new.id))
