"""Equity Scores over HTTP: an account's score now, and why.

Any valid token may read scores. Example:

    curl -H "Authorization: Bearer $TOKEN" localhost:8000/accounts/001A/score
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from dtem.entrypoints.api.deps import ContainerDep, TokenDep
from dtem.entrypoints.api.pagination import IsoTime
from dtem.services import accounts, governance
from dtem.services.scoring import Explanation, explain

router = APIRouter(tags=["scores"])


class ScoreOut(BaseModel):
    account: str
    as_of: datetime
    score: float
    equity: float
    propensity: float
    velocity: float
    cost: float
    policy_version: int
    economics_version: int | None
    last_recorded: dict[str, Any] | None


def _explain(c: ContainerDep, external_id: str, as_of: datetime | None) -> Explanation:
    governance.ensure_policy(c.ledger, c.clock)
    with c.ledger.transaction() as tx:
        return explain(tx, external_id, governance.active_policy(tx), as_of or c.clock())


@router.get("/accounts/{external_id}/score", response_model=ScoreOut)
def account_score(
    external_id: str,
    c: ContainerDep,
    _t: TokenDep,
    as_of: IsoTime | None = Query(None, description="Score at this time (default: now)."),
) -> ScoreOut:
    """The account's Equity Score now (decayed to this moment) and its last recorded one."""
    e = _explain(c, external_id, as_of)
    d = e.as_dict()
    return ScoreOut(**{k: d[k] for k in ScoreOut.model_fields})


@router.get("/accounts/{external_id}/explain")
def account_explain(
    external_id: str,
    c: ContainerDep,
    _t: TokenDep,
    as_of: IsoTime | None = Query(None, description="Explain at this time (default: now)."),
) -> dict[str, Any]:
    """S, E, P, V, C, every logit term, the five strongest signals and the policy version;
    `account`: the tier and why, do-not-contact, the lease and what routed it."""
    explained = _explain(c, external_id, as_of).as_dict()
    view = accounts.show_account(c.ledger, c.clock, external_id)
    return explained | {"account_status": accounts.account_json(view)}
