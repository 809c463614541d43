"""Opportunities over HTTP: list, show one with its stage history, move its stage, and the
ones waiting for their account (`dtem opportunities …`).

Any token may read them. A stage change: manager, agent or admin (an advance extends the
account's lease). Attaching a waiting one: manager.

    curl -H "Authorization: Bearer $TOKEN" 'localhost:8000/opportunities?account=ACME-001'
"""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from dtem.domain.model import Opportunity
from dtem.entrypoints.api.callers import ManagerDep, RouterDep, actor
from dtem.entrypoints.api.deps import ContainerDep, TokenDep
from dtem.entrypoints.api.pagination import Page, PageDep
from dtem.services import opportunities, stages
from dtem.services.imports.unattached import UnattachedView, attach_opportunity, list_unattached

router = APIRouter(tags=["opportunities"])


class OpportunityOut(BaseModel):
    external_id: str
    account: str | None = Field(description="null: waiting for its account")
    stage: str
    amount: float | None
    product: str | None
    created_date: date | None
    close_date: date | None
    rep: str | None

    @classmethod
    def of(cls, o: Opportunity) -> OpportunityOut:
        return cls(
            external_id=o.external_id, account=o.account_external_id, stage=o.stage,
            amount=o.amount, product=o.product, created_date=o.created_date,
            close_date=o.close_date, rep=o.rep_external_id,
        )  # fmt: skip


class StageChangeOut(BaseModel):
    stage: str
    changed_at: datetime
    source: str


class OpportunityDetailOut(OpportunityOut):
    history: list[StageChangeOut]


class StageIn(BaseModel):
    stage: str = Field(examples=["proposal"])


class LeaseStepOut(BaseModel):
    id: int
    state: str
    expires_at: datetime


class StageOut(BaseModel):
    opportunity: str
    stage: str
    previous_stage: str | None
    leases: list[LeaseStepOut]


class AttachIn(BaseModel):
    account: str = Field(
        min_length=1, description="external id, domain or exact name", examples=["acme.com"]
    )


class AttachOut(BaseModel):
    opportunity: str
    account: str | None


@router.get("/opportunities", response_model=Page[OpportunityOut])
def list_opportunities(
    c: ContainerDep,
    _t: TokenDep,
    page: PageDep,
    account: str | None = Query(None, description="Only this account's (external id)."),
    rep: str | None = Query(None, description="Only this owner's (external id)."),
    stage: str | None = None,
) -> Page[OpportunityOut]:
    """Opportunities by external id."""
    found = opportunities.list_opportunities(
        c.ledger, account, rep, stage, page.after(str), page.fetch
    )
    return page.of(found, key=lambda o: o.external_id, item=OpportunityOut.of)


@router.get("/opportunities/unattached", response_model=Page[UnattachedView])
def unattached_opportunities(c: ContainerDep, _t: TokenDep, page: PageDep) -> Page[UnattachedView]:
    """Opportunities stored without an account: they attach when it is imported."""
    found = list_unattached(c.ledger, page.after(str), page.fetch)
    return page.of(found, key=lambda w: w.opportunity, item=lambda w: w)


@router.get("/opportunities/{external_id}", response_model=OpportunityDetailOut)
def show_opportunity(external_id: str, c: ContainerDep, _t: TokenDep) -> OpportunityDetailOut:
    """One opportunity and its stage history, oldest first."""
    view = opportunities.show_opportunity(c.ledger, external_id)
    history = [
        StageChangeOut(stage=h.stage, changed_at=h.changed_at, source=h.source)
        for h in view.history
    ]
    return OpportunityDetailOut(**OpportunityOut.of(view.opportunity).model_dump(), history=history)


@router.post("/opportunities/{external_id}/stage", response_model=StageOut)
def opportunity_stage(
    external_id: str, body: StageIn, c: ContainerDep, token: RouterDep
) -> StageOut:
    """Record an opportunity's new stage; an advance extends its account's lease."""
    result = stages.change_stage(c.ledger, c.clock, external_id, body.stage, actor(token))
    return StageOut(
        opportunity=external_id,
        stage=result.stage,
        previous_stage=result.previous_stage,
        leases=[
            LeaseStepOut(id=x.id, state=x.state.value, expires_at=x.expires_at)
            for x in result.leases
        ],
    )


@router.post("/opportunities/{external_id}/attach", response_model=AttachOut)
def attach(external_id: str, body: AttachIn, c: ContainerDep, token: ManagerDep) -> AttachOut:
    """Attach a waiting opportunity to its account (by external id, domain or name)."""
    opp = attach_opportunity(c.ledger, c.clock, external_id, body.account, actor(token))
    return AttachOut(opportunity=opp.external_id, account=opp.account_external_id)
