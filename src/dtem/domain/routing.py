"""Real-time routing's vocabulary: the request, the facts, the candidates and the decision.

The rules live in one module each (`eligibility`, `expected_value`, `win_rate`,
`capacity`); `dtem.domain.roster.route_roster` applies them to the whole rep roster at
once. A decision keeps the top five candidates by EV (ties to the freest rep, then the
lowest id) and, for every other rep, why it was excluded.

>>> exclusion_summary({"R1": "inactive", "R2": "on_leave", "R3": "inactive"})
'2 inactive, 1 on_leave'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dtem.domain.model import Account, Rep

TOP_N = 5
TRIGGERS = (
    "crossed_up", "hand_raise", "revocation", "manual", "overflow_retry", "threshold_lowered",
)  # fmt: skip


@dataclass(frozen=True)
class ScoreFacts:
    """The account's latest score row; `value` = expected deal value (money)."""

    score: float
    propensity: float
    value: float


@dataclass(frozen=True)
class RepFacts:
    """What routing knows about one rep at decision time (tests and the memory ledger)."""

    rep: Rep
    active_leases: int
    on_leave: bool = False
    cooling: bool = False  # revoked/expired on this account within the cooldown
    wins: int = 0  # in the account's segment
    losses: int = 0


@dataclass(frozen=True)
class RoutingRequest:
    account: Account
    trigger: str
    score: ScoreFacts | None
    has_active_lease: bool = False
    min_velocity: float | None = None  # after a revocation: only reps faster than this


@dataclass(frozen=True)
class Candidate:
    rep_id: int
    rep_external_id: str
    ev: float
    q: float
    free_capacity: int


@dataclass(frozen=True)
class RoutingDecision:
    outcome: str  # leased | overflow | pool | skipped | already_leased
    reason: str
    segment: str
    chosen: Candidate | None = None
    candidates: tuple[Candidate, ...] = ()
    exclusions: dict[str, str] = field(default_factory=dict)  # rep external id -> reason


def exclusion_summary(exclusions: dict[str, str]) -> str:
    """How many reps each reason excluded (the reason of an overflow)."""
    counts: dict[str, int] = {}
    for why in exclusions.values():
        counts[why] = counts.get(why, 0) + 1
    return ", ".join(f"{n} {why}" for why, n in sorted(counts.items())) or "no reps"
