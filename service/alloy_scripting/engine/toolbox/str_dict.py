"""`str` and `dict` as scripts call them: size-checked constructors and class methods."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alloy_scripting.engine.errors import LimitExceeded, active_run
from alloy_scripting.engine.guards import Guards
from alloy_scripting.engine.toolbox.base import Namespace


class StrType(Namespace):
    """`str`: `str(x)` renders safely; `str.upper(s)`, `str.join(sep, items)`, ... call the
    whitelisted (and guarded) method of `s`; `str.maketrans(...)` builds a translation table."""

    SANDBOX_NAME = "str"
    REAL = str

    def __init__(
        self, guards: Guards, getattr_: Callable[[Any, str], Any], methods: frozenset[str]
    ) -> None:
        self._guards = guards
        self._getattr = getattr_
        self._methods = methods

    def __call__(self, value: Any = "") -> str:
        return self._guards.renderer.text(value)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self._methods:
            raise AttributeError(name)
        getattr_ = self._getattr

        def unbound(text: Any, *args: Any, **kwargs: Any) -> Any:
            if type(text) is not str:
                raise TypeError(
                    f"descriptor '{name}' for 'str' objects doesn't apply to a "
                    f"'{type(text).__name__}' object"
                )
            return getattr_(text, name)(*args, **kwargs)

        unbound.__name__ = name
        return unbound

    def maketrans(self, x: Any, y: Any = None, z: Any = None) -> dict[int, Any]:
        if isinstance(x, dict):
            self._guards.check_size(x)
        for part in (x, y, z):
            if isinstance(part, str):
                self._guards.check_size(part)
        table: dict[int, Any] = (
            str.maketrans(x)
            if y is None
            else str.maketrans(x, y)
            if z is None
            else str.maketrans(x, y, z)
        )
        return table


class DictType(Namespace):
    """`dict`: `dict(...)` and `dict.fromkeys(...)`, bounded by the array limit."""

    SANDBOX_ATTRS = frozenset({"fromkeys"})
    SANDBOX_NAME = "dict"
    REAL = dict

    def __init__(self, guards: Guards) -> None:
        self._guards = guards

    def __call__(self, iterable: Any = (), **kwargs: Any) -> dict[Any, Any]:
        guards = self._guards
        if isinstance(iterable, dict):
            if len(iterable) + len(kwargs) > guards.max_array:
                raise LimitExceeded("array_size", "dict exceeds the array limit")
            return dict(iterable, **kwargs)
        result = _ticking_dict(guards.materialize(iterable))
        result.update(kwargs)
        return guards.check_size(result)  # type: ignore[no-any-return]

    def fromkeys(self, iterable: Any, value: Any = None) -> dict[Any, Any]:
        return _ticking_dict((key, value) for key in self._guards.materialize(iterable))


def _ticking_dict(pairs: Any) -> dict[Any, Any]:
    """`dict(pairs)` with a tick per insertion when a run is active (hash collisions)."""
    run = active_run()
    if run is None:
        return dict(pairs)
    result: dict[Any, Any] = {}
    tick = run.tick
    for pair in pairs:
        tick()
        key, value = pair
        result[key] = value
    return result
