"""The ledger ports: what use cases need from storage, one Protocol per area.

Each area (leases, signals, scores, routing facts, imports, governance, audit, ...) is a
focused Protocol in its own module here. A use case names only the ports it uses:

    def release_lease(ledger: LedgerOf[LeasesPort], ...) -> Lease: ...

    class _Needs(LeasesPort, AuditPort, Protocol):  # two areas, one transaction
        ...

`LedgerTx` is the unit of work that implements every port, so one transaction still
spans them all; a `Ledger` opens `LedgerTx`s and therefore is a `LedgerOf[P]` for every
port `P`. The contract suite in tests/contract runs each port's tests against the
in-memory fake, SQLite and PostgreSQL, so the backends cannot drift.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol, TypeVar

from dtem.domain.ports.agents import AgentClaimsPort
from dtem.domain.ports.audit import AuditPort
from dtem.domain.ports.bidding import BiddingPort
from dtem.domain.ports.comp import CompPort
from dtem.domain.ports.crm_sync import CrmSyncPort
from dtem.domain.ports.directory import DirectoryPort
from dtem.domain.ports.governance import (
    LambdaStep,
    PolicyActivation,
    PolicyPort,
    PolicySchedule,
    PolicyVersion,
    TokenPort,
    TokenRecord,
)
from dtem.domain.ports.idempotency import IdempotencyPort, IdempotentRequest
from dtem.domain.ports.imports import ImportsPort, OpportunitiesPort
from dtem.domain.ports.kpis import KpiFactsPort, PilotsPort
from dtem.domain.ports.leases import LeasesPort
from dtem.domain.ports.listings import ListingsPort
from dtem.domain.ports.outbox import OutboxPort
from dtem.domain.ports.privacy import PrivacyPort, RetentionPort
from dtem.domain.ports.routing import DecisionLogPort, RoutingFactsPort
from dtem.domain.ports.scores import EconomicsPort, ScoresPort
from dtem.domain.ports.signals import SignalSourcesPort, SignalsPort
from dtem.domain.ports.tiers import AccountTiersPort
from dtem.domain.ports.training import TrainingPort

__all__ = [
    "AccountTiersPort",
    "AgentClaimsPort",
    "AuditPort",
    "BiddingPort",
    "CompPort",
    "CrmSyncPort",
    "DecisionLogPort",
    "DirectoryPort",
    "EconomicsPort",
    "IdempotencyPort",
    "IdempotentRequest",
    "ImportsPort",
    "KpiFactsPort",
    "LambdaStep",
    "LeasesPort",
    "Ledger",
    "LedgerOf",
    "LedgerTx",
    "ListingsPort",
    "OpportunitiesPort",
    "OutboxPort",
    "PilotsPort",
    "PolicyActivation",
    "PolicyPort",
    "PolicySchedule",
    "PolicyVersion",
    "PrivacyPort",
    "RetentionPort",
    "RoutingFactsPort",
    "ScoresPort",
    "SignalSourcesPort",
    "SignalsPort",
    "TokenPort",
    "TokenRecord",
    "TrainingPort",
]

Tx_co = TypeVar("Tx_co", covariant=True)


class LedgerTx(
    AuditPort,
    PolicyPort,
    TokenPort,
    DirectoryPort,
    ImportsPort,
    OpportunitiesPort,
    LeasesPort,
    RoutingFactsPort,
    DecisionLogPort,
    BiddingPort,
    CrmSyncPort,
    SignalsPort,
    SignalSourcesPort,
    ScoresPort,
    EconomicsPort,
    TrainingPort,
    CompPort,
    AgentClaimsPort,
    KpiFactsPort,
    PilotsPort,
    AccountTiersPort,
    PrivacyPort,
    RetentionPort,
    ListingsPort,
    OutboxPort,
    IdempotencyPort,
    Protocol,
):
    """One unit of work over every port. Leaving the `with` block commits; an exception
    rolls back."""


class LedgerOf(Protocol[Tx_co]):
    """A store that hands out units of work typed by the port(s) a use case needs.

    `LedgerOf[LeasesPort]` accepts any `Ledger`: its transactions implement every port.
    """

    def transaction(self) -> AbstractContextManager[Tx_co]: ...


class Ledger(LedgerOf[LedgerTx], Protocol):
    """A store that hands out units of work over every port (what bootstrap builds)."""
