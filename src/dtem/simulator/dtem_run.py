"""The DTEM policy: the product's own services drive who works what, on a real ledger.

Per window of `window_hours` the market's signals go through the signal pipeline (ingest →
score → route → lease), exactly as webhook deliveries do. Each morning the daily review
runs (expire and revoke stale leases, re-route, retry overflow), then the rebalance (the
optimiser, or greedy in that ablation); each Monday at 10:00 the agents claim, touch and raise hands
through the agent gateway's services. Reps touch what they hold on a lease: the first
touch after the lease lands follows the same response delays as a static rep's answer to
an inbound lead. Opportunities the market opens are written as the CRM would write them,
their advances extend leases (`record_advances`), and their close goes through
`change_stage`, which settles commission lines under the comp plan.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from dtem.bootstrap import signal_pipeline
from dtem.domain.errors import ClaimNotHeld
from dtem.domain.model import Account, Activity, Lease, Opportunity, Rep
from dtem.domain.policy import default_policy
from dtem.domain.ports import Ledger
from dtem.domain.signals import AccountRef, SignalDraft
from dtem.domain.store_comp import LineFilter
from dtem.domain.store_market import LeaseFilter
from dtem.services import governance, leases
from dtem.services.agents import claim_accounts, raise_hand, record_touch
from dtem.services.rebalance import rebalance
from dtem.services.review import run_review
from dtem.services.signals.ingest import ingest
from dtem.services.stages import change_stage
from dtem.simulator.book import Book, Opened
from dtem.simulator.events import EventQueue
from dtem.simulator.params import INBOUND, INDUSTRIES, REGIONS, SIGNAL_TYPES, THIRD_PARTY
from dtem.simulator.world import DAY, DELAYS_PER_ACCOUNT, World

ACTOR = "simulator"
AGENT = "sim-agent"
OPEN_STAGE = "qualification"
NEW_LEASES_READ = 50
REAL_TIME = frozenset({"hand_raise", "form_fill", "pricing_visit"})  # webhook events


@dataclass(frozen=True)
class Variant:
    """DTEM as shipped, or with one pillar taken out (an ablation)."""

    name: str = "dtem"
    agents: bool = True
    revocation: bool = True
    optimiser: bool = True
    lambda_control: bool = True  # False: λ stays the policy's (k = 0), the bar never moves

    def policy_document(self, days: int, threshold: float) -> dict[str, object]:
        doc = default_policy().to_dict()
        doc["threshold"] = threshold
        if not self.revocation:  # a lease lasts the whole run: nothing is ever revoked
            doc["sprint_days"] = days + 60
        if not self.lambda_control:
            doc["lambda_controller"] = {**default_policy().to_dict()["lambda_controller"], "k": 0.0}
        return doc


DTEM = Variant()
ABLATIONS = (
    Variant("no agents", agents=False),
    Variant("no revocation", revocation=False),
    Variant("greedy", optimiser=False),
    Variant("fixed λ", lambda_control=False),
)


@dataclass
class _Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class _Held:
    account: int
    rep: int
    lease_id: int
    worked: bool = False


@dataclass
class DtemRun:
    world: World
    ledger: Ledger
    variant: Variant = DTEM
    book: Book = field(init=False)
    progress: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        self.book = Book(self.world)
        self.clock = _Clock(self.world.at(0.0))
        self.pipeline = signal_pipeline()
        self.q = EventQueue()
        self.held: dict[int, _Held] = {}  # lease id -> who holds what
        self.notices = [0] * self.world.n_accounts
        self.account_index = {a: i for i, a in enumerate(self.world.account_ids)}
        self.rep_index = {r: i for i, r in enumerate(self.world.rep_ids)}
        self.ids: dict[int, int] = {}  # ledger account id -> world index
        self.rep_ids: dict[int, int] = {}
        self.ledger_ids: dict[int, int] = {}  # world index -> ledger account id
        self.activities: list[Activity] = []
        self.held_by: dict[int, int] = {}  # account -> its latest lease id
        self.newest = 0  # the highest lease id seen
        self.review_hour = default_policy().review_hour_utc  # when the daily review runs

    # --- set-up --------------------------------------------------------------------------
    def setup(self) -> None:
        w, p = self.world, self.world.params
        governance.ensure_policy(self.ledger, self.clock, ACTOR)
        doc = self.variant.policy_document(p.days, p.threshold)
        version = governance.store_policy(self.ledger, doc, self.clock, ACTOR, self.variant.name)
        governance.activate_policy(self.ledger, version, self.clock, ACTOR)
        accounts = [
            Account(
                a,
                f"Account {i}",
                domain=f"acc{i}.example",
                industry=INDUSTRIES[int(w.industry[i])][0],
                employees=int(w.employees[i]),
                region=REGIONS[int(w.region[i])],
                static_owner=w.rep_ids[int(w.owner[i])],
                potential_value=float(w.value[i]),
            )
            for i, a in enumerate(w.account_ids)
        ]
        reps = [
            Rep(r, f"Rep {k}", capacity=p.capacity, hourly_cost=p.hourly_cost)
            for k, r in enumerate(w.rep_ids)
        ]
        with self.ledger.transaction() as tx:
            tx.bulk_insert_accounts(accounts, self.clock())
            tx.insert_reps(reps, self.clock())
            self.ids = {
                a.id: self.account_index[x]
                for x, a in tx.all_accounts().items()
                if a.id is not None
            }
            self.ledger_ids = {a: i for i, a in self.ids.items()}
            self.rep_ids = {
                r.id: self.rep_index[r.external_id] for r in tx.all_reps() if r.id is not None
            }

    # --- the run -------------------------------------------------------------------------
    def run(self) -> Book:
        self.setup()
        p = self.world.params
        step = p.window_hours * 60.0
        cursor = 0
        for k in range(int(p.days * DAY // step)):
            t0, t1 = k * step, (k + 1) * step
            hour = (t0 % DAY) / 60.0
            review = float(self.review_hour)
            if hour <= review < hour + p.window_hours:
                self._events_until(t0 + (review - hour) * 60.0)
                self._morning(int(t0 // DAY), t0 + (review - hour) * 60.0)
            weekly = int(t0 // DAY) % 7 == 0
            if self.variant.agents and weekly and hour <= 10.0 < hour + p.window_hours:
                self._events_until(t0 + (10.0 - hour) * 60.0)
                self._agents(t0 + (10.0 - hour) * 60.0)
            cursor = self._ingest(cursor, t1)
            if (k + 1) * step % DAY == 0:
                self._flush()
                self.book.load_by_day.append(len(self.held) / (p.capacity * p.reps))
                if self.progress:
                    self.progress()
        self._flush()
        self.book.finish()
        return self.book

    def _morning(self, day: int, at: float) -> None:
        self.clock.now = self.world.at(at)
        run_review(self.ledger, self.clock, self.clock.now.date(), ACTOR)
        rebalance(self.ledger, self.clock, greedy=not self.variant.optimiser, actor=ACTOR)
        self._sync_leases()

    def _ingest(self, cursor: int, t1: float) -> int:
        """Deliver the market's signals up to `t1`: the real-time ones (a hand-raise, a form
        fill, a pricing visit: what a webhook receives) each at its own time, as the webhook
        does; the rest (page views, e-mail engagement, intent and hiring feeds) as one batch
        at the end of the window."""
        w = self.world
        n = len(w.signal_minutes)
        batch: list[SignalDraft] = []
        while cursor < n and w.signal_minutes[cursor] < t1:
            t, a = float(w.signal_minutes[cursor]), int(w.signal_account[cursor])
            kind = SIGNAL_TYPES[int(w.signal_type[cursor])]
            if kind in INBOUND:
                self.book.lead(a, t)
                if kind == "hand_raise":
                    self.book.hand_raises.append((a, t))
            if a not in self.book.customers:
                source = "third_party" if kind in THIRD_PARTY else "first_party"
                ref = AccountRef(account_id=w.account_ids[a])
                draft = SignalDraft(f"sig-{cursor}", ref, kind, w.at(t), source=source)
                if kind in REAL_TIME:
                    self._events_until(t)
                    if kind in INBOUND:
                        self._notify_holder(a, t)
                    self._deliver([draft], t)
                else:
                    batch.append(draft)
            cursor += 1
        self._events_until(t1)
        self._deliver(batch, t1)
        return cursor

    def _deliver(self, drafts: list[SignalDraft], at: float) -> None:
        """One delivery through the signal pipeline (ingest, score, route), as received at `at`."""
        if not drafts:
            return
        self.clock.now = self.world.at(at)
        with self.ledger.transaction() as tx:
            active = self.pipeline.active(tx)
            ingest(tx, drafts, active.policy, self.clock.now, self.pipeline.after_ingest(active))
        self._sync_new_leases()

    def _agents(self, at: float) -> None:
        """The agents' morning round through the gateway's services."""
        w, p = self.world, self.world.params
        self.clock.now = w.at(at)
        claims = claim_accounts(self.ledger, self.clock, AGENT, p.agent_touches_per_week)
        for c in claims.claims:
            a = self.account_index[c.account]
            record_touch(self.ledger, self.clock, AGENT, c.account, "email_sent", self.pipeline)
            opened, hand = self.book.agent_touch(a, at, AGENT)
            if opened is not None:
                self._write_opportunity(opened)
            elif hand:
                self.book.lead(a, at)
                self.book.hand_raises.append((a, at))
                try:
                    raise_hand(self.ledger, self.clock, AGENT, c.account, self.pipeline)
                except ClaimNotHeld:
                    continue
        self._sync_leases()

    # --- leases and touches ----------------------------------------------------------------
    def _sync_leases(self) -> None:
        """Who holds what now, read from the ledger's active leases."""
        with self.ledger.transaction() as tx:
            active = {x.id: x for x in tx.active_leases()}
        self.newest = max(active, default=self.newest)
        for lease_id in [x for x in self.held if x not in active]:
            del self.held[lease_id]
        for lease_id, lease in active.items():
            if lease_id not in self.held:
                self._landed(lease)

    def _sync_new_leases(self) -> None:
        """After a delivery: the leases it granted (a delivery grants, it ends none)."""
        with self.ledger.transaction() as tx:
            recent = tx.find_leases(LeaseFilter(active_only=True, limit=NEW_LEASES_READ))
        new = [x for x in recent if x.id > self.newest]
        if len(new) == NEW_LEASES_READ:
            self._sync_leases()
            return
        for lease in sorted(new, key=lambda x: x.id):
            self._landed(lease)
            self.newest = lease.id

    def _notify_holder(self, account: int, t: float) -> None:
        """An inbound lead on a leased account lands with the lease's rep (as with an owner)."""
        lease_id = self.held_by.get(account)
        if lease_id is None or lease_id not in self.held:
            return
        delay = self._delay(account)
        if math.isfinite(delay):
            self.q.push(t + delay, "touch", lease_id)

    def _delay(self, account: int) -> float:
        k = self.notices[account] % DELAYS_PER_ACCOUNT
        self.notices[account] += 1
        return float(self.world.delays[account, k])

    def _landed(self, lease: Lease) -> None:
        a, rep = self.ids[lease.account_id], self.rep_ids[lease.rep_id]
        self.held[lease.id] = _Held(a, rep, lease.id)
        self.held_by[a] = lease.id
        delay = self._delay(a)
        if math.isfinite(delay):
            self.q.push(self.world.minutes(lease.granted_at) + delay, "touch", lease.id)

    def _events_until(self, end: float) -> None:
        while (event := self.q.next_before(end)) is not None:
            t, kind, payload = event
            if kind == "close":
                self._close(t, payload)
            else:
                self._touch(t, payload)

    def _touch(self, t: float, lease_id: int) -> None:
        held = self.held.get(lease_id)
        if held is None:
            return  # the lease ended meanwhile
        w = self.world
        if not held.worked:
            held.worked = True
            self.book.start_work()
        n = len(self.book.touches)
        self.activities.append(
            Activity(
                f"touch-{n}",
                w.account_ids[held.account],
                "call",
                w.at(t),
                "rep",
                w.rep_ids[held.rep],
            )
        )
        opened = self.book.human_touch(held.account, t, held.rep)
        if opened is not None:
            self._write_opportunity(opened)
        self.q.push(t + w.params.touch_every_days * DAY, "touch", lease_id)

    def _write_opportunity(self, o: Opened) -> None:
        """The CRM records the new opportunity; its lease advances (one more sprint)."""
        w = self.world
        self._flush()
        self.clock.now = w.at(o.created_minutes)
        rep = w.rep_ids[o.rep] if o.rep is not None else None
        opp = Opportunity(
            o.external_id,
            w.account_ids[o.account],
            OPEN_STAGE,
            o.amount,
            self.clock.now.date(),
            w.at(o.close_minutes).date(),  # the CRM's close date: when it will close
            rep,
        )
        with self.ledger.transaction() as tx:
            tx.insert_opportunities([opp], self.clock.now)
            account_id = self.ledger_ids[o.account]
            active = governance.active_policy(tx)
            change = leases.StageChange(account_id, OPEN_STAGE, None, self.clock.now, "crm_sync")
            leases.record_advances(tx, [change], active, ACTOR)
        self.q.push(o.close_minutes, "close", o)

    def _close(self, t: float, o: Opened) -> None:
        self.clock.now = self.world.at(t)
        stage = "closed_won" if o.won else "closed_lost"
        change_stage(self.ledger, self.clock, o.external_id, stage, ACTOR, source="crm_sync")
        with self.ledger.transaction() as tx:
            lines = tx.commission_lines(LineFilter(opportunities=[o.external_id]))
        self.book.close(o, float(sum(x.commission for x in lines)))
        self._sync_leases()

    def _flush(self) -> None:
        if self.activities:
            with self.ledger.transaction() as tx:
                tx.insert_activities(self.activities)
            self.activities = []
