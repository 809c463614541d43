"""Leases port: the leases projection and its event history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from dtem.domain.model import Lease, LeaseState
from dtem.domain.store_market import LeaseEnd, LeaseEventRow, LeaseFilter, LeaseGrant


class LeasesPort(Protocol):
    """Grant, extend, end and read leases; one `lease_events` row per transition.

    Every change names the version it read: a lease moved on meanwhile is not
    overwritten, the writer gets `LeaseVersionConflict` (optimistic concurrency).
    """

    def grant_lease(
        self,
        account_id: int,
        rep_id: int,
        at: datetime,
        expires_at: datetime,
        score: float,
        policy_version: int,
        reason: str,
    ) -> Lease: ...
    def end_lease(
        self, lease_id: int, version: int, state: LeaseState, at: datetime, reason: str
    ) -> Lease:
        """End the lease if it is still at `version` (the one read); it moves to version + 1.

        Raises `LeaseVersionConflict` when another writer moved it on, `NotFound` without it.
        """
        ...

    def grant_leases(self, grants: Sequence[LeaseGrant]) -> list[Lease]:
        """Grant many leases with bulk statements; returned in the order given.

        Raises `LeaseConflict` (nothing granted) when an account already has an active
        lease, whoever granted it: the one-active-lease constraint decides.
        """
        ...

    def end_leases(self, ends: Sequence[LeaseEnd]) -> list[Lease]:
        """End many active leases, each only if still at its version; in the order given.

        Raises `LeaseVersionConflict` naming the first lease another writer moved on.
        """
        ...

    def extend_lease(
        self, lease_id: int, version: int, expires_at: datetime, state: LeaseState
    ) -> Lease:
        """Move the expiry of a lease still at `version`; as `end_lease` otherwise."""
        ...

    def lease(self, lease_id: int) -> Lease: ...
    def active_lease(self, account_id: int) -> Lease | None: ...
    def active_leases(self) -> list[Lease]: ...
    def find_leases(self, where: LeaseFilter) -> list[Lease]: ...
    def leases_due(self, at: datetime) -> list[Lease]:
        """Active leases whose sprint ended at or before `at` (oldest first)."""
        ...

    def add_lease_event(self, lease_id: int, event: LeaseEventRow) -> None:
        """Append a transition; a second row with the same (lease, seq) is a conflict."""
        ...

    def add_lease_events(self, rows: Sequence[LeaseEventRow]) -> None:
        """Append many transitions at once (each row names its lease); as `add_lease_event`."""
        ...

    def lease_events(self, lease_id: int) -> list[LeaseEventRow]: ...
