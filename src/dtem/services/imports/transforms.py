"""Value parsers and cleaners for imported fields. Each raises `ValueError(reason)`.

Parsers take one non-empty value (a string from CSV, or a typed value from Parquet or
JSONL) and return the DTEM value. Empty strings and whitespace are nulls before any parser
runs (see `is_null`).

>>> parse_domain("https://www.Acme.com/about"), parse_number("$1,234,567.50")
('acme.com', 1234567.5)
>>> parse_category("  RETAIL "), parse_bool("Yes"), parse_list("en; PT | es")
('retail', True, ('en', 'pt', 'es'))
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pycountry

Parser = Callable[[Any], Any]

_SPACES = re.compile(r"\s+")
# currency symbols and codes people leave in amount cells
_CURRENCY = re.compile(r"^(?:[A-Z]{3}|R\$|US\$|[$€£¥₹])\s*|\s*(?:[A-Z]{3}|[$€£¥₹])$")
_THOUSANDS = re.compile(r"(?<=\d)[,\s\u00a0\u202f'](?=\d{3}(?:\D|$))")
_TRUE = frozenset({"true", "t", "yes", "y", "1", "on", "x", "checked"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "off", "unchecked"})
# informal names a country library does not know, to ISO 3166 alpha-2 codes
_COUNTRY_ALIASES = {
    "u.s.": "US",
    "u.s.a.": "US",
    "america": "US",
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "brasil": "BR",
    "deutschland": "DE",
    "españa": "ES",
    "espana": "ES",
    "holland": "NL",
    "russia": "RU",
    "turkey": "TR",
    "czech republic": "CZ",
    "korea": "KR",
    "méxico": "MX",
    "schweiz": "CH",
    "suisse": "CH",
    "österreich": "AT",
    "italia": "IT",
    "nederland": "NL",
}


def is_null(value: Any) -> bool:
    """None, NaN and blank strings are all "no value"."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, float) and math.isnan(value)


def parse_text(value: Any) -> str:
    """Trimmed text with inner runs of whitespace collapsed."""
    text = value.strip() if value.__class__ is str else str(value).strip()
    if "  " in text or "\t" in text or "\n" in text or "\r" in text:  # the regex is rarely needed
        text = _SPACES.sub(" ", text)
    return text


def parse_category(value: Any) -> str:
    """A category label compared case- and space-insensitively: `"  Retail"` → `retail`."""
    return parse_text(value).lower()


def parse_country(value: Any) -> str:
    """A country's name, code or common spelling to its one name (ISO 3166, pycountry):
    `"usa"`, `"US"`, `"U.S."` → `United States`; `"KR"` → `South Korea`. A value no
    country matches is kept, title-cased; `country_name` tells it apart (imports report it).
    """
    key = parse_category(value)
    return country_name(key) or key.title()


@functools.lru_cache(maxsize=4096)
def country_name(text: str) -> str | None:
    """The canonical name of a country named by `text` (any case), or None.

    The common name where ISO 3166 has one (`Iran`, not `Iran, Islamic Republic of`).
    """
    key = text.strip().lower()
    code = _COUNTRY_ALIASES.get(key)
    try:
        found = pycountry.countries.get(alpha_2=code) if code else pycountry.countries.lookup(key)
    except LookupError:
        return None
    if found is None:
        return None
    return str(getattr(found, "common_name", None) or found.name)


def country_suggestion(text: str) -> str | None:
    """The country name closest to a misspelling (`"Untied States"` → `United States`)."""
    names = _country_names()
    close = difflib.get_close_matches(text.strip().lower(), list(names), n=1, cutoff=0.85)
    return names[close[0]] if close else None


@functools.lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """Every spelling pycountry knows (lower case) -> the canonical name."""
    out: dict[str, str] = {}
    for c in pycountry.countries:
        canonical = str(getattr(c, "common_name", None) or c.name)
        for attr in ("name", "common_name", "official_name"):
            label = getattr(c, attr, None)
            if label:
                out[str(label).lower()] = canonical
    out |= {alias: country_name(alias) or alias for alias in _COUNTRY_ALIASES}
    return out


def parse_domain(value: Any) -> str:
    """A bare lower-case host: scheme, `www.`, path, port and trailing dots removed."""
    text = parse_text(value).lower()
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = text.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    text = text.rsplit("@", 1)[-1].split(":", 1)[0].strip(".")
    text = text.removeprefix("www.")
    if "." not in text or not re.fullmatch(r"[a-z0-9.-]+", text):
        raise ValueError("not a domain name")
    return text


def parse_number(value: Any) -> float:
    """A number; accepts thousands separators (`1,234,567`, `1 234`) and currency marks."""
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, int | float):
        return float(value)
    try:  # most cells are plain numbers: skip the clean-up
        number = float(value)
    except (TypeError, ValueError):
        return _parse_dirty_number(value)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _parse_dirty_number(value: Any) -> float:
    text = _CURRENCY.sub("", parse_text(value).upper()).strip()
    negative = text.startswith("(") and text.endswith(")")  # accounting style (1,200)
    text = _THOUSANDS.sub("", text.strip("()"))
    try:
        number = float(text)
    except ValueError:
        raise ValueError("not a number") from None
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return -number if negative else number


def parse_money(value: Any) -> float:
    """A non-negative amount of money."""
    number = parse_number(value)
    if number < 0:
        raise ValueError("negative amount")
    return number


_CENTS_LIMIT = Decimal("1e13")


def parse_cents(value: Any) -> float:
    """A non-negative amount of money rounded half-up to cents, as the ledger keeps it
    (`"1,234.565"` → 1234.57), so re-importing it compares equal."""
    exact = Decimal(repr(parse_money(value)))
    # checked before rounding: beyond it a float no longer holds every cent exactly, and
    # rounding 1e30 to cents exceeds Decimal's precision (InvalidOperation)
    if exact >= _CENTS_LIMIT:
        raise ValueError("amount too large (at most 9,999,999,999,999.99)")
    amount = exact.quantize(Decimal("0.01"), ROUND_HALF_UP)
    if amount >= _CENTS_LIMIT:
        raise ValueError("amount too large (at most 9,999,999,999,999.99)")
    return float(amount)


def parse_count(value: Any) -> int:
    """A non-negative whole number (`"1,200"` → 1200; `"12.5"` is an error)."""
    number = parse_number(value)
    if number != int(number):
        raise ValueError("not a whole number")
    if number < 0:
        raise ValueError("negative count")
    return int(number)


def parse_bool(value: Any) -> bool:
    """Yes/no words in the usual spellings."""
    if isinstance(value, bool):
        return value
    key = parse_category(value)
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError("not a yes/no value")


def parse_list(value: Any) -> tuple[str, ...]:
    """A list in one cell separated by `;`, `|` or `,`; items lower-cased, blanks dropped."""
    if isinstance(value, list | tuple):
        items = [str(v) for v in value]
    else:
        items = re.split(r"[;|,]", str(value))
    return tuple(dict.fromkeys(parse_category(i) for i in items if i.strip()))


def parse_segments(value: Any) -> tuple[str, ...]:
    """Rep segments `size band|industry` separated by `;` or `,` (`|` is inside a segment).

    An entry without a size band means any size: `"Retail"` → `*|retail`.

    >>> parse_segments("smb|retail; Mid|Retail, pet")
    ('smb|retail', 'mid|retail', '*|pet')
    """
    items = (
        [str(v) for v in value]
        if isinstance(value, list | tuple)
        else re.split(r"[;,]", str(value))
    )
    cleaned = (parse_category(i).replace(" | ", "|") for i in items if i.strip())
    return tuple(dict.fromkeys(i if "|" in i else f"*|{i}" for i in cleaned))


def date_parser(formats: Sequence[str] = ()) -> Parser:
    """Parse a date with the given strptime formats (ISO 8601 when none are given)."""

    def parse(value: Any) -> date:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        return _parse_datetime(parse_text(value), formats).date()

    return parse


def datetime_parser(formats: Sequence[str] = ()) -> Parser:
    """Parse a timestamp (naive = UTC) with strptime formats (ISO 8601 when none)."""

    def parse(value: Any) -> datetime:
        if isinstance(value, datetime):
            ts = value
        elif isinstance(value, date):
            ts = datetime(value.year, value.month, value.day)
        else:
            ts = _parse_datetime(parse_text(value), formats)
        return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)

    return parse


def _parse_datetime(text: str, formats: Sequence[str]) -> datetime:
    if not formats:
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            raise ValueError("unparsable date (expected ISO 8601, e.g. 2027-01-31)") from None
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(f"unparsable date (expected {' or '.join(formats)})")


CLEANERS: dict[str, Callable[[Any], Any]] = {
    "trim": lambda v: v.strip() if isinstance(v, str) else v,
    "lower": lambda v: v.lower() if isinstance(v, str) else v,
    "upper": lambda v: v.upper() if isinstance(v, str) else v,
    "title": lambda v: v.title() if isinstance(v, str) else v,
    "collapse_spaces": lambda v: _SPACES.sub(" ", v) if isinstance(v, str) else v,
    "first_item": lambda v: re.split(r"[;,|]", v)[0].strip() if isinstance(v, str) else v,
}
"""Named string clean-ups a mapping can list under `transform:` (applied in order)."""
