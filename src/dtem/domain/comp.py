"""Comp plans: the commission rate as a piecewise-linear function of the score at grant.

Money is `Decimal`, rounded half-up to cents; a rate is a fraction of the won amount,
rounded half-up to 6 decimal places (0.0001 %); the score at grant is taken to 2 places.
A plan is effective-dated (`effective_from`, optional inclusive `effective_to`) and may
cap the commission of one deal and of one rep's period. `CompPlan.from_dict` lists every
problem at once (`CompPlanInvalid`, a `PolicyInvalid`: exit 6, HTTP 422).

>>> plan = CompPlan.from_dict({"effective_from": "2027-04-01"})
>>> plan.rate_at(Decimal("30")), plan.rate_at(Decimal("80"))
(Decimal('0.160000'), Decimal('0.085000'))
>>> plan.deal_commission(Decimal("10000.00"), plan.rate_at(Decimal("80")))
Decimal('850.00')
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from dtem.domain.errors import PolicyInvalid

CENT = Decimal("0.01")
RATE_STEP = Decimal("0.000001")
SCORE_STEP = Decimal("0.01")
DEFAULT_CURVE = (("0", "0.20"), ("60", "0.12"), ("100", "0.05"))


class CompPlanInvalid(PolicyInvalid):
    """A comp plan breaks a rule; `problems` lists every broken rule."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        Exception.__init__(self, "invalid comp plan: " + "; ".join(problems))


def money(value: Decimal | float | int | str) -> Decimal:
    """An amount rounded half-up to cents. `money(12.345)` → `Decimal('12.35')`."""
    exact = value if isinstance(value, Decimal) else _decimal(value)
    if exact is None:
        raise ValueError(f"{value!r} is not an amount of money")
    return exact.quantize(CENT, ROUND_HALF_UP)


def score_at_grant(score: float | Decimal) -> Decimal:
    """A lease's score as commission reads it: 2 decimal places, half-up."""
    exact = score if isinstance(score, Decimal) else Decimal(repr(float(score)))
    return exact.quantize(SCORE_STEP, ROUND_HALF_UP)


@dataclass(frozen=True)
class CurvePoint:
    score: Decimal
    rate: Decimal


@dataclass(frozen=True)
class CompPlan:
    """One comp plan document (what `dtem comp plan store FILE` reads)."""

    effective_from: date
    curve: tuple[CurvePoint, ...] = field(
        default_factory=lambda: tuple(CurvePoint(Decimal(s), Decimal(r)) for s, r in DEFAULT_CURVE)
    )
    effective_to: date | None = None  # inclusive; None = until a later plan starts
    deal_cap: Decimal | None = None  # most commission one deal can pay
    period_cap: Decimal | None = None  # most commission one rep earns in one period
    fiscal_year_start_month: int = 1
    name: str = ""

    def rate_at(self, score: Decimal) -> Decimal:
        """The rate at a score: linear between points, flat beyond the first and last."""
        pts = self.curve
        if score <= pts[0].score:
            return pts[0].rate.quantize(RATE_STEP, ROUND_HALF_UP)
        for lo, hi in itertools.pairwise(pts):
            if score <= hi.score:
                rate = lo.rate + (score - lo.score) * (hi.rate - lo.rate) / (hi.score - lo.score)
                return rate.quantize(RATE_STEP, ROUND_HALF_UP)
        return pts[-1].rate.quantize(RATE_STEP, ROUND_HALF_UP)

    def deal_commission(self, amount: Decimal, rate: Decimal) -> Decimal:
        """rate × amount, half-up to cents, no more than the deal cap."""
        paid = money(rate * amount)
        return min(paid, self.deal_cap) if self.deal_cap is not None else paid

    def covers(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def to_dict(self) -> dict[str, Any]:
        """The stored document: decimals as strings, so JSON keeps them exact."""
        return {
            "name": self.name,
            "effective_from": self.effective_from.isoformat(),
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
            "fiscal_year_start_month": self.fiscal_year_start_month,
            "curve": [[str(p.score), str(p.rate)] for p in self.curve],
            "deal_cap": None if self.deal_cap is None else str(self.deal_cap),
            "period_cap": None if self.period_cap is None else str(self.period_cap),
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> CompPlan:
        """Validate a document; raise `CompPlanInvalid` with every problem."""
        problems: list[str] = []
        unknown = sorted(set(doc) - _FIELDS)
        problems += [f"unknown field {k!r}" for k in unknown]
        start = _date(doc.get("effective_from"), "effective_from", problems, required=True)
        end = _date(doc.get("effective_to"), "effective_to", problems)
        month = doc.get("fiscal_year_start_month", 1)
        month_ok = isinstance(month, int) and not isinstance(month, bool) and 1 <= month <= 12
        if not month_ok:
            problems.append(f"fiscal_year_start_month {month!r} is not a month 1-12")
            month = 1
        curve = _curve(doc.get("curve", [list(p) for p in DEFAULT_CURVE]), problems)
        caps = {k: _cap(doc.get(k), k, problems) for k in ("deal_cap", "period_cap")}
        if start and end and end < start:
            problems.append(f"effective_to {end} is before effective_from {start}")
        if start and month_ok and start != quarter_start(start, month):
            problems.append(
                f"effective_from {start} is not the first day of a fiscal quarter "
                f"(the fiscal year starts in month {month}: quarters start on "
                f"{', '.join(str(q) for q in fiscal_quarter_months(month))})"
            )
        if problems or start is None:
            raise CompPlanInvalid(problems or ["effective_from is required"])
        name = str(doc.get("name") or "")
        return cls(start, curve, end, caps["deal_cap"], caps["period_cap"], month, name)


_FIELDS = {
    "name",
    "effective_from",
    "effective_to",
    "fiscal_year_start_month",
    "curve",
    "deal_cap",
    "period_cap",
}


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        out = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return out if out.is_finite() else None


def _curve(raw: Any, problems: list[str]) -> tuple[CurvePoint, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        problems.append("curve needs at least two [score, rate] points")
        return ()
    points: list[CurvePoint] = []
    for i, item in enumerate(raw, 1):
        if isinstance(item, dict):
            pair = [item.get("score"), item.get("rate")]
        else:
            pair = list(item) if isinstance(item, list | tuple) else []
        score, rate = (_decimal(v) for v in pair) if len(pair) == 2 else (None, None)
        if score is None or rate is None:
            problems.append(f"curve point {i} {item!r} is not a [score, rate] pair of numbers")
            continue
        if not 0 <= score <= 100:
            problems.append(f"curve point {i}: score {score} is outside [0, 100]")
        if not 0 <= rate <= 1:
            problems.append(f"curve point {i}: rate {rate} is outside [0, 1]")
        elif rate != rate.quantize(RATE_STEP):
            problems.append(f"curve point {i}: rate {rate} has more than 6 decimal places")
        points.append(CurvePoint(score, rate))
    scores = [p.score for p in points]
    if any(b <= a for a, b in itertools.pairwise(scores)):
        problems.append("curve scores must be strictly increasing: " + ", ".join(map(str, scores)))
    return tuple(points)


def _cap(raw: Any, name: str, problems: list[str]) -> Decimal | None:
    if raw is None:
        return None
    value = _decimal(raw)
    if value is None or value < 0:
        problems.append(f"{name} {raw!r} is not a non-negative amount")
        return None
    return money(value)


def _date(raw: Any, name: str, problems: list[str], required: bool = False) -> date | None:
    if raw is None or raw == "":
        if required:
            problems.append(f"{name} is required (a date, e.g. 2027-04-01)")
        return None
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        problems.append(f"{name} {raw!r} is not a date (YYYY-MM-DD)")
        return None


# --- fiscal quarters ---------------------------------------------------------------------
def fiscal_quarter_months(start_month: int) -> list[int]:
    """The months a fiscal quarter starts in: `fiscal_quarter_months(2)` → [2, 5, 8, 11]."""
    return sorted((start_month - 1 + 3 * k) % 12 + 1 for k in range(4))


def quarter_start(on: date, start_month: int) -> date:
    """The first day of the fiscal quarter holding `on`."""
    offset = (on.month - start_month) % 3
    month_index = on.year * 12 + on.month - 1 - offset
    return date(month_index // 12, month_index % 12 + 1, 1)


def next_quarter_start(on: date, start_month: int) -> date:
    """The first day of the fiscal quarter after the one holding `on`."""
    first = quarter_start(on, start_month)
    month_index = first.year * 12 + first.month - 1 + 3
    return date(month_index // 12, month_index % 12 + 1, 1)
