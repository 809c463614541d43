"""The policy page (admins change it; managers and viewers read it) and the manager page.

Every change calls the service the API calls for it (`activate_policy`,
`rollback_policy`, `preview_policy`, `reassign_lease`) and is audited under the session's
token, as an API call is. Forms carry the session's CSRF token.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from dtem.entrypoints.api.deps import ContainerDep
from dtem.entrypoints.web.render import HtmlRoute, page
from dtem.entrypoints.web.session import Session, form_for, page_for
from dtem.services import dashboard, governance, leases, pilots
from dtem.services.preview import preview_policy

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)

Reason = Annotated[str, Form(max_length=500)]
PolicyReader = Annotated[Session, page_for("manager", "viewer")]
AdminForm = Annotated[Session, form_for()]
ManagerPage = Annotated[Session, page_for("manager")]
ManagerForm = Annotated[Session, form_for("manager")]
Version = Annotated[int, Form(ge=1)]


def _back(path: str, message: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?done={quote(message)}", status_code=303)


@router.get("/ui/policy")
def policy_page(
    request: Request,
    c: ContainerDep,
    session: PolicyReader,
    done: Annotated[str, Query(max_length=200)] = "",
    after: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """The versions a page at a time (oldest first, keyset by version), the active one's
    settings, and (admins) the forms that change it."""
    active = governance.ensure_policy(c.ledger, c.clock)
    versions = governance.list_policies(c.ledger, after, dashboard.PAGE_SIZE + 1)
    more = len(versions) > dashboard.PAGE_SIZE
    versions = versions[: dashboard.PAGE_SIZE]
    return page(
        request, "policy.html", session, active=active, versions=versions, done=done,
        document=active.stored.to_dict(), next_after=versions[-1].version if more else None,
    )  # fmt: skip


@router.get("/ui/policy/diff")
def policy_diff(
    request: Request,
    c: ContainerDep,
    session: PolicyReader,
    a: Annotated[int, Query(ge=1)],
    b: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Every field that differs from version `a` to `b` (default: the active one)."""
    diff = governance.diff_policies(c.ledger, a, b)
    return page(request, "_diff.html", session, diff=diff)


@router.post("/ui/policy/preview")
def policy_preview(
    request: Request, c: ContainerDep, session: AdminForm, version: Version
) -> Response:
    """What activating `version` would change now; writes nothing."""
    from dtem.bootstrap import batch_scorer  # the batch engine loads on first use

    preview = preview_policy(c.ledger, version, batch_scorer("duckdb"), c.clock, 10)
    return page(request, "_preview.html", session, preview=preview)


@router.post("/ui/policy/activate")
def policy_activate(c: ContainerDep, session: AdminForm, version: Version) -> Response:
    active = governance.activate_policy(c.ledger, version, c.clock, session.actor)
    return _back("/ui/policy", f"version {active.version} is active")


@router.post("/ui/policy/rollback")
def policy_rollback(c: ContainerDep, session: AdminForm, reason: Reason = "") -> Response:
    active = governance.rollback_policy(c.ledger, c.clock, session.actor, reason)
    return _back("/ui/policy", f"rolled back: version {active.version} is active")


@router.get("/ui/team")
def team_page(
    request: Request,
    c: ContainerDep,
    session: ManagerPage,
    pilot: Annotated[str | None, Query(max_length=200)] = None,
    done: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Each rep's load, the reassign form, and a pilot's report (pod against the floor)."""
    team = session.token.subject if session.role == "manager" else None
    load = dashboard.capacity_now(c.ledger, team)
    running = pilots.list_pilots(c.ledger)
    report = pilots.pilot_report(c.ledger, c.clock, pilot) if pilot else None
    return page(
        request, "team.html", session, load=load, team=team, pilots=running, report=report,
        done=done,
    )  # fmt: skip


@router.post("/ui/leases/{lease_id}/reassign")
def reassign(
    lease_id: int,
    c: ContainerDep,
    session: ManagerForm,
    to_rep: Annotated[str, Form(min_length=1, max_length=200)],
    reason: Annotated[str, Form(min_length=1, max_length=500)],
) -> Response:
    """Move a lease to another rep with a reason (audited); back to the new rep's queue."""
    new = leases.reassign_lease(
        c.ledger, c.clock, lease_id, to_rep.strip(), reason.strip(), session.actor
    )
    return _back(f"/ui/reps/{quote(to_rep.strip())}", f"lease {lease_id} → lease {new.id}")
