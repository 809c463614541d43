"""Label semantics (won, first-win, advanced) and the messages that say why rows are missing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from dtem.domain.store_training import OpportunityFact
from dtem.services.training.labels import Census, advance_events

STAGES = ("discovery", "proposal", "negotiation", "closed_won", "closed_lost")
T = datetime(2025, 3, 1, tzinfo=UTC)


def _opp(stages: list[tuple[str, int]], created: date | None = None) -> OpportunityFact:
    history = tuple((s, T + timedelta(days=d)) for s, d in stages)
    return OpportunityFact(1, 7, None, stages[-1][0] if stages else "discovery", None, created,
                           None, history)  # fmt: skip


def test_an_opening_is_dated_by_the_created_date_and_later_moves_forward_count():
    got = advance_events(
        [_opp([("discovery", 40), ("proposal", 50), ("discovery", 60), ("negotiation", 70)],
              created=date(2025, 1, 2))],
        STAGES, ("closed_lost",),
    )  # fmt: skip
    # the first line (stamped at import) is the opening, dated by the created date;
    # proposal and negotiation move forward; back to discovery does not
    assert got == [(7, date(2025, 1, 2)), (7, T + timedelta(days=50)), (7, T + timedelta(days=70))]


def test_a_lost_stage_and_an_unknown_label_are_never_advances():
    got = advance_events(
        [_opp([("proposal", 0), ("closed_lost", 5), ("Stage 9", 8)])], STAGES, ("closed_lost",)
    )
    assert got == [(7, T)]  # only the opening (no created date: its first line)


@pytest.mark.parametrize(
    ("census", "expected"),
    [
        (Census("won", 90, "signalled", 0, 0, 0, 0, 0, 0), "the ledger has no accounts"),
        (
            Census("won", 90, "signalled", 12, 0, 0, 0, 0, 0),
            "0 of 12 accounts had a signal by 2025-06-01",
        ),
        (
            Census("first-win", 90, "signalled", 12, 9, 9, 0, 0, 4),
            "all 9 accounts with a signal had already won by 2025-06-01 and --label first-win "
            "excludes them",
        ),
        (
            Census("won", 90, "all", 12, 9, 9, 12, 0, 0),
            "no opportunity was won in (S, S+90d] after 2025-06-01",
        ),
        (
            Census("advanced", 30, "all", 12, 9, 9, 12, 0, 0),
            "no opportunity opened, advanced or was won in (S, S+30d]",
        ),
        (Census("won", 90, "all", 12, 9, 0, 12, 3, 3), "3 of 12 rows are positive (--label won)"),
        (Census("won", 90, "all", 12, 9, 0, 12, 12, 12), "all 12 rows are positive"),
    ],
)
def test_the_shortage_names_the_condition_that_left_no_rows(census, expected):
    why = census.shortage("training", (date(2025, 6, 1),))
    assert why is not None and expected in why and why.startswith("training: ")


def test_enough_rows_have_no_shortage_and_a_holdout_needs_one_of_each_class():
    assert Census("won", 90, "all", 40, 30, 3, 40, 6, 9).shortage("training", ()) is None
    assert Census("won", 90, "all", 40, 30, 3, 40, 1, 1).shortage("holdout", (), 1) is None
