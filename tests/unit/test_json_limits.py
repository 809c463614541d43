"""The fast pass of `json_problems` answers as the full walk does, on any JSON document."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from dtem.services.signals.limits import json_problems, unsafe_fields

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.sampled_from("ab\x00é"), max_size=4)
)
_docs = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet=st.sampled_from("k\x00"), max_size=2), inner, max_size=3)
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(doc=_docs, depth=st.integers(min_value=0, max_value=5))
def test_fast_pass_finds_what_the_full_walk_finds(doc: object, depth: int) -> None:
    assert json_problems(doc, depth) == unsafe_fields(doc, depth)


def test_clean_call_has_no_problem_and_each_kind_is_named() -> None:
    call = {"userId": "u1", "properties": {"n": 1.5, "tags": ["a", {"b": None}]}}
    assert json_problems(call) == []
    assert json_problems({"p": {"n": math.inf}}) == [(("p", "n"), "must be a finite number")]
    assert json_problems({"p": ["a\x00"]}) == [(("p", 0), "contains a NUL character")]
    assert json_problems({"a": [[1]]}, max_depth=1) == [(("a",), "nested deeper than 1 levels")]
