"""The simulator's assumptions, each default anchored to a figure cited in docs/simulator.md.

>>> p = MarketParams()
>>> round(p.qualify(60.0), 4) == round(p.p_open_1h, 4)  # contact after one hour: the anchor
True
>>> p.scaled("p_open_1h", 2.0).p_open_1h == 2 * p.p_open_1h
True
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime

# lead-response decay r(t) = floor + (1 - floor)(1 + t/t0)^-alpha, t in minutes, fitted to
# 5 vs 30 min = 21x (MIT/InsideSales 2007), within an hour vs an hour later (30 vs 90 min)
# = 7x and within an hour vs after 24 h (30 min vs 30 h) = 60x (HBR 2011); see the doc.
DECAY_ALPHA = 1.9173
DECAY_T0_MINUTES = 1.3554
DECAY_FLOOR = 4.0024e-05

SIGNAL_TYPES: tuple[str, ...] = (
    "web_visit",
    "pricing_visit",
    "form_fill",
    "hand_raise",
    "email_engagement",
    "intent_surge",
    "hiring",
)
THIRD_PARTY = frozenset({"intent_surge", "hiring"})
INBOUND = frozenset({"hand_raise", "form_fill"})  # what lands in a static owner's inbox
# rates per account-day in (dormant, researching, in market); an assumption, see the doc
DEFAULT_RATES: dict[str, tuple[float, float, float]] = {
    "web_visit": (0.02, 0.25, 0.5),
    "pricing_visit": (0.002, 0.04, 0.25),
    "form_fill": (0.001, 0.02, 0.06),
    "hand_raise": (0.0, 0.003, 0.02),
    "email_engagement": (0.01, 0.08, 0.15),
    "intent_surge": (0.004, 0.08, 0.15),
    "hiring": (0.004, 0.01, 0.01),
}
# Olist closed deals by business segment (examples/olist, top eight)
INDUSTRIES: tuple[tuple[str, int], ...] = (
    ("health_beauty", 45),
    ("household_utilities", 44),
    ("home_decor", 44),
    ("construction_tools_house_garden", 32),
    ("audio_video_electronics", 31),
    ("car_accessories", 30),
    ("pet", 17),
    ("sports_leisure", 14),
)
REGIONS: tuple[str, ...] = ("north", "south", "east", "west", "central")


@dataclass(frozen=True)
class MarketParams:
    """Every assumption of the market; `scaled` halves or doubles one (sensitivity)."""

    accounts: int = 1200
    reps: int = 12
    days: int = 182
    start: datetime = datetime(2027, 1, 4, tzinfo=UTC)
    # buying states: 95-5 rule (about 5% of accounts in market per quarter)
    in_market_per_quarter: float = 0.05
    research_days: float = 21.0  # mean days researching before deciding
    research_to_market: float = 0.5  # share of research phases that end in market
    window_days: float = 30.0  # mean days an account stays in market
    signal_strength: float = 1.0  # multiplies every signal rate
    # conversion: Olist 4.75% of MQLs closed, read as the rate of a lead reached in 1 h
    p_open_1h: float = 0.19  # chance an in-market account contacted after 1 h qualifies
    win_given_open: float = 0.25  # chance a qualified opportunity is won (assumption)
    decay_alpha: float = DECAY_ALPHA
    cycle_log_mean: float = 2.4464  # Olist: ln(days first contact -> won), mean
    cycle_log_sd: float = 1.3726
    deal_median: float = 12_000.0
    deal_log_sd: float = 0.8
    skill_sd: float = 0.3  # rep win-rate multiplier by segment, log-normal spread
    # people: response to a new lead (HBR 2011: 37% within 1 h, 16% 1-24 h, 23% never)
    respond_1h: float = 0.37
    respond_24h: float = 0.16
    respond_never: float = 0.23
    capacity: int = 25  # accounts a rep works at once (the policy's default capacity)
    static_hold_days: float = 90.0  # a static rep keeps an account they picked a quarter
    touch_every_days: float = 7.0  # cadence of touches on an account being worked
    hourly_cost: float = 60.0  # fully loaded rep cost per hour
    effort_hours: float = 10.0  # hours to work one account (the policy's default)
    static_rate: float = 0.12  # static commission rate (the default plan at the threshold)
    # agents (DTEM only)
    agent_touches_per_week: int = 40  # one round a week (the gateway's cost per call)
    agent_touch_cost: float = 2.0  # the policy's default cost per agent touch
    agent_elicit_research: float = 0.05  # chance an agent touch elicits a hand-raise
    agent_elicit_market: float = 0.2
    agent_conversion: float = 0.3  # an agent's conversion relative to a rep's
    # DTEM as set up on day one: the shipped default policy, its human threshold
    threshold: float = 60.0
    # DTEM's unit of work for signals (hours): signals are ingested in windows this long
    window_hours: int = 4

    def qualify(self, minutes: float) -> float:
        """Chance an in-market account first contacted `minutes` after entering qualifies."""
        r = decay(minutes, self.decay_alpha) / decay(60.0, self.decay_alpha)
        return min(1.0, self.p_open_1h * r)

    def rates(self, signal_type: str) -> tuple[float, float, float]:
        base = DEFAULT_RATES[signal_type]
        return (
            base[0] * self.signal_strength,
            base[1] * self.signal_strength,
            base[2] * self.signal_strength,
        )

    def scaled(self, name: str, factor: float) -> MarketParams:
        """These parameters with `name` multiplied by `factor` (ints rounded)."""
        value = getattr(self, name)
        if not isinstance(value, int | float):
            raise ValueError(f"{name} is not a number")
        new: float = round(value * factor) if isinstance(value, int) else value * factor
        return replace(self, **{name: new})  # type: ignore[arg-type]


SENSITIVE: tuple[str, ...] = (
    "in_market_per_quarter",
    "window_days",
    "signal_strength",
    "p_open_1h",
    "win_given_open",
    "decay_alpha",
    "respond_1h",
    "respond_never",
    "capacity",
    "agent_elicit_market",
    "agent_touch_cost",
    "threshold",
)


def decay(minutes: float, alpha: float = DECAY_ALPHA) -> float:
    """r(t), 1 at t = 0 (the fitted lead-response curve).

    >>> round(decay(5) / decay(30), 1), round(decay(30) / decay(90), 1)
    (21.0, 7.0)
    """
    shape: float = (1.0 + max(minutes, 0.0) / DECAY_T0_MINUTES) ** -alpha
    return DECAY_FLOOR + (1.0 - DECAY_FLOOR) * shape


def field_names() -> list[str]:
    return [f.name for f in fields(MarketParams)]
