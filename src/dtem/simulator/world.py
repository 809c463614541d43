"""The hidden market of one seed: accounts, reps, buying states, signals and every draw.

Everything random is drawn here, before any policy runs, so that static and DTEM face the
same market (common random numbers): the same buying episodes, the same signals, the same
response delays and the same conversion draws. A policy only decides who touches what when.

>>> w = build_world(MarketParams(accounts=200, reps=4, days=30), seed=1)
>>> w.n_accounts, len(w.rep_ids), w.signal_minutes.shape == w.signal_account.shape
(200, 4, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from dtem.simulator.params import INDUSTRIES, REGIONS, SIGNAL_TYPES, MarketParams

DAY = 1440.0  # minutes
DORMANT, RESEARCHING, IN_MARKET = 0, 1, 2
DELAYS_PER_ACCOUNT = 16
NEVER = math.inf

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Episode:
    """One in-market window of an account, with the draws that decide its outcome."""

    index: int
    account: int
    start: float  # minutes since the start of the run (may be negative)
    end: float
    u_open: float
    u_win: float
    u_agent: float
    cycle_days: int


@dataclass(frozen=True)
class World:
    params: MarketParams
    seed: int
    account_ids: list[str]
    region: IntArray
    industry: IntArray
    employees: IntArray
    value: FloatArray  # deal amount if won
    owner: IntArray  # static patch owner (rep index)
    rep_ids: list[str]
    skill: FloatArray  # [rep, industry] win-rate multiplier
    state: npt.NDArray[np.int8]  # [account, day] hidden buying state
    episodes: list[Episode]
    episodes_of: dict[int, list[Episode]]
    signal_minutes: FloatArray  # sorted
    signal_account: IntArray
    signal_type: IntArray  # index into SIGNAL_TYPES
    delays: FloatArray  # [account, k] minutes from a notification to the first touch
    pick_offsets: FloatArray  # [account, k] minutes into a work day of a self-picked touch
    judgement_noise: FloatArray  # [account, week] a static rep's misreading of an account
    u_elicit: FloatArray  # [account, day] draw of an agent touch eliciting a hand-raise

    @property
    def n_accounts(self) -> int:
        return len(self.account_ids)

    @property
    def end_minutes(self) -> float:
        return self.params.days * DAY

    def at(self, minutes: float) -> datetime:
        return self.params.start + timedelta(minutes=minutes)

    def minutes(self, at: datetime) -> float:
        return (at - self.params.start).total_seconds() / 60.0

    def episode_at(self, account: int, minutes: float) -> Episode | None:
        """The in-market episode of `account` running at `minutes`, if any."""
        for e in self.episodes_of.get(account, ()):
            if e.start <= minutes < e.end:
                return e
        return None

    def state_on(self, account: int, minutes: float) -> int:
        day = min(max(int(minutes // DAY), 0), self.params.days - 1)
        return int(self.state[account, day])


def build_world(p: MarketParams, seed: int) -> World:
    """Draw the market of `seed` (independent streams per purpose)."""
    streams = [np.random.default_rng([seed, k]) for k in range(8)]
    firmo, skills, states, signals, delays, episode_draws, judgement, elicit = streams
    n = p.accounts
    industry_p = np.array([c for _, c in INDUSTRIES], dtype=np.float64)
    industry = firmo.choice(len(INDUSTRIES), size=n, p=industry_p / industry_p.sum())
    region = firmo.integers(0, len(REGIONS), size=n)
    employees = np.round(np.exp(firmo.normal(math.log(40), 1.2, size=n))).astype(np.int64) + 1
    value = np.round(p.deal_median * np.exp(firmo.normal(0.0, p.deal_log_sd, size=n)), 2)
    geo = region * 1.0 + firmo.random(n)  # position on the map: patches are contiguous
    owner = np.empty(n, dtype=np.int64)
    owner[np.argsort(geo, kind="stable")] = np.arange(n) * p.reps // n
    skill = np.exp(skills.normal(0.0, p.skill_sd, size=(p.reps, len(INDUSTRIES))))
    state, episodes = _buying_states(p, states, episode_draws)
    by_account: dict[int, list[Episode]] = {}
    for e in episodes:
        by_account.setdefault(e.account, []).append(e)
    minutes, account, kind = _signals(p, state, signals)
    return World(
        params=p,
        seed=seed,
        account_ids=[f"ACC-{i:05d}" for i in range(n)],
        region=region.astype(np.int64),
        industry=industry.astype(np.int64),
        employees=employees,
        value=value,
        owner=owner,
        rep_ids=[f"REP-{r:03d}" for r in range(p.reps)],
        skill=skill,
        state=state,
        episodes=episodes,
        episodes_of=by_account,
        signal_minutes=minutes,
        signal_account=account,
        signal_type=kind,
        delays=_response_delays(p, delays, n),
        pick_offsets=delays.uniform(60.0, 9 * 60.0, size=(n, DELAYS_PER_ACCOUNT)),
        judgement_noise=np.exp(judgement.normal(0.0, 1.0, size=(n, p.days // 7 + 1))),
        u_elicit=elicit.random(size=(n, p.days)),
    )


def _buying_states(
    p: MarketParams, rng: np.random.Generator, draws: np.random.Generator
) -> tuple[npt.NDArray[np.int8], list[Episode]]:
    """Daily hidden states (a Markov chain) and the in-market episodes they contain."""
    n, days = p.accounts, p.days
    start_research = p.in_market_per_quarter / 91.0 / p.research_to_market
    leave_research, leave_market = 1.0 / p.research_days, 1.0 / p.window_days
    share_r = start_research * p.research_days
    share_m = start_research * p.research_to_market * p.window_days
    u0 = rng.random(n)
    s = np.where(u0 < share_m, IN_MARKET, np.where(u0 < share_m + share_r, RESEARCHING, DORMANT))
    entered = np.where(s == IN_MARKET, -rng.exponential(p.window_days * DAY, size=n), np.nan)
    state = np.empty((n, days), dtype=np.int8)
    spans: list[tuple[int, float, float]] = []
    for d in range(days):
        u, hour = rng.random(n), rng.random(n) * DAY
        out_r, to_m = u < leave_research, rng.random(n) < p.research_to_market
        nxt = s.copy()
        nxt[(s == DORMANT) & (u < start_research)] = RESEARCHING
        nxt[(s == RESEARCHING) & out_r] = np.where(to_m, IN_MARKET, DORMANT)[
            (s == RESEARCHING) & out_r
        ]
        leaving = (s == IN_MARKET) & (u < leave_market)
        nxt[leaving] = DORMANT
        for a in np.flatnonzero(leaving):
            spans.append((int(a), float(entered[a]), d * DAY + float(hour[a])))
        new = (nxt == IN_MARKET) & (s != IN_MARKET)
        entered[new] = d * DAY + hour[new]
        s = nxt
        state[:, d] = s
    for a in np.flatnonzero(s == IN_MARKET):
        spans.append((int(a), float(entered[a]), math.inf))
    spans.sort(key=lambda x: (x[1], x[0]))
    u = draws.random(size=(len(spans), 3))
    cycle = np.exp(draws.normal(p.cycle_log_mean, p.cycle_log_sd, size=len(spans)))
    cycle_days = np.clip(np.round(cycle), 1, 180).astype(np.int64)
    episodes = [
        Episode(
            i, a, start, end, float(u[i, 0]), float(u[i, 1]), float(u[i, 2]), int(cycle_days[i])
        )
        for i, (a, start, end) in enumerate(spans)
    ]
    return state, episodes


def _signals(
    p: MarketParams, state: npt.NDArray[np.int8], rng: np.random.Generator
) -> tuple[FloatArray, IntArray, IntArray]:
    """Poisson signals per account-day by hidden state, at uniform times of the day."""
    minutes: list[FloatArray] = []
    accounts: list[IntArray] = []
    kinds: list[IntArray] = []
    for k, name in enumerate(SIGNAL_TYPES):
        rates = np.asarray(p.rates(name), dtype=np.float64)[state]  # [account, day]
        counts = rng.poisson(rates)
        acc, day = np.nonzero(counts)
        reps = counts[acc, day]
        acc, day = np.repeat(acc, reps), np.repeat(day, reps)
        minutes.append(day * DAY + rng.random(len(day)) * DAY)
        accounts.append(acc.astype(np.int64))
        kinds.append(np.full(len(acc), k, dtype=np.int64))
    t, a, s = np.concatenate(minutes), np.concatenate(accounts), np.concatenate(kinds)
    order = np.lexsort((s, a, t))
    return t[order], a[order], s[order]


def _response_delays(p: MarketParams, rng: np.random.Generator, n: int) -> FloatArray:
    """Minutes from a lead landing with a rep to the rep's first touch (HBR 2011 shares)."""
    shape = (n, DELAYS_PER_ACCOUNT)
    u = rng.random(shape)
    within = rng.exponential(15.0, size=shape).clip(0.0, 59.9)
    day = rng.uniform(60.0, 24 * 60.0, size=shape)
    later = rng.uniform(24 * 60.0, 5 * 24 * 60.0, size=shape)
    a, b = p.respond_1h, p.respond_1h + p.respond_24h
    late = 1.0 - p.respond_never
    return np.where(u < a, within, np.where(u < b, day, np.where(u < late, later, NEVER)))
