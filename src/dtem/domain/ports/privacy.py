"""Privacy port: find and erase what the ledger holds about a person (GDPR Art. 17)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
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


class RetentionPort(Protocol):
    """Retention per signal source (`dtem.domain.retention`): the settings and the sweep.

    A rule for `source` governs the signals of scope `source:<source>` (a webhook source)
    and the pipeline-scope signals whose `source` label is `source`.
    """

    def signal_retention(self) -> dict[str, int]:
        """Every source with a retention, and its days (a source left out keeps forever)."""
        ...

    def set_signal_retention(self, source: str, days: int | None, at: datetime) -> None:
        """Set (or with None, remove) a source's retention."""
        ...

    def signal_labels(self) -> set[str]:
        """The `source` labels of the stored pipeline-scope signals (file imports, NATS)."""
        ...

    def accounts_with_signals_before(self, source: str, before: datetime) -> set[int]:
        """Accounts holding a signal of `source` that occurred before `before`."""
        ...

    def delete_signals_before(self, source: str, before: datetime) -> int:
        """Delete the signals of `source` (matched or not) that occurred before `before`."""
        ...
