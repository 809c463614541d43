"""The lease state machine: `decide(lease, command, policy) -> events`, `evolve(lease, event)`.

A lease lives `granted → (advanced …) → won | lost | expired | revoked | released |
reassigned`. Possession is contingent on progression: an advance (a first opportunity,
or a later stage in the policy's order) extends the lease by one sprint from the advance;
a won or lost stage closes it; a sprint without an advance ends it (`ExpireLease`:
revoked, or expired back to the pool). Each transition makes the next `Lease.version`.
Pure: no I/O, time is in the command.

>>> from datetime import UTC, datetime
>>> from dtem.domain.policy import default_policy
>>> t0 = datetime(2027, 1, 4, tzinfo=UTC)
>>> (granted,) = decide(None, GrantLease(1, 7, t0, 72.0, 3, "crossed_up", "router"),
...                     default_policy())
>>> lease = evolve(None, granted)
>>> (lease.state.value, (lease.expires_at - t0).days)
('granted', 30)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from dtem.domain.errors import LeaseConflict, LeaseTransitionInvalid
from dtem.domain.model import Lease, LeaseState
from dtem.domain.policy import Policy


# --- commands -------------------------------------------------------------------------
@dataclass(frozen=True)
class GrantLease:
    account_id: int
    rep_id: int
    at: datetime
    score: float
    policy_version: int
    reason: str
    actor: str


@dataclass(frozen=True)
class RecordAdvance:
    """An opportunity on the leased account reached `stage` (previous None = first one)."""

    at: datetime
    stage: str
    previous_stage: str | None
    policy_version: int
    actor: str
    reason: str = ""


@dataclass(frozen=True)
class ExpireLease:
    """The review found the sprint over. `back_to_pool`: the score fell below the threshold."""

    at: datetime
    back_to_pool: bool
    policy_version: int
    actor: str = "review"


@dataclass(frozen=True)
class ReleaseLease:
    at: datetime
    reason: str
    policy_version: int
    actor: str


@dataclass(frozen=True)
class ReassignLease:
    at: datetime
    to_rep_id: int
    reason: str
    policy_version: int
    actor: str


LeaseCommand = GrantLease | RecordAdvance | ExpireLease | ReleaseLease | ReassignLease


# --- events ---------------------------------------------------------------------------
@dataclass(frozen=True)
class LeaseEvent:
    """Common fields. `kind` is what `lease_events.kind` stores."""

    at: datetime
    actor: str
    reason: str
    policy_version: int

    kind = "event"

    @property
    def ends_as(self) -> LeaseState | None:
        """The final state this event puts the lease in (None: still active)."""
        return _ENDS.get(self.kind)


@dataclass(frozen=True)
class LeaseGranted(LeaseEvent):
    account_id: int = 0
    rep_id: int = 0
    score: float = 0.0
    expires_at: datetime | None = None
    kind = "granted"


@dataclass(frozen=True)
class LeaseAdvanced(LeaseEvent):
    stage: str = ""
    expires_at: datetime | None = None
    kind = "advanced"


@dataclass(frozen=True)
class LeaseWon(LeaseEvent):
    kind = "won"


@dataclass(frozen=True)
class LeaseLost(LeaseEvent):
    kind = "lost"


@dataclass(frozen=True)
class LeaseExpired(LeaseEvent):
    """No advance in the sprint and the score fell below the threshold: back to the pool."""

    kind = "expired"


@dataclass(frozen=True)
class LeaseRevoked(LeaseEvent):
    """Taken away (no advance in the sprint, or by a manager): the rep is cooled off."""

    kind = "revoked"


@dataclass(frozen=True)
class LeaseReleased(LeaseEvent):
    kind = "released"


@dataclass(frozen=True)
class LeaseReassigned(LeaseEvent):
    to_rep_id: int = 0
    kind = "reassigned"


_ENDS = {
    "won": LeaseState.WON,
    "lost": LeaseState.LOST,
    "expired": LeaseState.EXPIRED,
    "revoked": LeaseState.REVOKED,
    "released": LeaseState.RELEASED,
    "reassigned": LeaseState.REASSIGNED,
}
COOLING_STATES = (LeaseState.REVOKED, LeaseState.EXPIRED)  # states that cool the rep off


# --- decide ---------------------------------------------------------------------------
def decide(lease: Lease | None, cmd: LeaseCommand, policy: Policy) -> list[LeaseEvent]:
    """The events a command causes on the account's current lease (None = no active lease).

    Raises `LeaseConflict` (grant on a leased account) or `LeaseTransitionInvalid`.
    """
    if isinstance(cmd, GrantLease):
        return _grant(lease, cmd, policy)
    if lease is None or not lease.state.is_active:
        raise LeaseTransitionInvalid(f"{type(cmd).__name__}: the lease is not active")
    if isinstance(cmd, RecordAdvance):
        return _advance(lease, cmd, policy)
    if isinstance(cmd, ExpireLease):
        return _expire(lease, cmd)
    if isinstance(cmd, ReassignLease):
        if cmd.to_rep_id == lease.rep_id:
            raise LeaseTransitionInvalid("reassign: the lease is already held by that rep")
        return [LeaseReassigned(cmd.at, cmd.actor, cmd.reason, cmd.policy_version, cmd.to_rep_id)]
    return [LeaseReleased(cmd.at, cmd.actor, cmd.reason, cmd.policy_version)]


def _grant(lease: Lease | None, cmd: GrantLease, policy: Policy) -> list[LeaseEvent]:
    if lease is not None and lease.state.is_active:
        raise LeaseConflict(str(cmd.account_id), f"lease {lease.id} is {lease.state.value}")
    expires = cmd.at + timedelta(days=policy.sprint_days)
    return [
        LeaseGranted(
            cmd.at,
            cmd.actor,
            cmd.reason,
            cmd.policy_version,
            cmd.account_id,
            cmd.rep_id,
            cmd.score,
            expires,
        )
    ]


def _advance(lease: Lease, cmd: RecordAdvance, policy: Policy) -> list[LeaseEvent]:
    """Won/lost stages close the lease; a first or later stage extends it; else nothing."""
    args = (cmd.at, cmd.actor, cmd.reason or f"stage {cmd.stage}", cmd.policy_version)
    if cmd.stage in policy.won_stages:
        return [LeaseWon(*args)]
    if cmd.stage in policy.lost_stages:
        return [LeaseLost(*args)]
    if cmd.stage not in policy.stages:
        raise LeaseTransitionInvalid(f"stage {cmd.stage!r} is not in the policy's stages")
    later = cmd.previous_stage is None or (
        cmd.previous_stage in policy.stages
        and policy.stage_rank(cmd.stage) > policy.stage_rank(cmd.previous_stage)
    )
    if not later:  # the same or an earlier stage is no progress
        return []
    expires = max(lease.expires_at, cmd.at + timedelta(days=policy.sprint_days))
    return [LeaseAdvanced(*args, cmd.stage, expires)]


def _expire(lease: Lease, cmd: ExpireLease) -> list[LeaseEvent]:
    if cmd.at < lease.expires_at:
        return []  # still inside its sprint: nothing to do (keeps the review idempotent)
    if cmd.back_to_pool:
        reason = "no advance within the sprint; score below threshold: back to the pool"
        return [LeaseExpired(cmd.at, cmd.actor, reason, cmd.policy_version)]
    reason = "no advance within the sprint"
    return [LeaseRevoked(cmd.at, cmd.actor, reason, cmd.policy_version)]


# --- evolve ---------------------------------------------------------------------------
def evolve(lease: Lease | None, event: LeaseEvent) -> Lease:
    """The lease after an event, one version on. A grant builds version 1 with id 0 (the
    ledger numbers it)."""
    if isinstance(event, LeaseGranted):
        assert event.expires_at is not None
        return Lease(
            0,
            event.account_id,
            event.rep_id,
            LeaseState.GRANTED,
            event.at,
            event.expires_at,
            event.score,
            event.policy_version,
            None,
            event.reason,
        )
    if lease is None:
        raise LeaseTransitionInvalid(f"{event.kind}: no lease to apply it to")
    step = lease.version + 1  # every transition makes the next version
    if isinstance(event, LeaseAdvanced):
        assert event.expires_at is not None
        return replace(lease, state=LeaseState.ADVANCED, expires_at=event.expires_at, version=step)
    final = event.ends_as
    assert final is not None
    return replace(lease, state=final, ended_at=event.at, reason=event.reason, version=step)
