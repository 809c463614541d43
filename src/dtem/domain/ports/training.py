"""Training port: the history `dtem train` learns from (signals up to a date, won deals).

The records it returns live in `dtem.domain.store_training`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime
from typing import Protocol

from dtem.domain.store_training import OpportunityFact, OutcomeFact, SignalFact


class TrainingPort(Protocol):
    """Signals, won outcomes and opportunity histories as training reads them."""

    def training_signals(self, until: datetime) -> Iterator[SignalFact]:
        """Matched, non-superseded signals that occurred at or before `until`."""
        ...

    def won_outcomes(self, won_stages: Collection[str]) -> list[OutcomeFact]:
        """One row per won opportunity: its account and close date.

        An opportunity in a won stage without a close date is dated by the first
        time its stage history reached a won stage.
        """
        ...

    def opportunity_histories(self) -> list[OpportunityFact]:
        """Every opportunity that has an account, with its stage history oldest first."""
        ...
