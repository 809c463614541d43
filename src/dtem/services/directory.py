"""The reps as DTEM holds them: settings, manager, team and region (`dtem reps list`).

>>> # list_reps(ledger, team="Enterprise")[0].manager
"""

from __future__ import annotations

from dtem.domain.model import Rep
from dtem.domain.ports import DirectoryPort, LedgerOf


def list_reps(
    ledger: LedgerOf[DirectoryPort],
    *,
    manager: str | None = None,
    team: str | None = None,
    region: str | None = None,
) -> list[Rep]:
    """Every rep, by external id; each filter keeps the reps whose field equals it (any case)."""
    with ledger.transaction() as tx:
        reps = tx.all_reps()
    wanted = {"manager": manager, "team": team, "region": region}
    for name, value in wanted.items():
        if value is not None:
            folded = value.strip().lower()
            reps = [r for r in reps if (getattr(r, name) or "").strip().lower() == folded]
    return sorted(reps, key=lambda r: r.external_id)
