"""Statements on every routing decision and lease grant, built once; decision rows.

Building a Core statement per call (`sa.select(...).where(...)`, `insert().values(**row)`)
costs more than running it; these are built at import and executed with parameters apart,
so SQLAlchemy's compiled cache serves them. Exclusions are stored grouped by reason.

>>> group_exclusions({"R1": "on_leave"})
{'on_leave': ['R1']}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from dtem.adapters.ledger import tables as t

ROUTING_SCORE = (
    sa.select(
        t.scores.c.account_id,
        t.scores.c.as_of,
        t.scores.c.score,
        t.scores.c.propensity,
        t.scores.c.velocity,
        t.scores.c.policy_version,
    )
    .where(t.scores.c.account_id == sa.bindparam("a"))
    .order_by(t.scores.c.as_of.desc(), t.scores.c.id.desc())
    .limit(1)
)
LOCK_REP = sa.select(t.reps.c.id).where(t.reps.c.id == sa.bindparam("r")).with_for_update()
REP_ACTIVE_LEASES = sa.select(sa.func.count()).where(
    t.leases.c.rep_id == sa.bindparam("r"), t.leases.c.ended_at.is_(None)
)
OPEN_OVERFLOW = (
    sa.select(t.overflow_queue)
    .where(
        t.overflow_queue.c.account_id == sa.bindparam("a"),
        t.overflow_queue.c.resolved_at.is_(None),
    )
    .order_by(t.overflow_queue.c.id.desc())
    .limit(1)
)
ADD_REP_LOAD = sa.text(  # the same upsert on SQLite and PostgreSQL
    "INSERT INTO rep_loads (rep_id, active_leases) VALUES (:r, :n)"
    " ON CONFLICT (rep_id) DO UPDATE SET active_leases = rep_loads.active_leases + :d"
)
INSERT_DECISION = sa.insert(t.routing_decisions)
INSERT_LEASE_EVENT = sa.insert(t.lease_events)


def group_exclusions(exclusions: Mapping[str, str]) -> dict[str, list[str]]:
    """Store exclusions by reason (reason -> rep ids): a tenth of the JSON of rep -> reason.

    >>> group_exclusions({"R1": "on_leave", "R2": "segment", "R3": "on_leave"})
    {'on_leave': ['R1', 'R3'], 'segment': ['R2']}
    """
    grouped: dict[str, list[str]] = {}
    for rep, why in exclusions.items():
        grouped.setdefault(why, []).append(rep)
    return grouped


def ungroup_exclusions(stored: Mapping[str, Any]) -> dict[str, str]:
    """Rep -> reason again; rows stored before grouping (rep -> reason) read as they are.

    >>> ungroup_exclusions({"on_leave": ["R1", "R3"]}), ungroup_exclusions({"R1": "segment"})
    ({'R1': 'on_leave', 'R3': 'on_leave'}, {'R1': 'segment'})
    """
    out: dict[str, str] = {}
    for key, value in stored.items():
        if isinstance(value, list):
            out.update((rep, key) for rep in value)
        else:
            out[key] = value
    return out
