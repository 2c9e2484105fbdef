"""`EntityProxy`: the entity a script sees and edits, `EntityView`, its read-only sibling, and
what a run changed (`entity_changes`, composed over several runs by `compose_changes`).

The proxy is a `dict` subclass holding a private, normalised deep copy of the entity's
data, so that reads (`entity["f"]`, `in`, `len`, iteration) run at C speed on the hot path.
The caller's data is never mutated. `changes` / `removed` compare the working copy with
the original at the end of a run, so nested mutations (`entity["tags"].append(x)`) count,
and re-setting a field to its old value does not.

Entity data is JSON data: on the way in, tuples and sets become lists, dates become ISO
strings, decimals become strings, non-string keys become strings and anything else becomes
its `str()`. Scripts therefore never see host objects through the entity.
"""

from __future__ import annotations

import datetime as _dt
import decimal
from collections.abc import Iterator, Mapping
from math import isfinite
from operator import is_ as _is
from typing import Any, NoReturn

from alloy_scripting.engine.errors import LimitExceeded
from alloy_scripting.engine.values import (
    MAX_INT64,
    MIN_INT64,
    Budget,
    check_output_scalar,
    check_text,
    plain_into,
)

_SCALARS = frozenset({str, int, float, bool, type(None)})
_STR_ONLY = frozenset({str})
_new_dict = dict.__new__
_update = dict.update


def copy_json(value: Any) -> Any:
    """A deep copy of JSON-like `value` in normalised form (see the module docstring)."""
    return _copy(value, 0)[0]


def _copy(value: Any, depth: int) -> tuple[Any, bool]:
    """Copy `value`; the flag tells whether normalisation changed anything."""
    kind = type(value)
    if kind in _SCALARS:
        return value, False
    if depth > 200:
        raise ValueError("entity data is nested too deeply")
    if (
        kind is dict
        and _SCALARS.issuperset(map(type, value.values()))
        and _STR_ONLY.issuperset(map(type, value))
    ):
        return dict(value), False  # a record of JSON scalars: copied at C speed
    if kind is dict or isinstance(value, Mapping):
        out: dict[str, Any] = {}
        lossy = kind is not dict
        for key, item in value.items():
            if type(key) is not str:
                key = _key(key)
                lossy = True
            copied, changed = _copy(item, depth + 1)
            out[key] = copied
            lossy = lossy or changed
        return out, lossy
    if kind is list:
        if _SCALARS.issuperset(map(type, value)):
            return list(value), False
        items: list[Any] = []
        lossy = False
        for item in value:
            copied, changed = _copy(item, depth + 1)
            items.append(copied)
            lossy = lossy or changed
        return items, lossy
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_copy(item, depth + 1)[0] for item in value], True
    return _scalar(value), True


def _scalar(value: Any) -> Any:
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return str.__str__(key)
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(_scalar(key))


def _copy_top(data: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """Fast path of `_copy` for the top level: flat scalar entities copy at C speed."""
    if type(data) is dict:
        for key, item in data.items():
            if type(key) is not str or type(item) not in _SCALARS:
                break
        else:
            return dict(data), False
    copied, lossy = _copy(data, 0)
    if not isinstance(copied, dict):
        raise TypeError("entity data must be a mapping")
    return copied, lossy


class _All:
    """`EntityProxy._dirty` when every field must be compared."""

    __slots__ = ()


ALL_DIRTY: Any = _All()


class EntityProxy(dict[str, Any]):
    """The entity a script edits: `entity["f"]`, `entity["f"] = v`, `del entity["f"]`,
    `entity.get("f", d)`, `"f" in entity`, `keys()/items()/values()`, `len(entity)`,
    iteration over the field names, `entity.id`, `entity.entity_type`.

    Item writes and deletions are recorded (`_dirty`), so that for a flat entity (no
    nested containers) working out the changes only looks at the fields that were
    written; bulk methods (`update`, `pop`, `|=`, ...) and nested containers (which can be
    mutated in place) make every field a candidate.
    """

    # (id, entity_type, original, flat): one slot store on the hot path.
    __slots__ = ("_dirty", "_meta")

    _meta: tuple[str | None, str | None, Mapping[str, Any], bool]
    _dirty: Any

    def __init__(
        self,
        id: str | None = None,
        entity_type: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        working, lossy = _copy_top(data if data is not None else {})
        dict.__init__(self, working)
        # The comparison basis: the caller's own mapping when the copy was exact (it is
        # never handed to the script, so it cannot change under us), else a second copy.
        original: Mapping[str, Any]
        if data is not None and not lossy and type(data) is dict:
            original = data
        else:
            original = _copy_top(data)[0] if data is not None else {}
        flat = all(type(value) in _SCALARS for value in working.values())
        self._meta = (
            None if id is None else str(id),
            None if entity_type is None else str(entity_type),
            original,
            flat,
        )
        self._dirty = None

    # -- tracked writes ------------------------------------------------------------------

    def __setitem__(self, key: str, value: Any) -> None:
        _setitem(self, key, value)
        dirty = self._dirty
        if dirty is None:
            self._dirty = {key}
        elif dirty is not ALL_DIRTY:
            dirty.add(key)

    def __delitem__(self, key: str) -> None:
        _delitem(self, key)
        dirty = self._dirty
        if dirty is None:
            self._dirty = {key}
        elif dirty is not ALL_DIRTY:
            dirty.add(key)

    def _touch_all(self) -> None:
        self._dirty = ALL_DIRTY

    def pop(self, *args: Any) -> Any:
        self._dirty = ALL_DIRTY
        return dict.pop(self, *args)

    def popitem(self) -> tuple[str, Any]:
        self._dirty = ALL_DIRTY
        return dict.popitem(self)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self._dirty = ALL_DIRTY
        return dict.setdefault(self, key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._dirty = ALL_DIRTY
        dict.update(self, *args, **kwargs)

    def clear(self) -> None:
        self._dirty = ALL_DIRTY
        dict.clear(self)

    def __ior__(self, other: Any) -> EntityProxy:  # type: ignore[override,misc]
        self._dirty = ALL_DIRTY
        dict.update(self, other)
        return self

    # -- reading -------------------------------------------------------------------------

    @property
    def id(self) -> str | None:
        return self._meta[0]

    @property
    def entity_type(self) -> str | None:
        return self._meta[1]

    @property
    def original(self) -> Mapping[str, Any]:
        """The data as it was before the run (normalised); do not mutate."""
        return self._meta[2]

    @property
    def data(self) -> dict[str, Any]:
        """A shallow copy of the current working data."""
        return dict(self)

    def candidates(self) -> Any:
        """The fields that may differ from the original: a set of keys, or `ALL_DIRTY`."""
        dirty = self._dirty
        if dirty is ALL_DIRTY or not self._meta[3]:
            return ALL_DIRTY
        return set() if dirty is None else dirty

    @property
    def changes(self) -> dict[str, Any]:
        """Top-level fields whose current value differs from the original."""
        original = self._meta[2]
        keys = self.candidates()
        if keys is ALL_DIRTY:
            keys = self.keys()
        missing = _MISSING
        changed: dict[str, Any] = {}
        for key in keys:
            value = self.get(key, missing)
            if value is missing:
                continue
            old = original.get(key, missing)
            if old is not value and (
                old is missing or type(old) is not type(value) or old != value
            ):
                changed[key] = value
        return changed

    @property
    def removed(self) -> list[str]:
        """Fields of the original that are gone now."""
        return [key for key in self._meta[2] if key not in self]

    def __repr__(self) -> str:
        data = dict.__repr__(self)
        return f"EntityProxy(id={self.id!r}, entity_type={self.entity_type!r}, data={data})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_proxy, (self.id, self.entity_type, dict(self.original), dict(self)))


_setitem = dict.__setitem__
_delitem = dict.__delitem__


def entity_proxy(data: Any, id: Any = None, entity_type: Any = None) -> EntityProxy:
    """`EntityProxy(id, entity_type, data)`, faster for flat scalar entities (the hot path)."""
    if type(data) is dict:
        for key, item in data.items():
            if type(item) not in _SCALARS or type(key) is not str:
                break
        else:
            proxy: EntityProxy = _new_dict(EntityProxy)
            _update(proxy, data)
            proxy._meta = (
                None if id is None else str(id),
                None if entity_type is None else str(entity_type),
                data,
                True,
            )
            proxy._dirty = None
            return proxy
    return EntityProxy(id, entity_type, data)


def _rebuild_proxy(
    id: str | None,
    entity_type: str | None,
    original: dict[str, Any],
    current: dict[str, Any],
) -> EntityProxy:
    proxy = EntityProxy(id, entity_type, original)
    dict.clear(proxy)
    dict.update(proxy, current)
    proxy._dirty = ALL_DIRTY
    return proxy


def _fresh(value: Any) -> Any:
    kind = type(value)
    if kind is list or kind is dict:
        return copy_json(value)
    return value


class _Missing:
    __slots__ = ()


_MISSING = _Missing()


class EntityView(dict[str, Any]):
    """A read-only copy of an entity (`entity_before`): reads like `EntityProxy`, refuses
    writes, and hands out fresh copies of nested lists and dicts on every read (`[]`,
    `get`, `values`, `items`, `copy`, `dict(view)`, `{**view}`), so that nothing a script
    does to a value it read changes what the view holds."""

    __slots__ = ("_meta",)

    _meta: tuple[str | None, str | None]

    def __init__(
        self,
        id: str | None = None,
        entity_type: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        dict.__init__(self, _copy_top(data if data is not None else {})[0])
        object.__setattr__(
            self,
            "_meta",
            (None if id is None else str(id), None if entity_type is None else str(entity_type)),
        )

    @property
    def id(self) -> str | None:
        return self._meta[0]

    @property
    def entity_type(self) -> str | None:
        return self._meta[1]

    def __getitem__(self, key: str) -> Any:
        return _fresh(dict.__getitem__(self, key))

    def get(self, key: str, default: Any = None) -> Any:
        if dict.__contains__(self, key):
            return _fresh(dict.__getitem__(self, key))
        return default

    def values(self) -> list[Any]:  # type: ignore[override]
        return [_fresh(value) for value in dict.values(self)]

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]
        return [(key, _fresh(value)) for key, value in dict.items(self)]

    def copy(self) -> dict[str, Any]:
        return {key: _fresh(value) for key, value in dict.items(self)}

    def __iter__(self) -> Iterator[str]:
        # Overriding __iter__ makes CPython's dict(view) / {**view} use keys() and
        # __getitem__ (fresh copies) instead of reading the values directly.
        return dict.__iter__(self)

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("entity_before is read-only")

    __setitem__ = _refuse
    __delitem__ = _refuse
    __setattr__ = _refuse
    __delattr__ = _refuse
    __ior__ = _refuse
    clear = _refuse
    pop = _refuse
    popitem = _refuse
    setdefault = _refuse
    update = _refuse

    def __repr__(self) -> str:
        data = dict.__repr__(self)
        return f"EntityView(id={self.id!r}, entity_type={self.entity_type!r}, data={data})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (EntityView, (self.id, self.entity_type, dict(self)))


# -- what a run changed ------------------------------------------------------------------

_PLAIN_SCALARS = frozenset({int, float, bool, type(None)})
_NO_VALUE: Any = object()


def written_changes(
    proxy: EntityProxy, original: Mapping[str, Any], dirty: set[str], limit: int
) -> tuple[dict[str, Any], list[str]] | None:
    """Changes and removals of a proxy over flat `original` data, looking only at the
    `dirty` fields (the ones written or deleted). None when a changed value is not a JSON
    scalar, a field name not a str, or the changes may exceed `limit`: the caller then
    compares field by field, which converts values or reports the error or breach."""
    changes: dict[str, Any] = {}
    removed: list[str] = []
    used = 0
    for key in dirty:
        if key not in proxy:
            if key in original:
                removed.append(key)
            continue
        value = proxy[key]
        kind = type(value)
        if key in original:
            old = original[key]
            if old is value or (kind is type(old) and old == value):  # re-set to its old value
                continue
        if type(key) is not str or not key.isascii():
            return None
        if kind is str:
            if not value.isascii():  # may hold a lone surrogate: checked field by field
                return None
            used += len(key) + len(value) + 6
        elif kind is int:
            if not MIN_INT64 <= value <= MAX_INT64:
                return None
            used += len(key) + 30
        elif kind in _PLAIN_SCALARS and (kind is not float or isfinite(value)):
            used += len(key) + 30
        else:
            return None
        changes[key] = value
    if used > limit:
        return None
    return changes, removed


_NESTED = (dict, list)


def same_json(left: Any, right: Any) -> bool:
    """Equal as JSON: like `==`, but `1`, `1.0`, `True` and `Decimal(1)` differ at any
    depth (plain data of bounded size and nesting)."""
    kind = type(left)
    if kind is not type(right):
        return False
    if kind is dict:
        if len(left) != len(right):
            return False
        # A copy shares its scalars with the original: the same keys and values, in the
        # same order, are checked at C speed before any walk.
        if all(map(_is, left.values(), right.values())) and all(map(_is, left, right)):
            return True
        return left.keys() == right.keys() and all(same_json(left[k], right[k]) for k in left)
    if kind is list:
        return len(left) == len(right) and (
            all(map(_is, left, right)) or all(map(same_json, left, right))
        )
    return bool(left == right)


def entity_changes(
    proxy: EntityProxy, limit: int, max_nesting: int
) -> tuple[dict[str, Any], list[str]]:
    """Changed fields (as plain JSON, within `max_changes_size`) and removed fields;
    the data after the run is the proxy itself (a dict)."""
    meta = proxy._meta  # the hot path reads the proxy's slots directly
    dirty = proxy._dirty
    if not meta[3] or dirty is ALL_DIRTY:  # nested data, or bulk writes
        return changes_by_field(proxy, meta[2], limit, max_nesting)
    if dirty is None:  # flat and never written
        return {}, []
    written = written_changes(proxy, meta[2], dirty, limit)
    return written if written is not None else changes_by_field(proxy, meta[2], limit, max_nesting)


def changes_by_field(
    proxy: EntityProxy, original: Mapping[str, Any], limit: int, max_nesting: int
) -> tuple[dict[str, Any], list[str]]:
    """Changes and removals of `proxy` over `original`, field by field: values are
    converted to plain JSON (nested ones within `limit` and `max_nesting`), and an
    invalid value or a breach raises."""
    data = proxy
    changes: dict[str, Any] = {}
    used = 0
    for key, value in list(data.items()):
        old = original.get(key, _NO_VALUE)
        if old is value or (
            old is not _NO_VALUE
            and type(old) is type(value)
            and old == value
            and (type(value) not in _NESTED or same_json(old, value))
        ):
            continue  # (`is` first: a NaN read but never written is not a change;
            # nested values must match in type too: `[True]` is not `[1]`)
        if type(key) is not str:
            raise TypeError(f"entity field names must be strings, not '{type(key).__name__}'")
        check_text(key, "entity field name")
        kind = type(value)
        if kind is str:
            used += len(value) + len(key) + 6
            plain = check_output_scalar(value, f"entity[{key!r}]")
        elif kind in _PLAIN_SCALARS:
            if kind is float and not isfinite(value):
                raise ValueError(f"entity[{key!r}]: NaN and Infinity are not JSON numbers")
            used += len(key) + 30 + (value.bit_length() // 3 if kind is int else 0)
            plain = check_output_scalar(value, f"entity[{key!r}]")
        else:
            budget = Budget(limit - used, "changes_size", max_nesting, f"entity[{key!r}]")
            plain = plain_into(value, budget)
            used = limit - budget.left + len(key) + 4
            dict.__setitem__(data, key, plain)
        if used > limit:
            raise LimitExceeded("changes_size", f"entity changes exceed {limit} bytes")
        if old is not plain and (old is _NO_VALUE or not same_json(old, plain)):
            changes[key] = plain
    if original.keys() <= data.keys():
        return changes, []
    return changes, [key for key in original if key not in data]


def compose_changes(
    original: Mapping[str, Any],
    steps: list[tuple[dict[str, Any], list[str]]],
    final: Mapping[str, Any],
) -> tuple[dict[str, Any], list[str]]:
    """The changes and removals of several runs in a row (each over the data the one
    before left, ending with `final`), relative to `original`: only the fields some run
    changed or removed are compared, as JSON (see `same_json`)."""
    if len(steps) == 1:
        changes, removed = steps[0]
        return dict(changes), list(removed)
    touched: dict[str, None] = {}
    for changes, removed in steps:
        touched.update(dict.fromkeys(changes))
        touched.update(dict.fromkeys(removed))
    composed: dict[str, Any] = {}
    gone: list[str] = []
    for key in touched:
        if key in final:
            value = final[key]
            old = original.get(key, _NO_VALUE)
            if old is _NO_VALUE or not same_json(old, value):
                composed[key] = value
        elif key in original:
            gone.append(key)
    return composed, gone
