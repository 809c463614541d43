"""A rep's notification mutes over HTTP: a rep token its own, a manager any rep's.

curl -X PUT -H "Authorization: Bearer $REP" localhost:8000/notifications/R1/mutes/lease.granted
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from dtem.domain.errors import Forbidden
from dtem.domain.ports import TokenRecord
from dtem.entrypoints.api.callers import RepOrManagerDep, actor, own_rep
from dtem.entrypoints.api.deps import ContainerDep
from dtem.services import notification_mutes

router = APIRouter(tags=["notifications"])


class MutesOut(BaseModel):
    rep: str
    muted: list[str] = Field(description="Kinds kept from the rep's Slack and digest e-mail")


def _own(token: TokenRecord, rep: str) -> None:
    """A rep token acts on its own rep only."""
    if token.role == "rep" and own_rep(token) != rep:
        raise Forbidden(f"a rep token may change only its own notifications ({own_rep(token)})")


@router.get("/notifications/{rep}/mutes", response_model=MutesOut)
def list_mutes(rep: str, c: ContainerDep, token: RepOrManagerDep) -> MutesOut:
    """The kinds this rep muted."""
    _own(token, rep)
    return MutesOut(rep=rep, muted=notification_mutes.muted_kinds(c.ledger, rep))


@router.put("/notifications/{rep}/mutes/{kind}", response_model=MutesOut)
def add_mute(rep: str, kind: str, c: ContainerDep, token: RepOrManagerDep) -> MutesOut:
    """Mute one kind (`lease.granted`, …, `rep.digest`); muting it again changes nothing."""
    _own(token, rep)
    kinds = notification_mutes.mute(c.ledger, c.clock, rep, kind, actor(token))
    return MutesOut(rep=rep, muted=kinds)


@router.delete("/notifications/{rep}/mutes/{kind}", response_model=MutesOut)
def remove_mute(rep: str, kind: str, c: ContainerDep, token: RepOrManagerDep) -> MutesOut:
    """Let a muted kind through again."""
    _own(token, rep)
    kinds = notification_mutes.unmute(c.ledger, c.clock, rep, kind, actor(token))
    return MutesOut(rep=rep, muted=kinds)
