"""Training rows: features as of a snapshot, labels from the horizon after it.

A row is one account at one snapshot S. Its features use only signals at or before
the end of day S; its label is 1 when the account's label event (a win, a first win,
or an advance: `dtem.services.training.labels`) falls in (S, S + horizon]. With
`--label first-win`, accounts that already won on or before S are customers, not
prospects, and are left out. With `population="signalled"` (the default) only
accounts with at least one signal by S are rows: an account the ledger had not heard
of yet was not on anyone's radar at S (Olist leads exist only from their first contact).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

import numpy as np
import numpy.typing as npt

from dtem.domain.model import Account, size_band
from dtem.domain.ports import DirectoryPort, TrainingPort
from dtem.domain.scoring import SECONDS_PER_DAY, decay_rate, epoch_seconds
from dtem.domain.store_training import OpportunityFact, OutcomeFact
from dtem.domain.training import FloatArray, decayed_intensities
from dtem.services.training.labels import Census, advance_events

IntArray = npt.NDArray[np.int64]
FIT_TERMS = ("industry", "size_band")
_LEAK_SHARE = 0.9  # share of winners with a field that is rare overall: post-outcome data


class _History(DirectoryPort, TrainingPort, Protocol):
    """Accounts, and the signals and won outcomes training learns from."""


def day_end(d: date) -> datetime:
    """The instant a snapshot date stands for: the end of that day, UTC."""
    return datetime.combine(d + timedelta(days=1), time(), tzinfo=UTC)


def industry_key(industry: str | None) -> str:
    """The key of `fit_industry`, normalised like `dtem.domain.model.segment_of`."""
    return (industry or "unknown").strip().lower()


@dataclass(frozen=True)
class History:
    """Everything training reads from the ledger, as arrays indexed by account position."""

    account_ids: IntArray
    industries: tuple[str, ...]
    size_bands: tuple[str, ...]
    employees: tuple[int | None, ...]
    types: tuple[str, ...]  # signal types seen in the history, in first-seen order
    sig_account: IntArray  # position of each signal's account
    sig_type: IntArray  # index into `types`
    sig_seconds: FloatArray  # occurred_at in epoch seconds (UTC)
    sig_value: FloatArray
    win_account: IntArray
    win_seconds: FloatArray  # end of the win date, in epoch seconds
    # Account fields a single-field base rate may use (country, region, owner), by position.
    attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Openings and forward stage moves (`labels.advance_events`), for --label advanced.
    adv_account: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    adv_seconds: FloatArray = field(default_factory=lambda: np.zeros(0))
    opportunities: tuple[OpportunityFact, ...] = ()


@dataclass(frozen=True)
class Rows:
    """Training or holdout rows: log1p intensities per type, segments, labels."""

    snapshot: date
    account_ids: IntArray
    log_intensity: FloatArray  # shape (rows, len(types))
    industries: tuple[str, ...]
    size_bands: tuple[str, ...]
    labels: IntArray
    # Fields as filled (origin = first signal type by S; industry, size band, owner…),
    # kept even when a fit term is left out: the baselines read them.
    attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    last_signal_days: FloatArray | None = None  # days from the last signal to S (recency)
    census: Census | None = None  # how these rows came to be (for messages)


def load_history(
    tx: _History,
    until: date,
    won_stages: Sequence[str],
    stages: Sequence[str] = (),
    lost_stages: Sequence[str] = (),
) -> History:
    """Read accounts, signals up to `until`, every won outcome and every opportunity.

    `stages` (the policy's order) and `lost_stages` date the advances of --label advanced.
    """
    accounts = sorted(tx.all_accounts().values(), key=lambda a: a.id or 0)
    pos = {a.id: i for i, a in enumerate(accounts)}
    types: dict[str, int] = {}
    acc: list[int] = []
    typ: list[int] = []
    days: list[float] = []
    val: list[float] = []
    for s in tx.training_signals(day_end(until)):
        if s.account_id in pos:
            acc.append(pos[s.account_id])
            typ.append(types.setdefault(s.type, len(types)))
            days.append(epoch_seconds(s.occurred_at))
            val.append(s.value)
    wins = [w for w in tx.won_outcomes(won_stages) if w.account_id in pos]
    opps = tuple(o for o in tx.opportunity_histories() if o.account_id in pos)
    h = _history(accounts, tuple(types), (acc, typ, days, val), wins, pos)
    moves = advance_events(opps, stages, lost_stages) if stages else []
    moves += [(w.account_id, w.on) for w in wins]
    return replace(
        h,
        adv_account=np.array([pos[a] for a, _ in moves], dtype=np.int64),
        adv_seconds=np.array([_seconds(when) for _, when in moves], dtype=np.float64),
        opportunities=opps,
    )


def _seconds(when: datetime | date) -> float:
    """A timestamp as is; a date stands for the end of that day (like a win date)."""
    return epoch_seconds(when if isinstance(when, datetime) else day_end(when))


def _history(
    accounts: list[Account],
    types: tuple[str, ...],
    sig: tuple[list[int], list[int], list[float], list[float]],
    wins: list[OutcomeFact],
    pos: dict[int | None, int],
) -> History:
    return History(
        account_ids=np.array([a.id for a in accounts], dtype=np.int64),
        industries=tuple(industry_key(a.industry) for a in accounts),
        size_bands=tuple(size_band(a.employees) for a in accounts),
        employees=tuple(a.employees for a in accounts),
        types=types,
        sig_account=np.array(sig[0], dtype=np.int64),
        sig_type=np.array(sig[1], dtype=np.int64),
        sig_seconds=np.array(sig[2], dtype=np.float64),
        sig_value=np.array(sig[3], dtype=np.float64),
        win_account=np.array([pos[w.account_id] for w in wins], dtype=np.int64),
        win_seconds=np.array([epoch_seconds(day_end(w.on)) for w in wins], dtype=np.float64),
        attributes={
            "country": tuple(_filled(a.country) for a in accounts),
            "region": tuple(_filled(a.region) for a in accounts),
            "owner": tuple(_filled(a.static_owner) for a in accounts),
        },
    )


def _filled(value: str | None) -> str:
    return (value or "unknown").strip().lower() or "unknown"


def build_rows(
    h: History,
    snapshot: date,
    horizon_days: int,
    half_lives: dict[str, float],
    columns: Sequence[str],
    population: str = "signalled",
    label_name: str = "won",
) -> Rows:
    """Rows of every eligible account at `snapshot`, with features in `columns` order.

    `label_name`: won, first-win or advanced (`dtem.services.training.labels`).
    """
    at = epoch_seconds(day_end(snapshot))
    n = len(h.account_ids)
    won_before = np.zeros(n, dtype=bool)
    np.logical_or.at(won_before, h.win_account, h.win_seconds <= at)
    advanced = label_name == "advanced"
    ev_account = h.adv_account if advanced else h.win_account
    ev_seconds = h.adv_seconds if advanced else h.win_seconds
    label = np.zeros(n, dtype=np.int64)
    in_window = (ev_seconds > at) & (ev_seconds <= at + horizon_days * SECONDS_PER_DAY)
    np.maximum.at(label, ev_account, in_window.astype(np.int64))
    seen = h.sig_seconds <= at
    signalled = np.zeros(n, dtype=bool)
    signalled[h.sig_account[seen]] = True
    candidate = signalled if population == "signalled" else np.ones(n, dtype=bool)
    keep = candidate & ~won_before if label_name == "first-win" else candidate
    census = Census(
        label_name, horizon_days, population, n, int(signalled.sum()),
        int((candidate & won_before).sum()), int(keep.sum()), int(label[keep].sum()),
        int(in_window.sum()),
    )  # fmt: skip
    intensity = _intensity_columns(h, seen, at, half_lives, columns, n)
    idx = np.flatnonzero(keep)
    origin, last = _origin_and_last(h, seen, at, n)
    fields = {"origin": origin, "industry": h.industries, "size_band": h.size_bands}
    return Rows(
        snapshot=snapshot,
        account_ids=h.account_ids[idx],
        log_intensity=np.log1p(intensity[idx]),
        industries=tuple(h.industries[i] for i in idx),
        size_bands=tuple(h.size_bands[i] for i in idx),
        labels=label[idx],
        attributes={k: tuple(v[i] for i in idx) for k, v in (fields | h.attributes).items()},
        last_signal_days=last[idx],
        census=census,
    )


def _origin_and_last(
    h: History, seen: npt.NDArray[np.bool_], at: float, n: int
) -> tuple[tuple[str, ...], FloatArray]:
    """Each account's first signal type by S (its origin) and days since its last signal."""
    acc, sec, typ = h.sig_account[seen], h.sig_seconds[seen], h.sig_type[seen]
    last = np.full(n, -np.inf)
    np.maximum.at(last, acc, sec)
    order = np.lexsort((sec, acc))  # by account, then time: the first of each is its origin
    head = order[np.r_[True, acc[order][1:] != acc[order][:-1]]] if len(order) else order
    origin = ["none"] * n
    for i in head:
        origin[int(acc[i])] = h.types[int(typ[i])]
    days: FloatArray = np.where(np.isfinite(last), (at - last) / SECONDS_PER_DAY, 1e6)
    return tuple(origin), days


def _intensity_columns(
    h: History,
    seen: npt.NDArray[np.bool_],
    at: float,
    half_lives: dict[str, float],
    columns: Sequence[str],
    n: int,
) -> FloatArray:
    col_of_type = np.array([columns.index(t) for t in h.types], dtype=np.int64)
    rates = np.array([decay_rate(half_lives[c]) for c in columns], dtype=np.float64)
    return decayed_intensities(
        h.sig_account[seen],
        col_of_type[h.sig_type[seen]] if len(h.types) else h.sig_type[seen],
        at - h.sig_seconds[seen],
        h.sig_value[seen],
        rates,
        n,
    )


def stack(rows: Sequence[Rows]) -> Rows:
    """Several snapshots' rows as one training set (rolling origin)."""
    return Rows(
        snapshot=max(r.snapshot for r in rows),
        account_ids=np.concatenate([r.account_ids for r in rows]),
        log_intensity=np.vstack([r.log_intensity for r in rows]),
        industries=tuple(x for r in rows for x in r.industries),
        size_bands=tuple(x for r in rows for x in r.size_bands),
        labels=np.concatenate([r.labels for r in rows]),
        attributes={
            k: tuple(x for r in rows for x in r.attributes.get(k, ())) for k in rows[0].attributes
        },
        last_signal_days=np.concatenate([_last(r) for r in rows]),
        census=_summed([r.census for r in rows]),
    )


def _summed(censuses: Sequence[Census | None]) -> Census | None:
    known = [c for c in censuses if c is not None]
    if not known:
        return None
    total = known[0]
    for c in known[1:]:
        total = total + c
    return total


def _last(rows: Rows) -> FloatArray:
    if rows.last_signal_days is None:
        return np.full(len(rows.labels), 1e6)
    return rows.last_signal_days


def without_terms(rows: Rows, keep: Sequence[str]) -> Rows:
    """The rows with the firmographic terms not in `keep` blanked (one level: not fitted).

    A field filled only once a deal is won (Olist's business segment) would leak the
    label; leaving its term out keeps the model honest.
    """
    blank = ("*",) * len(rows.labels)
    return replace(
        rows,
        industries=rows.industries if "industry" in keep else blank,
        size_bands=rows.size_bands if "size_band" in keep else blank,
    )


def leak_warnings(train: Rows) -> list[str]:
    """Warn when a firmographic field is known for few accounts but nearly every winner.

    That is the shape of a field filled in once a deal is won (a label leak): the
    ledger keeps current values, not the values as of the snapshot.
    """
    out = []
    won = train.labels.astype(bool)
    for name, values in (("industry", train.industries), ("size_band", train.size_bands)):
        known = np.array([v not in ("unknown", "*") for v in values], dtype=bool)
        if won.sum() < 5 or not known.any():
            continue
        row_share, win_share = known.mean(), known[won].mean()
        if win_share >= _LEAK_SHARE and row_share <= 0.5:
            out.append(
                f"{name} is known for {row_share:.0%} of training rows but {win_share:.0%} "
                "of the won ones: is it filled in after the deal (a label leak)? "
                "Leave it out with --fit-terms"
            )
    return out
