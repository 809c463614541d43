"""The ledger ports: focused areas that together make the unit of work."""

from __future__ import annotations

import inspect
from typing import Protocol

from dtem.adapters.ledger.memory import MemoryTx
from dtem.adapters.ledger.sql import SqlTx
from dtem.domain import ports


def _area_ports() -> list[type]:
    return [base for base in ports.LedgerTx.__bases__ if base is not Protocol]


def _declared(port: type) -> set[str]:
    return {
        name
        for name, value in vars(port).items()
        if inspect.isfunction(value) and not name.startswith("_")
    }


def test_each_ledger_method_belongs_to_exactly_one_area_port() -> None:
    owners: dict[str, list[str]] = {}
    for port in _area_ports():
        for name in _declared(port):
            owners.setdefault(name, []).append(port.__name__)
    everything = {n for n in dir(ports.LedgerTx) if not n.startswith("_")}
    assert set(owners) == everything
    assert {name: found for name, found in owners.items() if len(found) > 1} == {}
    assert not _declared(ports.LedgerTx)  # the unit of work only composes the areas


def test_area_ports_stay_focused() -> None:
    sizes = {port.__name__: len(_declared(port)) for port in _area_ports()}
    assert len(sizes) >= 10
    assert max(sizes.values()) <= 20, sizes
    assert all(name.endswith("Port") for name in sizes)
    assert all(name in ports.__all__ for name in sizes)


def test_every_backend_transaction_implements_every_port_method() -> None:
    for tx in (MemoryTx, SqlTx):
        for port in _area_ports():
            for name in _declared(port):
                expected = inspect.signature(getattr(port, name))
                got = inspect.signature(getattr(tx, name))
                assert list(got.parameters) == list(expected.parameters), (tx, name)
