"""The comparison as rows and JSON (what the CLI prints and the report shows)."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from dtem.simulator.compare import STATIC, Comparison, Difference, Sensitivity, relative
from dtem.simulator.metrics import METRICS

LABELS: dict[str, str] = {
    "revenue": "revenue",
    "wins": "wins (new customers)",
    "win_rate": "win rate",
    "cycle_days": "cycle length (days, median)",
    "cac": "CAC (human + agent cost / new customer)",
    "phantom_equity": "phantom equity",
    "dead_zones": "dead zones (no touch 2 d after entering market)",
    "coverage": "coverage (any touch)",
    "rep_utilisation": "rep utilisation",
    "commission": "commission cost",
}
SHARES = frozenset({"win_rate", "phantom_equity", "dead_zones", "coverage", "rep_utilisation"})


def fmt(metric: str, value: float) -> str:
    if math.isnan(value):
        return "–"
    if metric in SHARES:
        return f"{value:.1%}"
    if metric in ("wins", "cycle_days"):
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def fmt_diff(metric: str, mean: float, low: float, high: float) -> str:
    if math.isnan(mean):
        return "–"
    if metric in SHARES:
        body = f"{mean * 100:+.1f} pp"
        band = "" if math.isnan(low) else f" [{low * 100:+.1f}, {high * 100:+.1f}]"
        return body + band
    body = f"{mean:+,.1f}" if metric in ("wins", "cycle_days") else f"{mean:+,.0f}"
    if math.isnan(low):
        return body
    if metric in ("wins", "cycle_days"):
        return body + f" [{low:+,.1f}, {high:+,.1f}]"
    return body + f" [{low:+,.0f}, {high:+,.0f}]"


def table_rows(c: Comparison) -> tuple[list[str], list[list[str]]]:
    """Header and rows: each metric, each policy's mean, each variant's paired difference."""
    variants = [p for p in c.policies if p != STATIC]
    header = ["metric", STATIC, *variants, *[f"{v} − static (95% CI)" for v in variants]]
    rows = []
    for m in METRICS:
        row = [LABELS[m]] + [fmt(m, c.mean(p, m)) for p in c.policies]
        for v in variants:
            d = c.difference(v, m)
            row.append(fmt_diff(m, d.mean, d.low, d.high))
        rows.append(row)
    return header, rows


def split_rows(c: Comparison) -> list[tuple[list[str], list[list[str]]]]:
    """With ablations the table is too wide for a terminal: means, then differences."""
    header, rows = table_rows(c)
    n = len(c.policies)
    if n <= 2:
        return [(header, rows)]
    means = ([header[0], *header[1 : n + 1]], [[r[0], *r[1 : n + 1]] for r in rows])
    diffs = ([header[0], *header[n + 1 :]], [[r[0], *r[n + 1 :]] for r in rows])
    return [means, diffs]


def to_json(c: Comparison) -> dict[str, Any]:
    out: dict[str, Any] = {
        "params": {
            k: (v.isoformat() if hasattr(v, "isoformat") else v)
            for k, v in asdict(c.params).items()
        },
        "seeds": c.seeds,
        "policies": {},
        "differences": {},
    }
    for p in c.policies:
        out["policies"][p] = {m: _num(c.mean(p, m)) for m in METRICS}
        out["policies"][p]["lead_decay"] = _decay(c, p)
        if p != STATIC:
            out["differences"][p] = {
                m: {k: _num(v) for k, v in asdict(c.difference(p, m)).items()} for m in METRICS
            }
    out["revenue_lift"] = {p: _num(c.lift(p)) for p in c.policies if p != STATIC}
    return out


def _decay(c: Comparison, policy: str) -> list[dict[str, Any]]:
    """Hand-raises and wins per response bucket, summed over seeds."""
    totals: dict[str, list[int]] = {}
    for r in c.results[policy]:
        for b in r.decay:
            cell = totals.setdefault(b.bucket, [0, 0])
            cell[0] += b.hand_raises
            cell[1] += b.won
    return [
        {"bucket": k, "hand_raises": n, "won": w, "win_rate": (w / n if n else None)}
        for k, (n, w) in totals.items()
    ]


def _num(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 6)


def _pct(d: Difference) -> str:
    if math.isnan(d.mean):
        return "–"
    band = "" if math.isnan(d.low) else f" [{d.low:+.0%}, {d.high:+.0%}]"
    return f"{d.mean:+.0%}{band}"


def sensitivity_rows(
    base: Comparison, rows: list[Sensitivity]
) -> tuple[list[str], list[list[str]]]:
    """One row per assumption: its default, and the lift at ×0.5, ×1 and ×2."""
    header = ["assumption", "default", "lift halved", "lift at default", "lift doubled"]
    at_one = _pct(relative(base))
    body = []
    for r in rows:
        low, high = r.factors
        up = _pct(r.lifts[high]) + ("" if high == 2.0 else f" (×{high:g})")
        body.append([r.name, f"{r.base:g}", _pct(r.lifts[low]), at_one, up])
    return header, body


def sensitivity_json(base: Comparison, rows: list[Sensitivity]) -> dict[str, Any]:
    def d(x: Difference) -> dict[str, float | None]:
        return {"lift": _num(x.mean), "low": _num(x.low), "high": _num(x.high)}

    return {
        "seeds": base.seeds,
        "accounts": base.params.accounts,
        "reps": base.params.reps,
        "days": base.params.days,
        "lift": d(relative(base)),
        "assumptions": [
            {
                "name": r.name,
                "default": r.base,
                "factors": list(r.factors),
                "half": d(r.lifts[r.factors[0]]),
                "double": d(r.lifts[r.factors[1]]),
                "static_revenue_half": _num(r.static_revenue[r.factors[0]]),
                "static_revenue_double": _num(r.static_revenue[r.factors[1]]),
            }
            for r in rows
        ],
    }
