"""Compensation over HTTP: statements (own, team or all, by role) and comp plans.

`GET /comp/statements/{rep}/{period}`: a rep token only its own (another rep's → 403);
a manager any rep, or only its team's when the token's subject names a team (a `pod`);
admin any; agents and viewers none. `GET /comp/plans` for any token; `POST /comp/plans`
(admin) stores a plan or answers 422 with every reason it was refused.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dtem.entrypoints.api.deps import AdminDep, ContainerDep, TokenDep
from dtem.services.comp import plans, statements
from dtem.services.comp.presenters import plan_json, statement_json

router = APIRouter(prefix="/comp", tags=["compensation"])


@router.get("/statements/{rep}/{period}")
def get_statement(rep: str, period: str, c: ContainerDep, token: TokenDep) -> dict[str, Any]:
    """A rep's commission lines in a period (YYYY-MM), with totals and the lock."""
    viewer = statements.Viewer(token.role, token.subject)
    return statement_json(statements.statement(c.ledger, rep, period, viewer))


@router.get("/plans")
def list_plans(c: ContainerDep, _t: TokenDep) -> dict[str, Any]:
    """Stored comp plan versions and the one in force today."""
    listing = plans.list_plans(c.ledger, c.clock)
    default = listing.pending_default
    return {
        "in_force": listing.in_force,
        "plans": [plan_json(p) for p in listing.plans],
        "pending_default": default.to_dict() if default else None,
    }


@router.post("/plans", status_code=201)
def store_plan(document: dict[str, Any], c: ContainerDep, token: AdminDep) -> dict[str, Any]:
    """Validate and schedule a comp plan document (422 lists every problem)."""
    note = str(document.pop("note", ""))
    stored = plans.store_plan(c.ledger, c.clock, document, f"token:{token.id}", note)
    return plan_json(stored)
