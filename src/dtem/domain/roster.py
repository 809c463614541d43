"""Routing over the whole rep roster at once: the same rules as `route_account`, on arrays.

A decision compares one account with every rep (hundreds). `RepRoster` holds what changes
rarely (identity, segments, languages, capacity, active) as arrays plus per-segment and
per-language masks, so an adapter can keep one per process while the reps are unchanged;
`RosterLoad` holds what changes per decision (loads, records, leave, cooldowns, awards).
`route_roster` gives exactly the decision `route_account` gives on the same facts.

>>> from dtem.domain.model import Account, Rep
>>> from dtem.domain.policy import default_policy
>>> from dtem.domain.routing import RoutingRequest, ScoreFacts
>>> roster, load = from_facts([RepFacts(Rep("R1", "Rita", id=1), 3),
...                            RepFacts(Rep("R2", "Raj", active=False, id=2), 0)])
>>> acct = Account("A1", "Acme", employees=50, industry="Retail", id=1)
>>> d = route_roster(RoutingRequest(acct, "crossed_up", ScoreFacts(72.0, 0.3, 1e4)),
...                  roster, load, default_policy())
>>> d.chosen.rep_external_id if d.chosen else None, d.exclusions
('R1', {'R2': 'inactive'})
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from dtem.domain.model import segment_of
from dtem.domain.policy import Policy
from dtem.domain.routing import (
    TOP_N,
    Candidate,
    RepFacts,
    RoutingDecision,
    RoutingRequest,
    _account_refusal,
    _codes,
    _summary,
    account_language,
    segment_matches,
)

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
# Exclusion reasons in the order `route_account` checks them (code = index + 1).
REASONS = ("inactive", "on_leave", "segment", "language", "no_capacity", "cooldown")
SLOWER = "not_faster_than_revoked_rep"


@dataclass(frozen=True, eq=False)
class RepRoster:
    """Every rep by id (ascending): identity and rules. Immutable; masks memoised."""

    ids: IntArray
    external_ids: tuple[str, ...]
    active: BoolArray
    capacity: IntArray  # as set on the rep; 0 = the policy default
    segments: tuple[tuple[str, ...], ...]
    languages: tuple[tuple[str, ...], ...]
    _masks: dict[tuple[str, str], BoolArray] = field(default_factory=dict, repr=False)

    def index_of(self, rep_id: int) -> int:
        """Position of a rep in the arrays (ids are sorted)."""
        return int(np.searchsorted(self.ids, rep_id))

    def segment_mask(self, segment: str) -> BoolArray:
        """Reps allowed to work the segment (memoised: a roster sees few segments)."""
        key = ("segment", segment)
        if key not in self._masks:
            allowed = [segment_matches(s, segment) for s in self.segments]
            self._masks[key] = np.array(allowed, dtype=np.bool_)
        return self._masks[key]

    def language_mask(self, language: str) -> BoolArray:
        """Reps who speak the language (a rep without languages speaks any)."""
        key = ("language", language)
        if key not in self._masks:
            speaks = [not langs or language in _codes(langs) for langs in self.languages]
            self._masks[key] = np.array(speaks, dtype=np.bool_)
        return self._masks[key]


@dataclass(frozen=True)
class RosterLoad:
    """Per-decision facts, aligned with the roster's order."""

    active_leases: IntArray
    wins: IntArray  # in the account's segment
    losses: IntArray
    on_leave: BoolArray
    cooling: BoolArray  # revoked/expired on this account within the cooldown
    awarded: IntArray  # this quarter's awarded capacity; -1 = no award

    def with_load(self, index: int, active_leases: int) -> RosterLoad:
        """The same facts with one rep's load replaced (a recount under the rep lock)."""
        loads = self.active_leases.copy()
        loads[index] = active_leases
        return replace(self, active_leases=loads)


def route_roster(
    req: RoutingRequest, roster: RepRoster, load: RosterLoad, policy: Policy
) -> RoutingDecision:
    """Pick the best eligible rep, or say why the account goes to overflow or the pool."""
    segment = segment_of(req.account.employees, req.account.industry)
    refusal = _account_refusal(req, policy)
    if refusal is not None:
        return RoutingDecision(refusal[0], refusal[1], segment)
    language = account_language(req.account)
    q = win_rates(load.wins, load.losses, policy)
    capacity = effective_capacity(roster, load, policy)
    codes = _exclusion_codes(roster, load, segment, language, capacity)
    if req.min_velocity is not None:
        codes = np.where((codes == 0) & (q <= req.min_velocity), len(REASONS) + 1, codes)
    exclusions = _exclusions(roster, codes, language)
    eligible = np.flatnonzero(codes == 0)
    if eligible.size == 0:
        reason = "no eligible rep: " + _summary(exclusions)
        return RoutingDecision("overflow", reason, segment, None, (), exclusions)
    top = _top(req, roster, load, q, capacity, eligible)
    reason = f"{req.trigger}: best EV {top[0].ev:,.0f} among {eligible.size} eligible reps"
    return RoutingDecision("leased", reason, segment, top[0], top, exclusions)


def win_rates(wins: IntArray, losses: IntArray, policy: Policy) -> npt.NDArray[np.float64]:
    """`win_rate_multiplier` for every rep, with the same float operations."""
    a, b = policy.rep_prior_wins, policy.rep_prior_losses
    result: npt.NDArray[np.float64] = ((wins + a) / (wins + losses + a + b)) / (a / (a + b))
    return result


def effective_capacity(roster: RepRoster, load: RosterLoad, policy: Policy) -> IntArray:
    """A quarter's award replaces the rep's capacity; 0 falls back to the policy default."""
    cap = np.where(load.awarded >= 0, load.awarded, roster.capacity)
    return np.where(cap > 0, cap, policy.default_capacity).astype(np.int64)


def _exclusion_codes(
    roster: RepRoster, load: RosterLoad, segment: str, language: str | None, capacity: IntArray
) -> IntArray:
    everyone = np.ones(len(roster.ids), dtype=np.bool_)
    speaks = roster.language_mask(language) if language is not None else everyone
    checks = [
        ~roster.active,
        load.on_leave,
        ~roster.segment_mask(segment),
        ~speaks,
        load.active_leases >= capacity,
        load.cooling,
    ]
    # np.select takes the first true condition: the same order as `route_account`.
    codes: IntArray = np.select(checks, list(range(1, len(REASONS) + 1)), 0).astype(np.int64)
    return codes


def _exclusions(roster: RepRoster, codes: IntArray, language: str | None) -> dict[str, str]:
    names = (*REASONS[:3], f"language ({language})", *REASONS[4:], SLOWER)
    ext = roster.external_ids
    return {ext[i]: names[codes[i] - 1] for i in np.flatnonzero(codes).tolist()}


def _top(
    req: RoutingRequest,
    roster: RepRoster,
    load: RosterLoad,
    q: npt.NDArray[np.float64],
    capacity: IntArray,
    eligible: IntArray,
) -> tuple[Candidate, ...]:
    worth = req.score.propensity * req.score.value if req.score is not None else 0.0
    ev, free = worth * q[eligible], (capacity - load.active_leases)[eligible]
    order = np.lexsort((roster.ids[eligible], -free, -ev))[:TOP_N]
    return tuple(
        Candidate(
            int(roster.ids[eligible[k]]),
            roster.external_ids[eligible[k]],
            float(ev[k]),
            float(q[eligible[k]]),
            int(free[k]),
        )
        for k in order.tolist()
    )


def _ints(values: Iterable[int]) -> IntArray:
    return np.array(list(values), dtype=np.int64)


def _bools(values: Iterable[bool]) -> BoolArray:
    return np.array(list(values), dtype=np.bool_)


def from_facts(
    facts: Sequence[RepFacts], awarded: dict[int, int] | None = None
) -> tuple[RepRoster, RosterLoad]:
    """A roster and its load from per-rep facts (the in-memory ledger and tests use it)."""
    reps = sorted(facts, key=lambda f: f.rep.id or 0)
    awards = awarded or {}
    roster = RepRoster(
        _ints(f.rep.id or 0 for f in reps),
        tuple(f.rep.external_id for f in reps),
        _bools(f.rep.active for f in reps),
        _ints(f.rep.capacity for f in reps),
        tuple(f.rep.segments for f in reps),
        tuple(f.rep.languages for f in reps),
    )
    load = RosterLoad(
        _ints(f.active_leases for f in reps),
        _ints(f.wins for f in reps),
        _ints(f.losses for f in reps),
        _bools(f.on_leave for f in reps),
        _bools(f.cooling for f in reps),
        _ints(awards.get(f.rep.id or 0, -1) for f in reps),
    )
    return roster, load
