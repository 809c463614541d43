"""`out/demo/report.html`: the comparison as one self-contained page (Plotly inlined)."""

from __future__ import annotations

import html
import math
from pathlib import Path

import plotly.graph_objects as go  # type: ignore[import-untyped]
from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

from dtem.simulator.compare import STATIC, Comparison
from dtem.simulator.params import decay
from dtem.simulator.summary import table_rows, to_json


def write_report(c: Comparison, path: Path, seconds: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figures = [_revenue(c), _decay_curve(c), _phantom(c), _scores(c), _load(c), _fitted_decay()]
    parts = [f.to_html(full_html=False, include_plotlyjs=False) for f in figures]
    header, rows = table_rows(c)
    table = "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"
    for row in rows:
        table += "<tr>" + "".join(f"<td>{html.escape(x)}</td>" for x in row) + "</tr>"
    table += "</table>"
    p = c.params
    lift = to_json(c)["revenue_lift"].get("dtem")
    lift_text = "–" if lift is None else f"{lift:+.1%}"
    took = "" if seconds is None else f" Run time {seconds:.0f} s."
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>DTEM vs static territories — simulated market</title>
<script type="text/javascript">{get_plotlyjs()}</script>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;font-size:14px}}td,th{{border:1px solid #ccc;padding:4px 8px;
text-align:right}}td:first-child,th:first-child{{text-align:left}}</style></head><body>
<h1>DTEM vs static territories</h1>
<p>{p.accounts:,} accounts, {p.reps} reps, {p.days} days, seeds {html.escape(str(c.seeds))}:
the same market (common random numbers) under both policies. Means over seeds; the
difference column is the mean paired difference with its 95% t-interval over seeds.
Revenue lift of DTEM over static: <b>{lift_text}</b>.{took} Model and cited defaults:
docs/simulator.md.</p>
{table}
{"".join(parts)}
</body></html>"""
    path.write_text(page, encoding="utf-8")
    return path


def _revenue(c: Comparison) -> go.Figure:
    fig = go.Figure()
    for policy in c.policies:
        runs = c.results[policy]
        days = len(runs[0].revenue_by_day)
        mean = [sum(r.revenue_by_day[d] for r in runs) / len(runs) for d in range(days)]
        fig.add_scatter(x=list(range(1, days + 1)), y=mean, name=policy, mode="lines")
    fig.update_layout(
        title="Cumulative won revenue (mean over seeds)", xaxis_title="day", yaxis_title="revenue"
    )
    return fig


def _decay_curve(c: Comparison) -> go.Figure:
    data = to_json(c)["policies"]
    fig = go.Figure()
    for policy in c.policies:
        buckets = data[policy]["lead_decay"]
        fig.add_bar(
            x=[b["bucket"] for b in buckets],
            y=[b["win_rate"] or 0.0 for b in buckets],
            name=policy,
            text=[f"{b['won']}/{b['hand_raises']}" for b in buckets],
        )
    fig.update_layout(
        title="Lead decay: win rate of hand-raises by time to first human touch",
        yaxis_tickformat=".0%",
        barmode="group",
    )
    return fig


def _phantom(c: Comparison) -> go.Figure:
    fig = go.Figure()
    for m, label in (
        ("phantom_equity", "phantom equity"),
        ("dead_zones", "dead zones"),
        ("coverage", "coverage"),
    ):
        fig.add_bar(x=c.policies, y=[c.mean(p, m) for p in c.policies], name=label)
    fig.update_layout(
        title="Phantom equity, dead zones and coverage (end of run)",
        yaxis_tickformat=".0%",
        barmode="group",
    )
    return fig


def _scores(c: Comparison) -> go.Figure:
    fig = go.Figure(go.Histogram(x=c.scores, nbinsx=50, name="accounts"))
    fig.update_layout(
        title="Equity scores of every account at the end (DTEM, first seed)",
        xaxis_title="score (0–100)",
        yaxis_title="accounts",
    )
    return fig


def _load(c: Comparison) -> go.Figure:
    fig = go.Figure()
    for policy in c.policies:
        runs = c.results[policy]
        days = len(runs[0].load_by_day)
        mean = [sum(r.load_by_day[d] for r in runs) / len(runs) for d in range(days)]
        fig.add_scatter(x=list(range(1, days + 1)), y=mean, name=policy, mode="lines")
    fig.update_layout(
        title="Rep load: accounts held ÷ capacity", yaxis_tickformat=".0%", xaxis_title="day"
    )
    return fig


def _fitted_decay() -> go.Figure:
    minutes = [math.exp(x / 20) for x in range(0, 170)]
    fig = go.Figure(go.Scatter(x=minutes, y=[decay(m) for m in minutes], mode="lines", name="r(t)"))
    fig.update_layout(
        title="The lead-response curve the market uses (fitted to HBR 2011 and "
        "MIT/InsideSales 2007)",
        xaxis_type="log",
        yaxis_type="log",
        xaxis_title="minutes to first touch",
        yaxis_title="relative chance",
    )
    return fig


__all__ = ["STATIC", "write_report"]
