"""The Radar over HTTP: signal counts, the signals kept without an account, and the webhook
sources that send them (`dtem signals …`, `dtem source …`).

Counts and unmatched signals: manager, viewer or admin. Sources: admin only; a created
source's write key is in the answer once (only its hash is stored).

    curl -H "Authorization: Bearer $TOKEN" localhost:8000/signals/stats
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from dtem.domain.signals import SignalRecord
from dtem.domain.store_radar import SignalSource
from dtem.entrypoints.api.callers import ReaderDep, actor
from dtem.entrypoints.api.deps import AdminDep, ContainerDep
from dtem.entrypoints.api.pagination import Page, PageDep
from dtem.services.signals import reports, sources

router = APIRouter(tags=["signals"])


class StatsOut(BaseModel):
    total: int
    superseded: int
    by_type: dict[str, int]
    unknown_events: dict[str, int] = Field(description="event names stored as type other")
    unmatched: dict[str, int] = Field(description="signals without an account, by reason")


class UnmatchedOut(BaseModel):
    id: int
    event_id: str
    account_key: str
    key_kind: str
    reason: str | None
    type: str
    event_name: str | None
    source: str
    occurred_at: datetime

    @classmethod
    def of(cls, row: tuple[int, SignalRecord]) -> UnmatchedOut:
        i, r = row
        return cls(
            id=i, event_id=r.event_id, account_key=r.account_key, key_kind=r.key_kind,
            reason=r.unmatched_reason, type=r.type, event_name=r.event_name, source=r.source,
            occurred_at=r.occurred_at,
        )  # fmt: skip


class SourceOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, s: SignalSource) -> SourceOut:
        return cls(id=s.id or 0, name=s.name, created_at=s.created_at, revoked_at=s.revoked_at)


class SourceIn(BaseModel):
    name: str = Field(min_length=1, max_length=128, examples=["website"])


class SourceCreatedOut(BaseModel):
    id: int
    name: str
    write_key: str = Field(description="shown this once: only its hash is stored")


@router.get("/signals/stats", response_model=StatsOut)
def signal_stats(c: ContainerDep, _t: ReaderDep) -> StatsOut:
    """Signals by type, unknown event names and unmatched reasons (`dtem signals stats`)."""
    s = reports.signal_stats(c.ledger)
    return StatsOut(
        total=s.total, superseded=s.superseded, by_type=s.by_type,
        unknown_events=s.unknown_events, unmatched=s.unmatched,
    )  # fmt: skip


@router.get("/signals/unmatched", response_model=Page[UnmatchedOut])
def unmatched(c: ContainerDep, _t: ReaderDep, page: PageDep) -> Page[UnmatchedOut]:
    """Signals kept without an account, oldest first, with the reason (`dtem signals
    unmatched`); they attach by themselves when the account is imported."""
    found = reports.unmatched_signals(c.ledger, page.after(int), page.fetch)
    return page.of(found, key=lambda row: row[0], item=UnmatchedOut.of)


@router.get("/sources", response_model=Page[SourceOut])
def list_sources(c: ContainerDep, _t: AdminDep, page: PageDep) -> Page[SourceOut]:
    """Webhook sources by id: names and dates, never the keys (`dtem source list`)."""
    found = sources.list_sources(c.ledger, page.after(int), page.fetch)
    return page.of(found, key=lambda s: s.id or 0, item=SourceOut.of)


@router.post("/sources", response_model=SourceCreatedOut, status_code=201)
def create_source(body: SourceIn, c: ContainerDep, token: AdminDep) -> SourceCreatedOut:
    """Create a webhook source (`dtem source create`); its write key is shown once."""
    source_id, key = sources.create_source(c.ledger, c.clock, body.name, actor(token))
    return SourceCreatedOut(id=source_id, name=body.name.strip(), write_key=key)


@router.post("/sources/{name}/revoke", response_model=SourceOut)
def revoke_source(name: str, c: ContainerDep, token: AdminDep) -> SourceOut:
    """Revoke a source's write key: its calls get 401 from now on (`dtem source revoke`)."""
    sources.revoke_source(c.ledger, c.clock, name, actor(token))
    return SourceOut.of(sources.source_named(c.ledger, name))
