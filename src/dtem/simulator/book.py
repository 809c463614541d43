"""What happened to the market under one policy, and how the market answers a touch.

Both policies call the same `Book`: a human touch during an in-market episode decides the
episode once (qualify with the lead-response decay of the time since the account entered
the market, then win with the rep's skill); an agent touch may convert at a lower rate or
elicit a hand-raise. The book keeps the facts the KPIs read (`dtem.domain.kpis`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from dtem.domain import kpis
from dtem.simulator.world import DAY, IN_MARKET, RESEARCHING, Episode, FloatArray, World

GOLDEN = 0.6180339887498949


@dataclass(frozen=True)
class Opened:
    """An opportunity the market opened: it closes at `close_minutes`, won or lost."""

    account: int
    episode: int
    rep: int | None
    created_minutes: float
    close_minutes: float
    won: bool
    amount: float
    number: int  # the account's opportunity count, for its external id

    @property
    def external_id(self) -> str:
        return f"OPP-{self.account:05d}-{self.number}"


@dataclass
class Book:
    world: World
    touches: list[kpis.Touch] = field(default_factory=list)
    deals: list[kpis.Deal] = field(default_factory=list)
    hand_raises: list[tuple[int, float]] = field(default_factory=list)  # (account, minutes)
    tried: set[tuple[int, float]] = field(default_factory=set)  # (episode, lead) answered
    attempts: dict[int, int] = field(default_factory=dict)  # episode -> answered leads
    last_lead: dict[int, float] = field(default_factory=dict)  # account -> latest inbound
    agent_tried: set[int] = field(default_factory=set)
    customers: set[int] = field(default_factory=set)
    open_deals: dict[int, Opened] = field(default_factory=dict)  # account -> opportunity
    opened_count: dict[int, int] = field(default_factory=dict)
    human_hours: float = 0.0
    agent_touches: int = 0
    commission: float = 0.0
    load_by_day: list[float] = field(default_factory=list)  # held accounts ÷ capacity
    won_by_day: list[tuple[float, float]] = field(default_factory=list)  # (minutes, amount)

    def start_work(self) -> None:
        """A rep takes an account into work: the effort hours it costs."""
        self.human_hours += self.world.params.effort_hours

    def lead(self, account: int, minutes: float) -> None:
        """An inbound lead (hand-raise, form fill): the response clock restarts."""
        self.last_lead[account] = minutes

    def _attempt(self, e: Episode, minutes: float) -> float | None:
        """The draw of the first answer to the account's latest lead, None if answered.

        The response clock runs from the latest inbound lead of the episode, else from the
        moment the account entered the market (the published studies time the answer to
        an inquiry). Each answered lead draws afresh (a golden-ratio step from the episode's
        uniform keeps both policies on common numbers).
        """
        lead = max(e.start, self.last_lead.get(e.account, -math.inf))
        if (e.index, lead) in self.tried:
            return None
        self.tried.add((e.index, lead))
        n = self.attempts.get(e.index, 0)
        self.attempts[e.index] = n + 1
        return minutes - lead

    def busy(self, account: int) -> bool:
        return account in self.customers or account in self.open_deals

    def human_touch(self, account: int, minutes: float, rep: int) -> Opened | None:
        """A rep touches `account`: an opportunity when this decides an episode that way."""
        w = self.world
        self.touches.append(kpis.Touch(account, w.at(minutes), True, w.rep_ids[rep]))
        if self.busy(account):
            return None
        episode = w.episode_at(account, minutes)
        if episode is None:
            return None
        n = self.attempts.get(episode.index, 0)
        waited = self._attempt(episode, minutes)
        p = w.params
        if waited is None or (episode.u_open + GOLDEN * n) % 1.0 >= p.qualify(waited):
            return None
        chance = min(0.95, p.win_given_open * float(w.skill[rep, w.industry[account]]))
        return self._open(episode, rep, minutes, episode.u_win < chance)

    def agent_touch(self, account: int, minutes: float, agent: str) -> tuple[Opened | None, bool]:
        """An agent touches `account`: (a deal it converted, whether a hand-raise follows)."""
        w, p = self.world, self.world.params
        self.touches.append(kpis.Touch(account, w.at(minutes), False, agent))
        self.agent_touches += 1
        if self.busy(account):
            return None, False
        episode = w.episode_at(account, minutes)
        if episode is not None and episode.index not in self.agent_tried:
            self.agent_tried.add(episode.index)
            waited = minutes - max(episode.start, self.last_lead.get(account, -math.inf))
            chance = p.agent_conversion * p.qualify(waited) * p.win_given_open
            if episode.u_agent < chance:
                return self._open(episode, None, minutes, True), False
        state = w.state_on(account, minutes)
        day = min(int(minutes // DAY), p.days - 1)
        elicit = {IN_MARKET: p.agent_elicit_market, RESEARCHING: p.agent_elicit_research}
        return None, bool(w.u_elicit[account, day] < elicit.get(state, 0.0))

    def _open(self, e: Episode, rep: int | None, minutes: float, won: bool) -> Opened:
        n = self.opened_count.get(e.account, 0) + 1
        self.opened_count[e.account] = n
        amount = float(self.world.value[e.account])
        opened = Opened(
            e.account, e.index, rep, minutes, minutes + e.cycle_days * DAY, won, amount, n
        )
        self.open_deals[e.account] = opened
        return opened

    def close(self, opened: Opened, commission: float) -> None:
        """The opportunity closes (at its close time): won deals make a customer."""
        self.open_deals.pop(opened.account, None)
        w = self.world
        rep = w.rep_ids[opened.rep] if opened.rep is not None else None
        outcome = "won" if opened.won else "lost"
        self.deals.append(
            kpis.Deal(
                opened.account,
                outcome,
                opened.amount,
                self._date(opened.created_minutes),
                self._date(opened.close_minutes),
                rep,
            )
        )
        if opened.won:
            self.customers.add(opened.account)
            self.won_by_day.append((opened.close_minutes, opened.amount))
            self.commission += commission

    def finish(self) -> None:
        """Deals still open at the end of the run stay open."""
        for o in self.open_deals.values():
            rep = self.world.rep_ids[o.rep] if o.rep is not None else None
            self.deals.append(
                kpis.Deal(o.account, "open", o.amount, self._date(o.created_minutes), None, rep)
            )

    def _date(self, minutes: float) -> date:
        return self.world.at(minutes).date()


def visible_weights(world: World) -> FloatArray:
    """[account, day] weight of the first-party signals a static rep sees in the CRM."""
    from dtem.simulator.params import SIGNAL_TYPES, THIRD_PARTY

    gut = {
        "hand_raise": 5.0,
        "form_fill": 3.0,
        "pricing_visit": 2.0,
        "web_visit": 1.0,
        "email_engagement": 0.5,
    }
    weights = np.array([0.0 if t in THIRD_PARTY else gut.get(t, 0.0) for t in SIGNAL_TYPES])
    out = np.zeros((world.n_accounts, world.params.days))
    days = np.minimum((world.signal_minutes // DAY).astype(np.int64), world.params.days - 1)
    np.add.at(out, (world.signal_account, days), weights[world.signal_type])
    return out
