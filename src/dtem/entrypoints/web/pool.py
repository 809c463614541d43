"""The pool overview (`/`) and the KPIs page: managers, viewers and admins.

Both read as of `?at=` (a day or an ISO time; default now), so a ledger whose facts lie
ahead of the wall clock, such as the demo's simulated quarters, can be looked at too.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from dtem.domain.clock import Clock, FixedClock
from dtem.entrypoints.api.deps import ContainerDep
from dtem.entrypoints.web import charts
from dtem.entrypoints.web.auth import home_of
from dtem.entrypoints.web.render import HtmlRoute, page
from dtem.entrypoints.web.session import Session, page_for
from dtem.services import dashboard, kpis
from dtem.services.kpi_presenters import parse_when, window

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)

READERS = ("manager", "viewer")
PageNo = Annotated[int, Query(ge=1, le=100_000)]
When = Annotated[str | None, Query(max_length=40, examples=["2027-07-05"])]


def clock_at(c: ContainerDep, at: str | None) -> Clock:
    """The container's clock, or one fixed at `at` (a day or an ISO time)."""
    return FixedClock(parse_when(at, "at")) if at else c.clock


@router.get("/")
def pool(
    request: Request,
    c: ContainerDep,
    session: Annotated[Session, page_for(*READERS, "rep")],
    at: When = None,
    top: PageNo = 1,
    dead: PageNo = 1,
    overflow: PageNo = 1,
) -> Response:
    """Score histogram, tiers, dead zones, the overflow queue, λ and utilisation."""
    if session.role == "rep":
        return RedirectResponse(home_of(session.role, session.token.subject), status_code=303)
    view = dashboard.pool_overview(c.ledger, clock_at(c, at), top, dead, overflow)
    return page(
        request, "pool.html", session, view=view, at=at or "",
        histogram=charts.histogram(view.histogram, view.threshold),
    )  # fmt: skip


@router.get("/ui/kpis")
def kpi_page(
    request: Request,
    c: ContainerDep,
    session: Annotated[Session, page_for(*READERS)],
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> Response:
    """Every KPI of `dtem kpi`, static beside DTEM, and the lead-decay curve."""
    since, to = window(start, end, c.clock(), ("from", "to"))
    report = kpis.kpi_report(c.ledger, since, to)
    return page(
        request, "kpis.html", session, report=report, start=f"{since:%Y-%m-%d}",
        end=f"{to:%Y-%m-%d}", decay=charts.lead_decay(report.lead_decay),
        shares=charts.shares(report.rows),
    )  # fmt: skip
