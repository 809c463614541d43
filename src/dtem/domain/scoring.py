"""The Equity Score, as pure math: decayed intensities, propensity, equity, the 0–100 score.

Every signal type t has a half-life h_t. An account's intensity of type t at time `now` is
`I_t = Σ value × 2^(−(now − ts)/h_t)`. Because that sum is linear in the values, it can
be kept per (account, type) as one number and its reference time (`Decayed`), updated
per event in O(1), in any arrival order, and still equal the batch GROUP BY exactly
(see `absorb` and docs/model.md, "Why the incremental score is exact").

>>> rate = decay_rate(7.0)
>>> s = absorb(None, 1.0, 0.0, rate)
>>> round(intensity_at(s, 7 * 86_400.0, rate), 12)
0.5
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeAlias

from dtem.domain.model import segment_of, size_band
from dtem.domain.policy import Policy
from dtem.domain.segments import Economics, segment_cost, segment_velocity

SECONDS_PER_DAY = 86_400.0
_exp = math.exp
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SignalLike(Protocol):
    """What scoring reads of a stored signal (`SignalRecord`, `SignalFact` both fit)."""

    @property
    def account_id(self) -> int | None: ...
    @property
    def type(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def value(self) -> float: ...


def epoch_seconds(ts: datetime) -> float:
    """Seconds since 1970 (UTC); naive times are taken as UTC.

    >>> epoch_seconds(datetime(1970, 1, 2, tzinfo=UTC))
    86400.0
    """
    aware = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts
    return (aware - _EPOCH).total_seconds()


def from_epoch_seconds(seconds: float) -> datetime:
    """The inverse of `epoch_seconds` (aware UTC)."""
    return datetime.fromtimestamp(seconds, UTC)


def decay_rate(half_life_days: float) -> float:
    """Decay per second: a value weighs `exp(−rate × age)` = `2^(−age/h)`.

    >>> round(math.exp(-decay_rate(1.0) * SECONDS_PER_DAY), 12)
    0.5
    """
    return math.log(2.0) / (half_life_days * SECONDS_PER_DAY)


Decayed: TypeAlias = tuple[float, float]
"""The decayed intensity of one (account, signal type): `(intensity, as_of)`, `as_of` in
epoch seconds. A plain tuple of two floats, not a NamedTuple: the incremental path makes
one per event, and CPython's garbage collector stops tracking plain tuples of atoms while
it keeps scanning every instance of a tuple subclass (millions, in a large ledger)."""


def decayed(intensity: float, as_of: float) -> Decayed:
    """A state: `intensity` as of `as_of` (epoch seconds).

    >>> decayed(1, 0)
    (1.0, 0.0)
    """
    return (float(intensity), float(as_of))


def absorb(state: Decayed | None, value: float, at: float, rate: float) -> Decayed:
    """The state after one more signal of `value` at `at` (epoch seconds), in any order.

    A newer signal decays the state forward to `at` then adds `value`; an older one adds
    its value decayed to the state's time. Both give `Σ v × e^(−rate × (as_of − ts))`,
    so arrival order never matters (proof in docs/model.md).

    >>> r = decay_rate(1.0)
    >>> a = absorb(absorb(None, 1.0, 0.0, r), 1.0, 86_400.0, r)
    >>> b = absorb(absorb(None, 1.0, 86_400.0, r), 1.0, 0.0, r)
    >>> a == b == decayed(1.5, 86_400.0)
    True
    """
    if state is None:
        return (value, at)
    intensity, as_of = state
    if at >= as_of:
        return (intensity * _exp(rate * (as_of - at)) + value, at)
    return (intensity + value * _exp(rate * (at - as_of)), as_of)


def intensity_at(state: Decayed | None, now: float, rate: float) -> float:
    """The state's intensity decayed to `now` (0 for no state)."""
    if state is None:
        return 0.0
    intensity, as_of = state
    return intensity * math.exp(-rate * (now - as_of))


def batch_intensity(points: Iterable[tuple[float, float]], now: float, rate: float) -> float:
    """The batch definition: `Σ value × e^(−rate × (now − ts))` over (value, ts) pairs.

    >>> round(batch_intensity([(1.0, 0.0), (1.0, 86_400.0)], 86_400.0, decay_rate(1.0)), 12)
    1.5
    """
    return math.fsum(v * math.exp(-rate * (now - ts)) for v, ts in points)


def sigmoid(x: float) -> float:
    """The logistic function, stable for large |x|.

    >>> sigmoid(0.0), round(sigmoid(-800.0), 6)
    (0.5, 0.0)
    """
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def fit_terms(policy: Policy, industry: str | None, employees: int | None) -> dict[str, float]:
    """The firmographic logit terms: intercept, industry and size band (0 when absent).

    >>> fit_terms(Policy(fit_industry={"saas": 0.5}), "SaaS ", 50)
    {'b0': -4.0, 'fit:industry': 0.5, 'fit:size_band': 0.0}
    """
    key = (industry or "unknown").strip().lower()
    return {
        "b0": policy.b0,
        "fit:industry": policy.fit_industry.get(key, 0.0),
        "fit:size_band": policy.fit_size_band.get(size_band(employees), 0.0),
    }


def behaviour_terms(policy: Policy, intensities: Mapping[str, float]) -> dict[str, float]:
    """`w_t × log1p(I_t)` per signal type of the policy (types it does not know weigh 0).

    >>> behaviour_terms(Policy(), {"hand_raise": math.e - 1})["signal:hand_raise"]
    3.0
    """
    return {
        f"signal:{name}": st.weight * math.log1p(max(intensities.get(name, 0.0), 0.0))
        for name, st in policy.signal_types.items()
    }


@dataclass(frozen=True)
class EquityScore:
    """One account's score and everything it was made of."""

    score: float  # S, 0–100
    equity: float  # E = P × V / C
    propensity: float  # P
    velocity: float  # V, money per day
    cost: float  # C, money
    logit_terms: dict[str, float]  # b0, fit:*, signal:* — they add up to the logit


def equity_score(
    policy: Policy, terms: Mapping[str, float], velocity: float, cost: float
) -> EquityScore:
    """Combine logit terms, velocity and cost into P, E and S.

    >>> s = equity_score(Policy(e_half=1.0), {"b0": 0.0}, velocity=100.0, cost=50.0)
    >>> (s.propensity, s.equity, s.score)
    (0.5, 1.0, 50.0)
    """
    p = sigmoid(math.fsum(terms.values()))
    e = p * velocity / cost
    return EquityScore(
        score=100.0 * e / (e + policy.e_half),
        equity=e,
        propensity=p,
        velocity=velocity,
        cost=cost,
        logit_terms=dict(terms),
    )


def crossing(previous: float | None, current: float, threshold: float) -> str | None:
    """`crossed_up` / `crossed_down` when a score passes the threshold, else None.

    An account first scored at or above the threshold counts as crossing up.

    >>> crossing(55.0, 61.0, 60.0), crossing(61.0, 59.0, 60.0), crossing(None, 10.0, 60.0)
    ('crossed_up', 'crossed_down', None)
    """
    was_above = previous is not None and previous >= threshold
    if current >= threshold and not was_above:
        return "crossed_up"
    if current < threshold and was_above:
        return "crossed_down"
    return None


def account_score(
    policy: Policy,
    eco: Economics,
    industry: str | None,
    employees: int | None,
    intensities: Mapping[str, float],
    figures: dict[str, tuple[float, float]] | None = None,
) -> EquityScore:
    """The score of one account from its firmographics and decayed intensities.

    `figures` memoises (V, C) by segment when many accounts are scored in a row.

    >>> s = account_score(Policy(), Economics(), "retail", 50, {})
    >>> round(s.propensity, 4), s.velocity, s.cost
    (0.018, 166.66666666666666, 600.0)
    """
    segment = segment_of(employees, industry)
    terms = fit_terms(policy, industry, employees) | behaviour_terms(policy, intensities)
    memo = {} if figures is None else figures
    if segment not in memo:
        v = segment_velocity(eco, policy, segment).per_day
        memo[segment] = (v, segment_cost(eco, policy, segment))
    return equity_score(policy, terms, *memo[segment])


def intensities_of(policy: Policy, signals: Iterable[SignalLike], now: float) -> dict[str, float]:
    """Batch intensities of one account's signals at `now` (epoch seconds), by type."""
    points: dict[str, list[tuple[float, float]]] = {}
    for sig in signals:
        if sig.type in policy.signal_types:
            points.setdefault(sig.type, []).append((sig.value, epoch_seconds(sig.occurred_at)))
    return {
        t: batch_intensity(p, now, decay_rate(policy.signal_types[t].half_life_days))
        for t, p in points.items()
    }


@dataclass(frozen=True)
class SignalContribution:
    """One signal's part of the score.

    `decayed` = value × 2^(−age/h); `logit` = its share of its type's term,
    `w_t × log1p(I_t) × decayed / I_t`, so the signals of a type add up to its term.
    """

    type: str
    occurred_at: datetime
    value: float
    decayed: float
    logit: float


def top_signals(
    policy: Policy, signals: Iterable[SignalLike], now: float, n: int = 5
) -> list[SignalContribution]:
    """The `n` signals that add most to the logit right now, largest first."""
    sigs = [s for s in signals if s.type in policy.signal_types]
    decayed = [
        s.value
        * math.exp(
            -decay_rate(policy.signal_types[s.type].half_life_days)
            * (now - epoch_seconds(s.occurred_at))
        )
        for s in sigs
    ]
    totals: dict[str, float] = {}
    for s, d in zip(sigs, decayed, strict=True):
        totals[s.type] = totals.get(s.type, 0.0) + d
    terms = behaviour_terms(policy, totals)
    out = [
        SignalContribution(
            s.type,
            s.occurred_at,
            s.value,
            d,
            terms[f"signal:{s.type}"] * d / totals[s.type] if totals[s.type] > 0 else 0.0,
        )
        for s, d in zip(sigs, decayed, strict=True)
    ]
    return sorted(out, key=lambda c: c.logit, reverse=True)[:n]
