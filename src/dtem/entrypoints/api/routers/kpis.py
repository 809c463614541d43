"""KPIs, the TAM audit and pilot reports over HTTP (read-only; manager, viewer or admin).

`GET /kpis?from=2027-01-01&to=2027-04-01`: every KPI, static baseline beside DTEM.
`GET /tam-audit?top=20&at=2027-04-01`: tiers, phantom equity, dead zones, the top accounts.
`GET /pilots/{name}/report`: the pod against the floor with bootstrap 95% intervals.
A bad date is 422, an unknown pilot 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from dtem.domain.ports import TokenRecord
from dtem.entrypoints.api.deps import ContainerDep, require_role
from dtem.services import kpis, pilots, tam_audit
from dtem.services.kpi_presenters import audit_json, kpi_json, parse_when, window

router = APIRouter(tags=["kpis"])

ReaderDep = Annotated[TokenRecord, Depends(require_role("manager", "viewer"))]


@router.get("/kpis")
def get_kpis(
    c: ContainerDep,
    _t: ReaderDep,
    start: Annotated[str | None, Query(alias="from", examples=["2027-01-01"])] = None,
    end: Annotated[str | None, Query(alias="to", examples=["2027-04-01"])] = None,
) -> dict[str, Any]:
    """Every KPI over [from, to) (default: the 90 days up to now)."""
    since, to = window(start, end, c.clock(), ("from", "to"))
    return kpi_json(kpis.kpi_report(c.ledger, since, to))


@router.get("/tam-audit")
def get_tam_audit(
    c: ContainerDep,
    _t: ReaderDep,
    top: Annotated[int, Query(ge=1, le=1000)] = 20,
    at: Annotated[str | None, Query(examples=["2027-04-01"])] = None,
) -> dict[str, Any]:
    """The Phase-1 TAM audit as of `at` (default now): every account's tier, the flags."""
    when = parse_when(at, "at") if at else c.clock()
    return audit_json(tam_audit.tam_audit(c.ledger, when), top)


@router.get("/pilots/{name}/report")
def get_pilot_report(name: str, c: ContainerDep, _t: ReaderDep) -> pilots.PilotReport:
    """The pilot's pod against the floor since it started."""
    return pilots.pilot_report(c.ledger, c.clock, name)
