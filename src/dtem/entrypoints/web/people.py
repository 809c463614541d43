"""A rep's queue and an account's story.

A rep sees only their own queue: another rep's answers 404, as an unknown rep does (the
API answers a rep asking about another rep's lease the same way). Managers, viewers and
admins see any rep's queue; a rep's statement follows the API's rules for statements.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from dtem.domain.comp_schedule import period_of
from dtem.domain.errors import Forbidden
from dtem.entrypoints.api.deps import ContainerDep
from dtem.entrypoints.web import charts
from dtem.entrypoints.web.auth import home_of
from dtem.entrypoints.web.pool import When, clock_at
from dtem.entrypoints.web.render import HtmlRoute, page
from dtem.entrypoints.web.session import Session, SessionDep, page_for
from dtem.services import account_story, directory, rep_queue
from dtem.services.comp import statements

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)

QUEUE_READERS = ("manager", "viewer", "rep")


@router.get("/ui/me")
def me(session: SessionDep) -> Response:
    """Where the menu's first link goes: a rep's queue, or the pool."""
    return RedirectResponse(home_of(session.role, session.token.subject), status_code=303)


@router.get("/ui/reps/{rep}")
def rep_page(
    rep: str,
    request: Request,
    c: ContainerDep,
    session: Annotated[Session, page_for(*QUEUE_READERS)],
    at: When = None,
    before: Annotated[int | None, Query(ge=1)] = None,
    period: Annotated[str | None, Query(max_length=7, pattern=r"^\d{4}-\d{2}$")] = None,
    done: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Leases with days left and what would advance them, recent losses, the statement."""
    own = (session.token.subject or "") if session.role == "rep" else None
    clock = clock_at(c, at)
    queue = rep_queue.rep_queue(c.ledger, clock, rep, own, before)
    period = period or period_of(clock().date())
    viewer = statements.Viewer(session.role, session.token.subject)
    try:
        statement: statements.Statement | None = statements.statement(c.ledger, rep, period, viewer)
        refused = ""
    except Forbidden as exc:  # a viewer's role, or another team's rep: the rest still shows
        statement, refused = None, str(exc)
    return page(
        request, "rep.html", session, queue=queue, statement=statement, refused=refused,
        period=period, at=at or "", done=done,
        reps=directory.list_reps(c.ledger) if session.role in ("admin", "manager") else [],
    )  # fmt: skip


@router.get("/ui/accounts/{external_id}")
def account_page(
    external_id: str,
    request: Request,
    c: ContainerDep,
    session: Annotated[Session, page_for("manager", "viewer", "rep", "agent")],
    at: When = None,
) -> Response:
    """Score over time and its signals, every lease and why it moved, routing decisions."""
    story = account_story.account_story(c.ledger, clock_at(c, at), external_id)
    line = charts.score_line(story.history, story.threshold)
    return page(request, "account.html", session, story=story, line=line)
