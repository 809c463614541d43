"""Exclusions are stored grouped by reason and read back as rep -> reason, old rows too."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dtem.adapters.ledger.sql_routing_hot import group_exclusions, ungroup_exclusions

REASONS = st.sampled_from(["inactive", "on_leave", "segment", "language (de)", "no_capacity"])


@given(st.dictionaries(st.text("R0123456789", min_size=1, max_size=5), REASONS, max_size=60))
def test_grouped_exclusions_read_back_as_every_rep_with_its_reason(
    exclusions: dict[str, str],
) -> None:
    grouped = group_exclusions(exclusions)
    assert ungroup_exclusions(grouped) == exclusions
    assert len(grouped) == len(set(exclusions.values()))


def test_decisions_stored_rep_by_rep_still_read_as_they_were() -> None:
    assert ungroup_exclusions({"R1": "segment", "R2": "on_leave"}) == {
        "R1": "segment",
        "R2": "on_leave",
    }
