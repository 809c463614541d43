"""What a training row's label means, who is a row, and why a snapshot may have none.

Labels (`dtem train --label`), for an account at snapshot S and horizon H:

- `won` (default): the account wins any deal in (S, S + H] — a first win or a repeat
  one. Accounts that already won on or before S are rows too: in a CRM where every
  account has bought once, they are the whole market.
- `first-win`: the account's first win falls in (S, S + H]; accounts that already won
  on or before S are customers, not prospects, and are left out.
- `advanced`: one of the account's opportunities moves forward in (S, S + H]: it is
  opened (dated by its created date, else its first stage-history line), a later
  stage-history line ranks later in `policy.stages` than the one before it (a lost
  stage never counts), or it is won (dated like a win).

A win is dated by its close date, else by the first time its stage history reached a
won stage (`TrainingPort.won_outcomes`).

>>> c = Census("first-win", 90, "signalled", accounts=5, signalled=5, customers=5, rows=0,
...            positives=0, events=3)
>>> c.shortage("training", (date(2018, 2, 1),))[:72]
'training: all 5 accounts with a signal had already won by 2018-02-01 and'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from dtem.domain.store_training import OpportunityFact

LABELS = ("won", "first-win", "advanced")
MIN_POSITIVES = 5  # fewer positives than this cannot support a fit


@dataclass(frozen=True)
class Census:
    """How one snapshot's rows came to be (summed over rolling origins)."""

    label: str
    horizon_days: int
    population: str
    accounts: int  # accounts in the ledger
    signalled: int  # of them, with a signal by S
    customers: int  # candidates (population) that had already won on or before S
    rows: int
    positives: int
    events: int  # label events in (S, S + H], any account (wins, or advances)

    def __add__(self, other: Census) -> Census:
        return Census(
            self.label, self.horizon_days, self.population,
            *(getattr(self, k) + getattr(other, k) for k in _COUNTS),
        )  # fmt: skip

    def shortage(
        self, role: str, snapshots: Sequence[date], min_positives: int = MIN_POSITIVES
    ) -> str | None:
        """Which condition left too few rows or positives to fit/judge (None: enough)."""
        s = ", ".join(map(str, snapshots))
        window = f"(S, S+{self.horizon_days}d] after {s}"
        why = self._no_rows(s) if self.rows == 0 else None
        if why is None and self.events == 0:
            what = "no opportunity opened, advanced or was won" if self.label == "advanced" else (
                "no opportunity was won"
            )  # fmt: skip
            why = f"{what} in {window}"
        if why is None and self.positives < min_positives:
            why = (
                f"{self.positives} of {self.rows} rows are positive (--label {self.label}) "
                f"in {window}: need at least {min_positives}"
            )
            if self.events > self.positives and self.label == "first-win":
                why += f" ({self.customers} rows left out had already won: try --label won)"
        if why is None and self.positives == self.rows:
            why = f"all {self.rows} rows are positive in {window}: nothing to tell apart"
        return f"{role}: {why}" if why else None

    def _no_rows(self, s: str) -> str:
        if self.accounts == 0:
            return "the ledger has no accounts"
        if self.population == "signalled" and self.signalled == 0:
            return (
                f"0 of {self.accounts} accounts had a signal by {s} (rows are accounts with a "
                "signal by S; --population all also takes the others)"
            )
        signalled = self.population == "signalled"
        candidates = self.signalled if signalled else self.accounts
        return (
            f"all {candidates} accounts {'with a signal ' if signalled else ''}had already won "
            f"by {s} and --label first-win excludes them (--label won keeps repeat buyers)"
        )


_COUNTS = ("accounts", "signalled", "customers", "rows", "positives", "events")


def advance_events(
    opportunities: Sequence[OpportunityFact], stages: Sequence[str], lost: Sequence[str]
) -> list[tuple[int, datetime | date]]:
    """(account id, when) of every opening and forward stage move (wins are added apart).

    An opening is dated by the created date (the end of that day), else by the first
    stage-history line; only later lines count as moves, and only to a stage ranked
    later in `stages` than the line before (lost stages and unknown labels never do).
    """
    rank = {s: i for i, s in enumerate(stages) if s not in lost}
    out: list[tuple[int, datetime | date]] = []
    for o in opportunities:
        if o.created_date is not None:
            out.append((o.account_id, o.created_date))
        elif o.stages:
            out.append((o.account_id, o.stages[0][1]))
        last = rank.get(o.stages[0][0], -1) if o.stages else -1
        for stage, at in o.stages[1:]:
            r = rank.get(stage)
            if r is not None and r > last:
                out.append((o.account_id, at))
                last = r
    return out
