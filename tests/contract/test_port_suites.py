"""Every ledger port has its own contract suite, and the suite calls each of its methods.

The suite of `FooBarPort` is `test_foo_bar_port.py` here; its tests run on memory, SQLite
and PostgreSQL through the `ledger` fixture. A method added to a port without a contract
test fails this check.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Protocol

from dtem.domain import ports

HERE = Path(__file__).parent


def _area_ports() -> list[type]:
    return [base for base in ports.LedgerTx.__bases__ if base is not Protocol]


def _suite(port: type) -> Path:
    words = re.findall(r"[A-Z][a-z]*", port.__name__.removesuffix("Port"))
    return HERE / f"test_{'_'.join(w.lower() for w in words)}_port.py"


def _methods(port: type) -> list[str]:
    return sorted(
        name
        for name, value in vars(port).items()
        if inspect.isfunction(value) and not name.startswith("_")
    )


def test_every_port_has_a_contract_suite() -> None:
    missing = [_suite(p).name for p in _area_ports() if not _suite(p).exists()]
    assert missing == []


def test_every_port_method_is_exercised_by_its_suite() -> None:
    untested = {}
    for port in _area_ports():
        text = _suite(port).read_text()
        names = [n for n in _methods(port) if not re.search(rf"\.{n}\(", text)]
        if names:
            untested[port.__name__] = names
    assert untested == {}


def test_every_suite_runs_on_the_ledger_fixture() -> None:
    for port in _area_ports():
        assert "(ledger: Any)" in _suite(port).read_text(), _suite(port).name
