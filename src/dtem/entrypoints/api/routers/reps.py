"""Reps over HTTP: list (filtered by manager, team, region), show one with its load and
leave, and record a leave window (`dtem reps …`).

Any token may read reps; recording leave needs a manager (or admin) token and is audited.

    curl -H "Authorization: Bearer $TOKEN" 'localhost:8000/reps?team=Enterprise&limit=100'
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, Field

from dtem.domain.clock import as_utc
from dtem.domain.model import Rep
from dtem.domain.store_market import Unavailability
from dtem.entrypoints.api.callers import ManagerDep, actor
from dtem.entrypoints.api.deps import ContainerDep, TokenDep
from dtem.entrypoints.api.pagination import Page, PageDep
from dtem.services import availability, directory

router = APIRouter(tags=["reps"])


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

    @classmethod
    def of(cls, r: Rep) -> RepOut:
        return cls(
            external_id=r.external_id, name=r.name, email=r.email, manager=r.manager,
            team=r.team, region=r.region, pod=r.pod, capacity=r.capacity, active=r.active,
        )  # fmt: skip


class LeaveOut(BaseModel):
    id: int
    starts_at: datetime
    ends_at: datetime
    reason: str

    @classmethod
    def of(cls, w: Unavailability) -> LeaveOut:
        return cls(id=w.id, starts_at=w.starts_at, ends_at=w.ends_at, reason=w.reason)


class RepDetailOut(RepOut):
    segments: list[str]
    languages: list[str]
    active_leases: int
    leave: list[LeaveOut] = Field(description="leave windows: no new leases inside one")


class LeaveIn(BaseModel):
    starts_at: AwareDatetime | datetime = Field(description="first moment away (UTC if naive)")
    ends_at: AwareDatetime | datetime = Field(description="first moment back (UTC if naive)")
    reason: str = Field("leave", max_length=200)


@router.get("/reps", response_model=Page[RepOut])
def list_reps(
    c: ContainerDep,
    _t: TokenDep,
    page: PageDep,
    manager: str | None = None,
    team: str | None = None,
    region: str | None = None,
) -> Page[RepOut]:
    """The reps by external id with manager, team and region (each parameter filters)."""
    found = directory.list_reps(
        c.ledger, manager=manager, team=team, region=region,
        after=page.after(str), limit=page.fetch,
    )  # fmt: skip
    return page.of(found, key=lambda r: r.external_id, item=RepOut.of)


@router.get("/reps/{external_id}", response_model=RepDetailOut)
def show_rep(external_id: str, c: ContainerDep, _t: TokenDep) -> RepDetailOut:
    """One rep: settings, active leases and leave windows."""
    view = directory.show_rep(c.ledger, external_id)
    return RepDetailOut(
        **RepOut.of(view.rep).model_dump(),
        segments=list(view.rep.segments),
        languages=list(view.rep.languages),
        active_leases=view.active_leases,
        leave=[LeaveOut.of(w) for w in view.leave],
    )


@router.post("/reps/{external_id}/leave", response_model=LeaveOut, status_code=201)
def add_leave(external_id: str, body: LeaveIn, c: ContainerDep, token: ManagerDep) -> LeaveOut:
    """Record a leave window: the rep gets no new leases in [starts_at, ends_at)."""
    window = availability.add_leave(
        c.ledger, c.clock, external_id, as_utc(body.starts_at), as_utc(body.ends_at),
        body.reason, actor(token),
    )  # fmt: skip
    return LeaveOut.of(window)
