"""Value cleaning on purpose: dirty spellings of the same thing become one value."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dtem.services.imports import transforms as tf


@pytest.mark.parametrize(
    ("raw", "domain"),
    [
        ("https://www.Acme.com/about", "acme.com"),
        ("http://acme.com", "acme.com"),
        ("www.acme.com/", "acme.com"),
        ("ACME.COM", "acme.com"),
        ("sales@acme.co.uk", "acme.co.uk"),
        ("https://shop.acme.com:8443/x?y=1", "shop.acme.com"),
    ],
)
def test_domains_lose_scheme_www_path_and_case(raw: str, domain: str) -> None:
    assert tf.parse_domain(raw) == domain


def test_text_without_a_dot_is_not_a_domain() -> None:
    with pytest.raises(ValueError, match="not a domain"):
        tf.parse_domain("acme")


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("1,234,567", 1_234_567.0),
        ("1 234", 1234.0),
        ("$1,234.50", 1234.5),
        ("€ 9,800,000", 9_800_000.0),
        ("1234 USD", 1234.0),
        ("(1,200)", -1200.0),
        (42, 42.0),
    ],
)
def test_numbers_accept_thousands_separators_and_currency(raw: object, number: float) -> None:
    assert tf.parse_number(raw) == number


@given(st.integers(min_value=0, max_value=10**12))
def test_any_grouped_integer_parses_back(n: int) -> None:
    assert tf.parse_number(f"{n:,}") == n
    assert tf.parse_number(f"{n:,}".replace(",", " ")) == n


def test_negative_money_and_fractional_counts_are_rejected() -> None:
    with pytest.raises(ValueError, match="negative amount"):
        tf.parse_money("-5")
    with pytest.raises(ValueError, match="whole number"):
        tf.parse_count("12.5")
    with pytest.raises(ValueError, match="not a number"):
        tf.parse_count("lots")


@given(
    st.text(alphabet=" \t").flatmap(
        lambda pad: st.sampled_from(["Retail", "RETAIL", "retail"]).map(lambda w: pad + w + pad)
    )
)
def test_category_variants_fold_to_one_label(raw: str) -> None:
    assert tf.parse_category(raw) == "retail"


@pytest.mark.parametrize(
    "raw", ["usa", "USA", " United States ", "u.s.", "United States of America"]
)
def test_country_spellings_fold_to_one_name(raw: str) -> None:
    assert tf.parse_country(raw) == "United States"


@pytest.mark.parametrize(
    ("raw", "value"), [("Yes", True), ("n", False), ("TRUE", True), ("0", False)]
)
def test_boolean_words(raw: str, value: bool) -> None:
    assert tf.parse_bool(raw) is value


def test_unknown_boolean_word_is_an_error() -> None:
    with pytest.raises(ValueError, match="yes/no"):
        tf.parse_bool("maybe")


def test_lists_split_on_semicolon_and_pipe_and_segments_keep_their_pipe() -> None:
    assert tf.parse_list("en| PT ;es;en") == ("en", "pt", "es")
    assert tf.parse_segments("smb|retail; Mid|Retail, pet") == ("smb|retail", "mid|retail", "*|pet")


def test_dates_parse_with_the_given_formats_and_name_them_when_they_fail() -> None:
    parse = tf.date_parser(["%m/%d/%Y", "%m/%d/%Y %H:%M"])
    assert parse("2/26/2018") == date(2018, 2, 26)
    assert parse("2/26/2018 19:58") == date(2018, 2, 26)
    with pytest.raises(ValueError, match="%m/%d/%Y"):
        parse("26.02.2018")


def test_naive_timestamps_are_utc() -> None:
    assert tf.datetime_parser()("2027-01-07 09:00:00") == datetime(2027, 1, 7, 9, tzinfo=UTC)


@pytest.mark.parametrize("raw", [None, "", "   ", float("nan")])
def test_blank_cells_are_null(raw: object) -> None:
    assert tf.is_null(raw)
