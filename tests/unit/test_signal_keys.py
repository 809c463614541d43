"""Pure rules of signal ingestion: keys, types, deterministic ids, supersession."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from dtem.domain.policy import default_policy
from dtem.domain.signals import (
    AccountKey,
    AccountRef,
    choose_key,
    content_event_id,
    normalise_domain,
    page_type,
    signal_type,
    superseded_ids,
    unmatched_reason,
)

FREE = default_policy().free_mail_domains
labels = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
hosts = st.lists(labels, min_size=2, max_size=4).map(".".join)


@given(
    hosts,
    st.sampled_from(["", "http://", "HTTPS://", "https://www."]),
    st.sampled_from(["", "/", "/pricing?a=1", ":8443/x#y"]),
)
def test_domain_spellings_of_one_host_normalise_to_the_same_key(
    host: str, prefix: str, suffix: str
) -> None:
    bare = normalise_domain(host)
    assert bare is not None
    assert normalise_domain(prefix + host.upper() + suffix) == bare
    assert normalise_domain(bare) == bare  # idempotent


def test_text_that_is_no_domain_gives_no_key() -> None:
    assert normalise_domain("acme") is None
    assert normalise_domain("two words.com") is None


def test_company_email_names_its_domain_but_free_mail_prefers_the_user() -> None:
    assert choose_key(AccountRef(email="Ana@Acme.com", user_id="u1"), FREE) == AccountKey(
        "email", "acme.com"
    )
    assert choose_key(AccountRef(email="ana@gmail.com", user_id="u1"), FREE).kind == "user_id"
    only_free = choose_key(AccountRef(email="ana@gmail.com"), FREE)
    assert unmatched_reason(only_free, FREE) == "free_mail"


def test_account_id_beats_domain_beats_user() -> None:
    ref = AccountRef(account_id="A1", domain="acme.com", user_id="u1")
    assert choose_key(ref, FREE) == AccountKey("id", "A1")
    assert choose_key(AccountRef(domain="www.acme.com", user_id="u1"), FREE).value == "acme.com"
    none = choose_key(AccountRef(), FREE)
    assert (none.kind, unmatched_reason(none, FREE)) == ("none", "no_key")


def test_event_names_map_through_the_policy_and_unknown_ones_are_other() -> None:
    p = default_policy()
    assert signal_type("Demo Requested", p) == "hand_raise"
    assert signal_type("pricing-page viewed", p) == "pricing_visit"
    assert signal_type("hand_raise", p) == "hand_raise"
    assert signal_type("Webinar Watched", p) == "other"
    assert page_type("Pricing", None, p) == "pricing_visit"
    assert page_type("Blog", "/blog/x", p) == "web_visit"


@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), st.integers(-5, 5) | labels))
def test_content_id_ignores_key_order_padding_and_int_float(row: dict[str, int | str]) -> None:
    shuffled = dict(reversed(list(row.items())))
    padded = {k: f" {v} " if isinstance(v, str) else float(v) for k, v in shuffled.items()}
    assert content_event_id(row) == content_event_id(padded)


def test_content_id_changes_with_content() -> None:
    ts = datetime(2027, 1, 1, tzinfo=UTC)
    assert content_event_id({"t": ts}) != content_event_id({"t": ts + timedelta(seconds=1)})


@given(st.lists(st.tuples(st.sampled_from("kj"), st.integers(0, 3)), max_size=12))
def test_exactly_one_row_per_key_survives_supersession(rows: list[tuple[str, int]]) -> None:
    t0 = datetime(2027, 1, 1, tzinfo=UTC)
    keyed = [(k, (t0 + timedelta(days=7 * w), i)) for i, (k, w) in enumerate(rows)]
    stale = set(superseded_ids(keyed))
    live = [(k, order) for k, order in keyed if order[1] not in stale]
    assert sorted(k for k, _ in live) == sorted({k for k, _ in keyed})
    for k, order in live:
        assert order == max(o for kk, o in keyed if kk == k)
