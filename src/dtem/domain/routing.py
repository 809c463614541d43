"""Real-time routing: which rep should get one account now, and why every other rep did not.

`EV(a, r) = P(a) × value(a) × q_r(segment)`: `q_r` is the rep's win rate in the segment
divided by the prior mean, with a Beta(`rep_prior_wins`, `rep_prior_losses`) prior so that
a rep without history has q = 1 and one win in one deal does not make a star. Ties go to
the rep with the most free capacity. Pure: the service gathers the facts, this decides.

>>> from dtem.domain.model import Account, Rep
>>> from dtem.domain.policy import default_policy
>>> acct = Account("A1", "Acme", employees=50, industry="Retail", id=1)
>>> reps = [RepFacts(Rep("R1", "Rita", id=1), active_leases=3),
...         RepFacts(Rep("R2", "Raj", active=False, id=2), active_leases=0)]
>>> d = route_account(RoutingRequest(acct, "crossed_up", ScoreFacts(72.0, 0.3, 10_000.0)),
...                   reps, default_policy())
>>> d.outcome, d.chosen.rep_external_id if d.chosen else None, d.exclusions
('leased', 'R1', {'R2': 'inactive'})
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

from dtem.domain.model import Account, Rep, Tier, segment_of
from dtem.domain.policy import Policy

TOP_N = 5
TRIGGERS = ("crossed_up", "hand_raise", "revocation", "manual", "overflow_retry")

# Languages spoken by default in a country (ISO 3166 alpha-2 or English name), ISO 639-1.
COUNTRY_LANGUAGE: dict[str, str] = {
    "us": "en", "gb": "en", "uk": "en", "ie": "en", "au": "en", "nz": "en", "ca": "en",
    "de": "de", "at": "de", "fr": "fr", "be": "fr", "es": "es", "mx": "es", "ar": "es",
    "co": "es", "cl": "es", "it": "it", "pt": "pt", "br": "pt", "nl": "nl", "se": "sv",
    "no": "no", "dk": "da", "fi": "fi", "pl": "pl", "jp": "ja", "cn": "zh", "kr": "ko",
    "united states": "en", "usa": "en", "united kingdom": "en", "ireland": "en",
    "australia": "en", "canada": "en", "germany": "de", "austria": "de", "france": "fr",
    "spain": "es", "mexico": "es", "italy": "it", "portugal": "pt", "brazil": "pt",
    "netherlands": "nl", "sweden": "sv", "japan": "ja", "china": "zh",
}  # fmt: skip
LANGUAGE_NAMES: dict[str, str] = {
    "english": "en", "german": "de", "french": "fr", "spanish": "es", "italian": "it",
    "portuguese": "pt", "dutch": "nl", "swedish": "sv", "japanese": "ja", "chinese": "zh",
}  # fmt: skip


@dataclass(frozen=True)
class ScoreFacts:
    """The account's latest score row; `value` = expected deal value (money)."""

    score: float
    propensity: float
    value: float


@dataclass(frozen=True)
class RepFacts:
    """What routing knows about one rep at decision time."""

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


def win_rate_multiplier(wins: int, losses: int, policy: Policy) -> float:
    """q_r: the shrunk win rate over the prior mean (1.0 without history).

    >>> from dtem.domain.policy import default_policy
    >>> p = default_policy()  # prior 2 wins, 8 losses: mean 0.2
    >>> win_rate_multiplier(0, 0, p), round(win_rate_multiplier(1, 0, p), 3)
    (1.0, 1.364)
    """
    a, b = policy.rep_prior_wins, policy.rep_prior_losses
    return ((wins + a) / (wins + losses + a + b)) / (a / (a + b))


def account_language(account: Account) -> str | None:
    """The language routing requires, from the country; None = no language constraint."""
    if not account.country:
        return None
    return COUNTRY_LANGUAGE.get(account.country.strip().lower())


def route_account(req: RoutingRequest, reps: Sequence[RepFacts], policy: Policy) -> RoutingDecision:
    """Pick the best eligible rep, or say why the account goes to overflow or the pool."""
    segment = segment_of(req.account.employees, req.account.industry)
    refusal = _account_refusal(req, policy)
    if refusal is not None:
        return RoutingDecision(refusal[0], refusal[1], segment)
    language = account_language(req.account)
    ranked: list[Candidate] = []
    exclusions: dict[str, str] = {}
    for facts in reps:
        why = _exclusion(facts, segment, language, req.min_velocity, policy)
        if why is not None:
            exclusions[facts.rep.external_id] = why
        else:
            ranked.append(_candidate(facts, req.score, policy))
    ranked.sort(key=lambda c: (-c.ev, -c.free_capacity, c.rep_id))
    top = tuple(ranked[:TOP_N])
    if not top:
        reason = "no eligible rep: " + _summary(exclusions)
        return RoutingDecision("overflow", reason, segment, None, (), exclusions)
    reason = f"{req.trigger}: best EV {top[0].ev:,.0f} among {len(ranked)} eligible reps"
    return RoutingDecision("leased", reason, segment, top[0], top, exclusions)


def _account_refusal(req: RoutingRequest, policy: Policy) -> tuple[str, str] | None:
    acct, hand_raise = req.account, req.trigger == "hand_raise"
    if acct.do_not_contact:
        return "skipped", "do-not-contact: never routed"
    if req.has_active_lease:
        return "already_leased", "the account already has an active lease"
    if acct.tier == Tier.AI_ONLY and not hand_raise:
        return "pool", "tier 3 (AI only): a human gets it only on a hand-raise"
    if req.score is None and not hand_raise:
        return "pool", "no score yet"
    if req.score is not None and req.score.score < policy.threshold and not hand_raise:
        return "pool", f"score {req.score.score:.1f} below threshold {policy.threshold:g}"
    return None


def _exclusion(
    facts: RepFacts, segment: str, language: str | None, min_q: float | None, policy: Policy
) -> str | None:
    rep = facts.rep
    if not rep.active:
        return "inactive"
    if facts.on_leave:
        return "on_leave"
    if not segment_matches(rep.segments, segment):
        return "segment"
    if language is not None and rep.languages and language not in _codes(rep.languages):
        return f"language ({language})"
    if facts.active_leases >= capacity_of(rep, policy):
        return "no_capacity"
    if facts.cooling:
        return "cooldown"
    if min_q is not None and win_rate_multiplier(facts.wins, facts.losses, policy) <= min_q:
        return "not_faster_than_revoked_rep"
    return None


@functools.lru_cache(maxsize=65536)
def segment_matches(rep_segments: tuple[str, ...], segment: str) -> bool:
    """Empty = any; an entry matches part by part, `*` matching anything.

    >>> segment_matches(("smb|*",), "smb|retail"), segment_matches(("mid|retail",), "smb|retail")
    (True, False)
    """
    if not rep_segments:
        return True
    parts = segment.split("|")
    for entry in rep_segments:
        want = entry.strip().lower().split("|")
        if len(want) == len(parts) and all(w in ("*", p) for w, p in zip(want, parts, strict=True)):
            return True
    return False


def capacity_of(rep: Rep, policy: Policy) -> int:
    return rep.capacity if rep.capacity > 0 else policy.default_capacity


@functools.lru_cache(maxsize=4096)
def _codes(languages: tuple[str, ...]) -> frozenset[str]:
    return frozenset(LANGUAGE_NAMES.get(x.strip().lower(), x.strip().lower()) for x in languages)


def _candidate(facts: RepFacts, score: ScoreFacts | None, policy: Policy) -> Candidate:
    q = win_rate_multiplier(facts.wins, facts.losses, policy)
    ev = score.propensity * score.value * q if score is not None else 0.0
    free = capacity_of(facts.rep, policy) - facts.active_leases
    assert facts.rep.id is not None
    return Candidate(facts.rep.id, facts.rep.external_id, ev, q, free)


def _summary(exclusions: dict[str, str]) -> str:
    counts: dict[str, int] = {}
    for why in exclusions.values():
        counts[why] = counts.get(why, 0) + 1
    return ", ".join(f"{n} {why}" for why, n in sorted(counts.items())) or "no reps"
