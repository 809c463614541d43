"""Privacy port: find and erase what the ledger holds about a person (GDPR Art. 17)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol

from dtem.domain.scoring import Decayed
from dtem.domain.signals import SignalRecord


class PrivacyPort(Protocol):
    """Signals and identity links that name a person, and the states rebuilt without them."""

    def signals_naming(self, email: str | None, user_ids: Collection[str]) -> list[SignalRecord]:
        """Every signal, matched or not, that names the email (lower-case) or a user id,
        as `dtem.domain.privacy.names_person` decides."""
        ...

    def erase_signals(self, keys: Collection[tuple[str, str]]) -> int:
        """Delete signals by (scope, event id); return how many rows were deleted."""
        ...

    def erase_identity_links(self, user_ids: Collection[str]) -> int:
        """Delete these users' identity links; return how many were deleted."""
        ...

    def replace_account_states(self, states: Mapping[int, Mapping[str, Decayed]]) -> None:
        """Delete every decayed-state row of these accounts, then store the given ones."""
        ...
