"""The audit log over HTTP: entries newest first, filtered (`dtem audit list`). Admin only;
`GET /audit/verify` (in the governance router) checks the hash chain.

    curl -H "Authorization: Bearer $ADMIN" 'localhost:8000/audit?action=policy.activate'
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from dtem.domain.audit import AuditEntry
from dtem.domain.clock import as_utc
from dtem.entrypoints.api.deps import AdminDep, ContainerDep
from dtem.entrypoints.api.pagination import IsoTime, Page, PageDep
from dtem.services import audit

router = APIRouter(tags=["audit"])


class AuditEntryOut(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    payload: dict[str, Any]
    hash: str

    @classmethod
    def of(cls, e: AuditEntry) -> AuditEntryOut:
        return cls(seq=e.seq, at=e.at, actor=e.actor, action=e.action, payload=e.payload,
                   hash=e.hash)  # fmt: skip


@router.get("/audit", response_model=Page[AuditEntryOut])
def list_entries(
    c: ContainerDep,
    _t: AdminDep,
    page: PageDep,
    action: str | None = Query(None, examples=["policy.activate"]),
    actor: str | None = Query(None, description="e.g. cli, or token:7"),
    since: IsoTime | None = Query(None, description="Only entries at or after this time."),
) -> Page[AuditEntryOut]:
    """Audit entries, newest first, of one action and/or actor."""
    when = as_utc(since) if since else None
    found = audit.list_entries(c.ledger, action, actor, when, page.after(int), page.fetch)
    return page.of(found, key=lambda e: e.seq, item=AuditEntryOut.of)
