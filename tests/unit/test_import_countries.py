"""Countries: known names and codes fold to one name (pycountry); unknown ones are reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import T0

from dtem.adapters.ledger.memory import MemoryLedger
from dtem.bootstrap import signal_pipeline
from dtem.domain.clock import FixedClock
from dtem.services.imports import import_file
from dtem.services.imports import transforms as tf


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("US", "United States"),
        ("usa", "United States"),
        ("U.S.A.", "United States"),
        ("GBR", "United Kingdom"),
        ("England", "United Kingdom"),
        ("deutschland", "Germany"),
        ("DE", "Germany"),
        ("KR", "South Korea"),
        ("Korea, Republic of", "South Korea"),
        ("viet nam", "Vietnam"),
        ("Brasil", "Brazil"),
        ("076", "Brazil"),
    ],
)
def test_known_spellings_and_codes_fold_to_one_name(raw: str, name: str) -> None:
    assert tf.parse_country(raw) == name
    assert tf.country_name(name) == name  # the canonical name is itself known


def test_unknown_countries_are_kept_title_cased_and_not_known() -> None:
    assert tf.parse_country("untied states") == "Untied States"
    assert tf.country_name("Untied States") is None
    assert tf.country_suggestion("Untied States") == "United States"
    assert tf.country_suggestion("Narnia") is None


def test_the_import_reports_each_unknown_country_by_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(
        "external_id,name,country\n"
        "A1,Acme,usa\n"
        "A2,Globex,Untied States\n"
        "A3,Initech,\n"
        "A4,Umbrella,Narnia\n"
        "A5,,Narnia\n"
    )
    ledger = MemoryLedger()
    got = import_file(
        ledger,
        FixedClock(T0),
        "accounts",
        path,
        pipeline=signal_pipeline(),
        on_error="skip",
    )
    assert got.counts["inserted"] == 4 and got.counts["rejected"] == 1
    assert [(n.file, n.row, n.field, n.value, n.reason) for n in got.notices] == [
        (
            "accounts.csv",
            3,
            "country",
            "Untied States",
            "unknown country (kept as given; did you mean United States?)",
        ),
        ("accounts.csv", 5, "country", "Narnia", "unknown country (kept as given)"),
    ]  # row 6 is rejected (no name): its country is not reported twice
    with ledger.transaction() as tx:
        accounts = tx.all_accounts()
    assert {a.country for a in accounts.values()} == {
        "United States",
        "Untied States",
        None,
        "Narnia",
    }


def test_every_country_code_routing_knows_keeps_its_language_once_imported() -> None:
    from dtem.domain.eligibility import COUNTRY_LANGUAGE, account_language
    from dtem.domain.model import Account

    codes = {k: lang for k, lang in COUNTRY_LANGUAGE.items() if len(k) == 2}
    stored = {k: tf.parse_country(k.upper()) for k in codes}
    got = {k: account_language(Account("A", "A", country=name)) for k, name in stored.items()}
    assert got == codes
