"""A generated CRM with repeat buyers: every account has bought once by mid-year.

One year (2025) of history drawn from a known process, written into any ledger (memory,
SQLite, PostgreSQL) through its ports:

- accounts with an industry, a size and a hidden *heat*; signals (web visits, pricing
  visits, hand-raises) arrive at a rate proportional to heat;
- reps with a hidden *skill*;
- every account tries until it wins a first deal between January and mid-June (an
  attempt is won with P = sigmoid(0.3 + skill(rep)), so reps' records differ), and by
  July every account is a customer (`--label first-win` finds no rows after that);
- afterwards accounts open repeat deals at a rate that grows with heat; each deal's
  true P(win) = sigmoid(b + skill(rep) + 0.8·log(heat) − 0.5·log(amount / 20,000)
  + product effect),
  and its stages move discovery → proposal → negotiation → closed won, or stop at a
  random stage and close lost. Stage history lines carry their real dates (as a CRM
  sync writes them), so the stage an open deal had at a past date can be read.

>>> # crm = generate_crm(ledger, seed=3); crm.accounts, crm.first_wins_by
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np

from dtem.adapters.ledger.sql import SqlTx
from dtem.domain.clock import FixedClock
from dtem.domain.model import Account, Opportunity, Rep
from dtem.domain.signals import SignalRecord
from dtem.domain.store_imports import StageEntry
from dtem.services.governance import ensure_policy

START = date(2025, 1, 1)
END = date(2026, 1, 31)
FIRST_WINS_BY = date(2025, 6, 15)
OPEN_STAGES = ("discovery", "proposal", "negotiation")
PRODUCTS = {"Analytics": 0.5, "Platform": 0.0, "Support": -0.6}  # logit effect on P(win)
_SIGNALS = (("web_visit", 0.06), ("pricing_visit", 0.02), ("hand_raise", 0.006))


@dataclass(frozen=True)
class Crm:
    accounts: int
    reps: int
    opportunities: int
    repeat_wins: int
    first_wins_by: date


def _at(d: date, hour: float = 12.0) -> datetime:
    return datetime.combine(d, time(), UTC) + timedelta(hours=hour)


def generate_crm(ledger: Any, seed: int = 3, n_accounts: int = 500, n_reps: int = 8) -> Crm:
    """Write the CRM into `ledger` (its policy ensured first) and say what it holds."""
    rng = np.random.default_rng(seed)
    clock = FixedClock(_at(END))
    ensure_policy(ledger, clock)
    accounts = [
        Account(f"C{i}", f"Customer {i}", industry=str(rng.choice(["software", "retail"])),
                employees=int(rng.choice([40, 400, 4000])))
        for i in range(n_accounts)
    ]  # fmt: skip
    skill = rng.normal(0.0, 0.7, n_reps)
    reps = [Rep(f"R{i}", f"Rep {i}", capacity=400) for i in range(n_reps)]
    heat = rng.gamma(1.5, 1.0, n_accounts)
    opps: list[Opportunity] = []
    stages: list[StageEntry] = []
    signals: list[SignalRecord] = []
    with ledger.transaction() as tx:
        tx.insert_accounts(accounts, clock())
        tx.insert_reps(reps, clock())
        ids = tx.all_account_ids()
        for i, acc in enumerate(accounts):
            signals += _signals(rng, ids[acc.external_id], float(heat[i]), i)
            _first_deal(rng, acc, i, skill, opps, stages)
            _repeat_deals(rng, acc, i, float(heat[i]), skill, opps, stages)
        tx.insert_opportunities(opps, clock())
        tx.append_stage_history(stages)
        _insert_signals(tx, signals)
    repeat = sum(o.stage == "closed_won" and o.external_id.endswith("r") for o in opps)
    return Crm(n_accounts, n_reps, len(opps), repeat, FIRST_WINS_BY)


def _signals(rng: np.random.Generator, account_id: int, heat: float, i: int) -> list[SignalRecord]:
    out = []
    days = (END - START).days
    for kind, rate in _SIGNALS:
        for k in range(rng.poisson(rate * heat * days)):
            at = _at(START, float(rng.uniform(0, days * 24)))
            out.append(SignalRecord(f"s{i}-{kind}-{k}", f"id:{account_id}", "id", kind, at, 1.0,
                                    "first_party", at, account_id=account_id))  # fmt: skip
    return out


def _first_deal(
    rng: np.random.Generator, acc: Account, i: int, skill: np.ndarray,
    opps: list[Opportunity], stages: list[StageEntry],
) -> None:  # fmt: skip
    """Deals until the account's first purchase, won before FIRST_WINS_BY.

    Attempts are won with P = sigmoid(0.3 + skill(rep)); a lost attempt is followed by
    another, and the one that would end after March is won whatever: every account buys.
    """
    opened = START + timedelta(days=int(rng.integers(0, 40)))
    for k in range(1, 20):
        rep = int(rng.integers(0, len(skill)))
        closed = opened + timedelta(days=int(rng.integers(10, 40)))
        last = opened > date(2025, 3, 31)
        won = last or rng.random() < 1.0 / (1.0 + math.exp(-(0.3 + skill[rep])))
        key, final = f"O{i}-f{k}", "closed_won" if won else "closed_lost"
        opps.append(Opportunity(key, acc.external_id, final, 15_000.0, opened, closed, f"R{rep}"))
        stages += [StageEntry(key, "discovery", _at(opened), "crm_sync"),
                   StageEntry(key, final, _at(closed), "crm_sync")]  # fmt: skip
        if won:
            return
        opened = closed + timedelta(days=int(rng.integers(1, 20)))


def _repeat_deals(
    rng: np.random.Generator, acc: Account, i: int, heat: float, skill: np.ndarray,
    opps: list[Opportunity], stages: list[StageEntry],
) -> None:  # fmt: skip
    """Repeat deals from July on: more of them, and likelier won, for hotter accounts."""
    day = date(2025, 7, 1)
    k = 0
    while True:
        day += timedelta(days=int(rng.exponential(80.0 / heat)) + 1)
        if day > date(2025, 12, 15):
            return
        k += 1
        rep = int(rng.integers(0, len(skill)))
        amount = float(np.round(rng.lognormal(math.log(20_000), 0.6), -2))
        product = str(rng.choice(list(PRODUCTS)))
        logit = -0.6 + skill[rep] + 0.8 * math.log(heat) - 0.5 * math.log(amount / 20_000)
        logit += PRODUCTS[product]
        won = rng.random() < 1.0 / (1.0 + math.exp(-logit))
        key = f"O{i}-{k + 1}r"
        path, closed = _path(rng, day, won)
        path = [(s, d) for s, d in path if d <= END]  # the export is taken at END
        final = "closed_won" if won else "closed_lost"
        close = closed if closed <= END else None
        opps.append(Opportunity(key, acc.external_id, final if close else path[-1][0],
                                amount, day, close, f"R{rep}", product=product))  # fmt: skip
        stages += [StageEntry(key, s, _at(d), "crm_sync") for s, d in path]
        if close:
            stages.append(StageEntry(key, final, _at(close, 18.0), "crm_sync"))


def _path(rng: np.random.Generator, opened: date, won: bool) -> tuple[list[tuple[str, date]], date]:
    """Stages reached (with dates) and the close date; a lost deal stops at a random stage."""
    reached = 3 if won else int(rng.integers(1, 4))
    path, day = [], opened
    for stage in OPEN_STAGES[:reached]:
        path.append((stage, day))
        day += timedelta(days=int(rng.integers(7, 30)))
    return path, day


def _insert_signals(tx: Any, records: list[SignalRecord]) -> None:
    """Bulk rows on SQL ledgers (the ingestion path has its own contract tests)."""
    if not isinstance(tx, SqlTx):
        tx.insert_signals(records)
        return
    import sqlalchemy as sa

    from dtem.adapters.ledger import tables

    rows = [
        {"event_id": r.event_id, "account_id": r.account_id, "account_key": r.account_key,
         "key_kind": r.key_kind, "type": r.type, "source": r.source, "value": r.value,
         "occurred_at": r.occurred_at, "received_at": r.received_at, "attributes": {}}
        for r in records
    ]  # fmt: skip
    if rows:
        tx.conn.execute(sa.insert(tables.signals), rows)


def main(argv: list[str] | None = None) -> None:
    """`python -m tests.crm_history URL [--accounts N] [--seed K]`: write the CRM to a ledger."""
    import argparse

    from dtem.adapters.ledger.engine import make_engine, migrate
    from dtem.adapters.ledger.sql import SqlLedger

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("url")
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    engine = make_engine(args.url)
    migrate(engine)
    print(generate_crm(SqlLedger(engine), seed=args.seed, n_accounts=args.accounts))


if __name__ == "__main__":
    main()
