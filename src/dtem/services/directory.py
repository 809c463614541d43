"""The reps as DTEM holds them: settings, manager, team and region (`dtem reps list`).

>>> # list_reps(ledger, team="Enterprise")[0].manager
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from dtem.domain.errors import NotFound
from dtem.domain.listings import RepQuery
from dtem.domain.model import Rep
from dtem.domain.ports import DirectoryPort, LedgerOf, ListingsPort, RoutingFactsPort
from dtem.domain.store_market import Unavailability


def list_reps(
    ledger: LedgerOf[ListingsPort],
    *,
    manager: str | None = None,
    team: str | None = None,
    region: str | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> list[Rep]:
    """Reps by external id (after `after`; `limit` None: every one); each filter keeps
    the reps whose field equals it (any case)."""
    query = RepQuery(manager=manager, team=team, region=region, after=after, limit=limit)
    with ledger.transaction() as tx:
        return tx.rep_page(query)


class _RepTx(DirectoryPort, RoutingFactsPort, Protocol):
    """A rep, its load and its leave."""


@dataclass(frozen=True)
class RepView:
    """One rep as `GET /reps/{id}` shows it: settings, active leases, leave windows."""

    rep: Rep
    active_leases: int
    leave: list[Unavailability]


def show_rep(ledger: LedgerOf[_RepTx], external_id: str) -> RepView:
    """One rep with its load and leave; `NotFound` for an unknown id."""
    with ledger.transaction() as tx:
        rep = tx.reps_by_external_id([external_id]).get(external_id)
        if rep is None or rep.id is None:
            raise NotFound(f"rep {external_id!r} does not exist")
        load = tx.active_lease_counts().get(rep.id, 0)
        return RepView(rep, load, tx.unavailability(rep.id))
