"""Use cases name the ledger ports they use, never the whole unit of work.

Every function, method and class in `dtem.services` is read with `typing.get_type_hints`
(aliases and `LedgerOf[...]` resolved); a hint that mentions `Ledger` or `LedgerTx`
anywhere (also inside `Callable[...]`, unions, generics) fails, unless its module is in
`NOT_YET_NARROWED` (modules being reworked under issue 8; the list only shrinks).
"""

from __future__ import annotations

import builtins
import importlib
import inspect
import pkgutil
import typing
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import dtem.services
from dtem.domain.ports import Ledger, LedgerOf, LedgerTx

# module -> why its use cases still take the whole ledger (remove a module once narrowed)
NOT_YET_NARROWED: dict[str, str] = {}

_WHOLE = (Ledger, LedgerTx, LedgerOf[LedgerTx])


def _service_modules() -> Iterator[ModuleType]:
    yield dtem.services
    for info in pkgutil.walk_packages(dtem.services.__path__, "dtem.services."):
        yield importlib.import_module(info.name)


def _annotated(module: ModuleType) -> Iterator[tuple[str, Any]]:
    """(qualified name, object) of every function, method and class defined in `module`."""
    for name, obj in vars(module).items():
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj):
            yield f"{module.__name__}.{name}", obj
        elif inspect.isclass(obj):
            yield f"{module.__name__}.{name}", obj
            for attr, member in vars(obj).items():
                if inspect.isfunction(member):
                    yield f"{module.__name__}.{name}.{attr}", member


class _Opaque(type):
    """Stands for a name imported only under TYPE_CHECKING (never a ledger port)."""

    def __getattr__(cls, _name: str) -> _Opaque:
        return cls

    def __getitem__(cls, _item: object) -> _Opaque:
        return cls


class _Unresolved(metaclass=_Opaque):
    pass


class _Names(dict[str, Any]):
    """A module's names; a name it only imports for the type checker resolves opaquely."""

    def __init__(self, module: ModuleType) -> None:
        super().__init__()
        self.module = module

    def __missing__(self, name: str) -> Any:
        if name in vars(self.module):
            return vars(self.module)[name]
        return getattr(builtins, name, _Unresolved)


def _mentions_whole_ledger(hint: Any) -> bool:
    if isinstance(hint, list | tuple):  # Callable[[A, B], R] keeps its arguments in a list
        return any(_mentions_whole_ledger(item) for item in hint)
    if any(hint is whole or hint == whole for whole in _WHOLE):
        return True
    return any(_mentions_whole_ledger(arg) for arg in typing.get_args(hint))


def _whole_ledger_users() -> dict[str, dict[str, list[str]]]:
    """Module -> {qualified name: parameters typed with the whole ledger}."""
    found: dict[str, dict[str, list[str]]] = {}
    for module in _service_modules():
        for qualname, obj in _annotated(module):
            hints = typing.get_type_hints(obj, localns=_Names(module))
            wide = sorted(n for n, hint in hints.items() if _mentions_whole_ledger(hint))
            if wide:
                found.setdefault(module.__name__, {})[qualname] = wide
    return found


def test_use_cases_take_only_the_ports_they_use() -> None:
    users = _whole_ledger_users()
    unexplained = {m: names for m, names in users.items() if m not in NOT_YET_NARROWED}
    assert unexplained == {}, "type these with the area ports they use (docs/ports.md)"


def test_narrowed_modules_leave_the_pending_list() -> None:
    modules = {m.__name__ for m in _service_modules()}
    narrowed = (set(NOT_YET_NARROWED) & modules) - set(_whole_ledger_users())
    assert sorted(narrowed) == []


def test_the_scan_sees_a_whole_ledger_parameter() -> None:
    def uses_everything(
        tx: LedgerTx, ledger: Ledger, hook: typing.Callable[[LedgerTx], None]
    ) -> None:
        del tx, ledger, hook

    hints = typing.get_type_hints(uses_everything, globals())
    assert [n for n, h in hints.items() if _mentions_whole_ledger(h)] == ["tx", "ledger", "hook"]
