"""Real-time routing over the whole rep roster at once, on arrays.

A decision compares one account with every rep (hundreds). `RepRoster` holds what changes
rarely (identity, segments, languages, capacity, active) as arrays plus per-segment and
per-language masks, so an adapter can keep one per process while the reps are unchanged;
`RosterLoad` holds what changes per decision (loads, records, leave, cooldowns, awards).
`route_roster` applies the account rules, then every rep rule of `dtem.domain.eligibility`
to all reps in one numpy pass, and ranks the eligible reps by `dtem.domain.expected_value`.

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

from dtem.domain.capacity import NO_AWARD, capacities_in_force
from dtem.domain.eligibility import (
    REASONS,
    account_language,
    account_refusal,
    exclusion_codes,
    reason,
    segment_matches,
    speaks,
)
from dtem.domain.expected_value import expected_value
from dtem.domain.model import Rep, segment_of
from dtem.domain.policy import Policy
from dtem.domain.routing import (
    TOP_N,
    Candidate,
    RepFacts,
    RoutingDecision,
    RoutingRequest,
    exclusion_summary,
)
from dtem.domain.win_rate import win_rate_multiplier

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


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
            spoken = [speaks(langs, language) for langs in self.languages]
            self._masks[key] = np.array(spoken, dtype=np.bool_)
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
    req: RoutingRequest,
    roster: RepRoster,
    load: RosterLoad,
    policy: Policy,
    pod: frozenset[int] = frozenset(),
) -> RoutingDecision:
    """Pick the best eligible rep, or say why the account goes to overflow or the pool.

    `pod`: the rep ids of a running pilot; when given, only they may get the account
    (the rest of the floor keeps its static owners).
    """
    segment = segment_of(req.account.employees, req.account.industry)
    score = req.score.score if req.score is not None else None
    hand_raise = req.trigger == "hand_raise"
    refusal = account_refusal(req.account, score, policy, hand_raise, req.has_active_lease)
    if refusal is not None:
        return RoutingDecision(refusal[0], refusal[1], segment)
    language = account_language(req.account)
    q = win_rate_multiplier(load.wins, load.losses, policy)
    capacity = capacities_in_force(roster.capacity, load.awarded, policy)
    codes = roster_exclusions(roster, load, segment, language, capacity, q, req.min_velocity)
    if pod:
        codes = outside_pod(codes, roster.ids, pod)
    exclusions = _exclusions(roster, codes, language)
    eligible = np.flatnonzero(codes == 0)
    if eligible.size == 0:
        why = "no eligible rep: " + exclusion_summary(exclusions)
        return RoutingDecision("overflow", why, segment, None, (), exclusions)
    top = _top(req, roster, load, q, capacity, eligible)
    why = f"{req.trigger}: best EV {top[0].ev:,.0f} among {eligible.size} eligible reps"
    return RoutingDecision("leased", why, segment, top[0], top, exclusions)


def roster_exclusions(
    roster: RepRoster,
    load: RosterLoad,
    segment: str,
    language: str | None,
    capacity: IntArray,
    q: npt.NDArray[np.float64] | None = None,
    min_q: float | None = None,
) -> IntArray:
    """The eligibility code of every rep for an account of `segment` and `language`."""
    everyone = np.ones(len(roster.ids), dtype=np.bool_)
    return exclusion_codes(
        roster.active,
        load.on_leave,
        roster.segment_mask(segment),
        roster.language_mask(language) if language is not None else everyone,
        load.active_leases,
        capacity,
        load.cooling,
        q <= min_q if q is not None and min_q is not None else None,
    )


POD_CODE = REASONS.index("outside_pilot_pod") + 1


def outside_pod(codes: IntArray, rep_ids: IntArray, pod: frozenset[int]) -> IntArray:
    """Otherwise eligible reps outside a running pilot's pod get `outside_pilot_pod`."""
    outside = ~np.isin(rep_ids, np.fromiter(pod, dtype=np.int64, count=len(pod)))
    marked: IntArray = np.where((codes == 0) & outside, POD_CODE, codes).astype(np.int64)
    return marked


def _exclusions(roster: RepRoster, codes: IntArray, language: str | None) -> dict[str, str]:
    names = [reason(k, language) for k in range(1, len(REASONS) + 1)]
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
    p, value = (req.score.propensity, req.score.value) if req.score is not None else (0.0, 0.0)
    ev, free = expected_value(p, value, q[eligible]), (capacity - load.active_leases)[eligible]
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
    roster = roster_of([f.rep for f in reps])
    load = RosterLoad(
        _ints(f.active_leases for f in reps),
        _ints(f.wins for f in reps),
        _ints(f.losses for f in reps),
        _bools(f.on_leave for f in reps),
        _bools(f.cooling for f in reps),
        _ints(awards.get(f.rep.id or 0, NO_AWARD) for f in reps),
    )
    return roster, load


def roster_of(reps: Sequence[Rep]) -> RepRoster:
    """The roster of some reps, ordered by id (the rebalance and tests build it so)."""
    ordered = sorted(reps, key=lambda r: r.id or 0)
    return RepRoster(
        _ints(r.id or 0 for r in ordered),
        tuple(r.external_id for r in ordered),
        _bools(r.active for r in ordered),
        _ints(r.capacity for r in ordered),
        tuple(r.segments for r in ordered),
        tuple(r.languages for r in ordered),
    )
