"""The static policy: geographic patches; each rep works what they judge best in their own
patch, up to capacity, answers their patch's inbound leads, and has no agents.

A rep's judgement is what a CRM shows: first-party signals (no third-party intent), decayed
over two weeks, misread by a per-account weekly noise, plus a small pull toward large
accounts when nothing shows. Worked accounts are touched every `touch_every_days`; one
with no opportunity after `static_hold_days` is dropped and not picked again for 90 days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dtem.simulator.book import Book, Opened, visible_weights
from dtem.simulator.events import EventQueue
from dtem.simulator.params import INBOUND, SIGNAL_TYPES
from dtem.simulator.world import DAY, DELAYS_PER_ACCOUNT, FloatArray, World

COOLDOWN_DAYS = 90
SEEN_HALF_LIFE_DAYS = 14.0


@dataclass
class _Hold:
    rep: int
    since: float
    serial: int


def run_static(world: World) -> Book:
    return _Static(world).run()


class _Static:
    def __init__(self, world: World) -> None:
        self.w, self.p = world, world.params
        self.book = Book(world)
        self.q = EventQueue()
        self.holds: dict[int, _Hold] = {}
        self.load = np.zeros(self.p.reps, dtype=np.int64)
        self.cool_until = np.full(world.n_accounts, -math.inf)
        self.notices = np.zeros(world.n_accounts, dtype=np.int64)
        self.serial = 0
        self.worked: set[int] = set()  # holds touched at least once (their hours are spent)
        self.patch = [np.flatnonzero(world.owner == r) for r in range(self.p.reps)]

    def run(self) -> Book:
        visible, seen = visible_weights(self.w), np.zeros(self.w.n_accounts)
        keep = 0.5 ** (1.0 / SEEN_HALF_LIFE_DAYS)
        cursor, n_signals = 0, len(self.w.signal_minutes)
        for day in range(self.p.days):
            morning = day * DAY + 8 * 60.0
            cursor = self._until(morning, cursor, n_signals)
            self._drop_stale(morning)
            self._fill(morning, day, seen)
            cursor = self._until((day + 1) * DAY, cursor, n_signals)
            seen = seen * keep + visible[:, day]
            self.book.load_by_day.append(float(self.load.sum()) / (self.p.capacity * self.p.reps))
        self.book.finish()
        return self.book

    def _until(self, end: float, cursor: int, n: int) -> int:
        """Inbound leads and queued events before `end`, in time order."""
        w = self.w
        while True:
            t_sig = w.signal_minutes[cursor] if cursor < n else math.inf
            event = self.q.next_before(min(t_sig, end))
            if event is not None:
                self._event(*event)
                continue
            if t_sig >= end:
                return cursor
            kind = SIGNAL_TYPES[w.signal_type[cursor]]
            if kind in INBOUND:
                self._inbound(int(w.signal_account[cursor]), float(t_sig), kind)
            cursor += 1

    def _inbound(self, account: int, t: float, kind: str) -> None:
        if kind == "hand_raise":
            self.book.hand_raises.append((account, t))
        self.book.lead(account, t)
        if account in self.book.customers:
            return
        hold = self.holds.get(account)
        if hold is None:
            rep = int(self.w.owner[account])
            if self.load[rep] >= self.p.capacity and not self._make_room(rep):
                return
            hold = self._hold(account, rep, t)
        delay = self._delay(account)
        if math.isfinite(delay):
            self.q.push(t + delay, "touch", (account, hold.serial, False))

    def _make_room(self, rep: int) -> bool:
        """Drop the rep's oldest worked account without an opportunity for an inbound lead."""
        mine = [(h.since, a) for a, h in self.holds.items() if h.rep == rep]
        for _, a in sorted(mine):
            if a not in self.book.open_deals:
                self._release(a, self.holds[a].since)
                return True
        return False

    def _hold(self, account: int, rep: int, t: float) -> _Hold:
        self.serial += 1
        hold = _Hold(rep, t, self.serial)
        self.holds[account] = hold
        self.load[rep] += 1
        return hold

    def _release(self, account: int, t: float) -> None:
        hold = self.holds.pop(account)
        self.load[hold.rep] -= 1
        self.cool_until[account] = t + COOLDOWN_DAYS * DAY

    def _delay(self, account: int) -> float:
        k = int(self.notices[account]) % DELAYS_PER_ACCOUNT
        self.notices[account] += 1
        return float(self.w.delays[account, k])

    def _drop_stale(self, now: float) -> None:
        sprint = self.p.static_hold_days * DAY
        stale = [
            a
            for a, h in self.holds.items()
            if now - h.since >= sprint and a not in self.book.open_deals
        ]
        for a in stale:
            self._release(a, now)

    def _fill(self, morning: float, day: int, seen: FloatArray) -> None:
        w, book = self.w, self.book
        noise = w.judgement_noise[:, day // 7]
        judged = (seen + 0.05 * w.value / self.p.deal_median) * noise
        for rep in range(self.p.reps):
            free = self.p.capacity - int(self.load[rep])
            if free <= 0:
                continue
            patch = self.patch[rep]
            ok = [
                a
                for a in patch[np.argsort(-judged[patch], kind="stable")]
                if a not in self.holds and a not in book.customers and self.cool_until[a] <= morning
            ]
            for a in ok[:free]:
                hold = self._hold(int(a), rep, morning)
                k = int(self.notices[a]) % DELAYS_PER_ACCOUNT
                self.q.push(
                    morning + float(w.pick_offsets[a, k]), "touch", (int(a), hold.serial, True)
                )

    def _event(self, t: float, kind: str, payload: object) -> None:
        if kind == "close":
            assert isinstance(payload, Opened)
            self.book.close(payload, payload.amount * self.p.static_rate if payload.won else 0.0)
            if payload.account in self.holds:
                self._release(payload.account, t)
            return
        assert isinstance(payload, tuple)
        account, serial = int(payload[0]), int(payload[1])
        hold = self.holds.get(account)
        if hold is None or hold.serial != serial:
            return  # dropped meanwhile
        if serial not in self.worked:
            self.worked.add(serial)
            self.book.start_work()
        opened = self.book.human_touch(account, t, hold.rep)
        if opened is not None:
            self.q.push(opened.close_minutes, "close", opened)
        self.q.push(t + self.p.touch_every_days * DAY, "touch", (account, serial, False))
