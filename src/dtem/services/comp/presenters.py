"""Statements, plans and simulations as plain rows and JSON (decimals as exact strings).

Shared by the CLI and the API so both print the same numbers.
"""

from __future__ import annotations

from typing import Any

from dtem.domain.comp_schedule import StoredPlan
from dtem.services.comp.simulate import Simulation
from dtem.services.comp.statements import Statement

STATEMENT_COLUMNS = (
    "line",
    "kind",
    "opportunity",
    "account",
    "lease",
    "won_on",
    "score_at_grant",
    "plan_version",
    "rate",
    "amount",
    "commission",
    "reason",
)


def statement_rows(st: Statement) -> list[list[str]]:
    """One row of `STATEMENT_COLUMNS` per line, every value a string."""
    return [
        [
            str(x.line.id),
            x.line.kind,
            x.line.opportunity,
            x.account,
            str(x.line.lease_id),
            x.line.won_on.isoformat(),
            str(x.line.score_at_grant),
            str(x.line.plan_version),
            str(x.line.rate),
            str(x.line.amount),
            str(x.line.commission),
            x.line.reason,
        ]
        for x in st.lines
    ]


def statement_json(st: Statement) -> dict[str, Any]:
    lines: list[dict[str, Any]] = []
    for row, x in zip(statement_rows(st), st.lines, strict=True):
        line: dict[str, Any] = dict(zip(STATEMENT_COLUMNS, row, strict=True))
        line |= {"line": x.line.id, "lease": x.line.lease_id, "plan_version": x.line.plan_version}
        lines.append(line | {"period": x.line.period})
    return {
        "rep": st.rep,
        "rep_name": st.rep_name,
        "period": st.period,
        "locked": st.locked,
        "closed_at": st.closed_at.isoformat() if st.closed_at else None,
        "lines": lines,
        "total_amount": str(st.total_amount),
        "total_commission": str(st.total_commission),
    }


def plan_json(p: StoredPlan) -> dict[str, Any]:
    return {
        "version": p.version,
        "created_at": p.created_at.isoformat(),
        "created_by": p.created_by,
        "note": p.note,
        "plan": p.plan.to_dict(),
    }


def simulation_json(sim: Simulation) -> dict[str, Any]:
    return {
        "from": sim.start,
        "to": sim.end,
        "plan": sim.plan.to_dict(),
        "reps": [
            {
                "rep": r.rep,
                "deals": r.deals,
                "amount": str(r.amount),
                "paid": str(r.paid),
                "simulated": str(r.simulated),
                "difference": str(r.difference),
            }
            for r in sim.reps
        ],
    }
