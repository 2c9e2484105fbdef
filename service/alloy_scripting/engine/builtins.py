"""The builtins scripts get, and the guarded versions of the ones that consume iterables.

RestrictedPython 9 dropped `sorted`, `zip`, `tuple` and `bytes` from its safe builtins
because they iterate their argument in C, past `_getiter_`. Here every builtin that
consumes an iterable (`list`, `tuple`, `set`, `frozenset`, `sorted`, `reversed`,
`enumerate`, `zip`, `map`, `filter`, `sum`, `min`, `max`, `any`, `all`) pulls its items
either from an already materialised, sized container (charging its length to the
operation counter up front) or one by one through a ticking Python-level iterator, so
`sum(range(10**12))` or `list(x for x in range(10**9))` stop on the operations or array
limit after a bounded amount of work. These need the per-run counter and live on
`IterationBuiltins`, mixed into the per-run state object (`runtime.Run`).

`range()` is bounded by `EngineConfig.max_range`; `round()`, `int()` and `pow()` refuse
arguments whose result would be enormous; `str()`, `repr()` and `format()` render through
the bounded `Renderer`. `type`, `getattr`, `vars`, `dir`, `globals`, `eval`, `open`, ...
do not exist.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Iterator
from typing import Any

from alloy_scripting.engine.errors import LimitExceeded
from alloy_scripting.engine.guards import (
    COMPARED,
    SCRIPT_EXCEPTIONS,
    VIEW_TYPES,
    Guards,
    ScriptException,
)
from alloy_scripting.engine.hashing import build_set

MAX_ROUND_DIGITS = 1000
_SIZED = (list, tuple, dict, set, frozenset, str, range)
_NUMERIC_START = frozenset({int, float, bool, decimal.Decimal})


def _has_containers(items: Any) -> bool:
    """Whether a sized collection holds a nested container (C-speed scan)."""
    if isinstance(items, dict):
        items = items.values()
    return not COMPARED.isdisjoint(map(type, items))


_MISSING: Any = object()


class IterationBuiltins:
    """Builtins consuming iterables; they count into the run's operation counter."""

    __slots__ = ()

    guards: Guards
    max_array: int

    def tick(self) -> bool:  # provided by the run
        raise NotImplementedError

    def charge(self, count: int) -> None:  # provided by the run
        raise NotImplementedError

    # -- pulling items -------------------------------------------------------------------

    def stream(self, iterable: Any) -> Iterator[Any]:
        """Iterate `iterable`: sized containers are charged up front, anything else ticks."""
        if isinstance(iterable, _SIZED) or type(iterable) in VIEW_TYPES:
            self.charge(len(iterable))
            return iter(iterable)
        return self.ticking(iterable)

    def ticking(self, iterable: Any) -> Iterator[Any]:
        tick = self.tick
        for item in iterable:
            tick()
            yield item

    def collect(self, iterable: Any) -> list[Any]:
        """A new list of the items, bounded by the array limit."""
        limit = self.max_array
        if isinstance(iterable, _SIZED) or type(iterable) in VIEW_TYPES:
            size = len(iterable)
            if size > limit:
                raise LimitExceeded(
                    "array_size", f"collection of {size} items exceeds the array limit"
                )
            self.charge(size)
            return list(iterable)
        items: list[Any] = []
        append = items.append
        tick = self.tick
        for item in iterable:
            tick()
            if len(items) >= limit:
                raise LimitExceeded("array_size", "collection exceeds the array limit")
            append(item)
        return items

    # -- the builtins --------------------------------------------------------------------

    def list_(self, iterable: Any = ()) -> list[Any]:
        return self.collect(iterable)

    def tuple_(self, iterable: Any = ()) -> tuple[Any, ...]:
        if type(iterable) is tuple:
            return iterable
        return self.guards.tup(tuple(self.collect(iterable)))

    def set_(self, iterable: Any = ()) -> set[Any]:
        return self.hashed(self.collect(iterable))

    def frozenset_(self, iterable: Any = ()) -> frozenset[Any]:
        return frozenset(self.hashed(self.collect(iterable)))

    def hashed(self, items: list[Any]) -> set[Any]:
        """A set of `items`, ticking per insertion on big inputs (see `hashing.py`)."""
        return build_set(items)

    def sorted_(
        self, iterable: Any, *, key: Callable[[Any], Any] | None = None, reverse: bool = False
    ) -> list[Any]:
        items = self.collect(iterable)
        return self.sort_in_place(items, key, reverse)

    def sort_in_place(self, items: list[Any], key: Any, reverse: Any) -> list[Any]:
        """`items.sort(key=..., reverse=...)` with every comparison bounded: C-level sorting
        compares nested containers along every path, so the keys (or the items) are
        checked as a whole first (see `Guards.check_virtual`)."""
        guards = self.guards
        if key is None:
            if _has_containers(items):
                guards.check_virtual(items, "sorting")
            items.sort(reverse=reverse)
            return items
        counted = self.ticking_key(key)
        keys = [counted(item) for item in items]
        if _has_containers(keys):
            guards.check_virtual(keys, "sorting")
        order = sorted(range(len(items)), key=keys.__getitem__, reverse=bool(reverse))
        items[:] = [items[index] for index in order]
        return items

    def ticking_key(self, key: Any) -> Any:
        """`key=` functions are called from C once per item: count each call."""
        if key is None:
            return None
        tick = self.tick

        def counted(item: Any) -> Any:
            tick()
            return key(item)

        return counted

    def reversed_(self, sequence: Any) -> Iterator[Any]:
        if isinstance(sequence, _SIZED) or type(sequence) in VIEW_TYPES:
            self.charge(len(sequence))
            backwards: Iterator[Any] = reversed(sequence)
            return backwards
        raise TypeError(f"'{type(sequence).__name__}' object is not reversible")

    def enumerate_(self, iterable: Any, start: int = 0) -> Iterator[tuple[int, Any]]:
        tick = self.tick
        check = self.guards.check_tuple
        for pair in enumerate(iterable, start):
            tick()
            if type(pair[1]) is tuple:
                check(pair, "enumerate() item")
            yield pair

    def zip_(self, *iterables: Any, strict: bool = False) -> Iterator[tuple[Any, ...]]:
        tick = self.tick
        check = self.guards.tup
        for item in zip(*iterables, strict=strict):
            tick()
            yield check(item)

    def map_(self, function: Callable[..., Any], *iterables: Any) -> Iterator[Any]:
        return self.ticking(map(function, *iterables))

    def filter_(self, function: Callable[[Any], Any] | None, iterable: Any) -> Iterator[Any]:
        return self.ticking(filter(function, iterable))

    def sum_(self, iterable: Any, start: Any = 0) -> Any:
        if type(start) in _NUMERIC_START:
            if type(start) is decimal.Decimal or (
                isinstance(iterable, (list, tuple)) and decimal.Decimal in map(type, iterable)
            ):
                # `Decimal + int` converts the int in C: tick per item
                return self.guards.check_int(sum(self.ticking(iterable), start))
            return self.guards.check_int(sum(self.stream(iterable), start))
        if isinstance(start, str):
            raise TypeError("sum() can't sum strings [use ''.join(seq) instead]")
        kind = type(start)
        if kind is list or kind is tuple:
            return self._sum_sequences(iterable, start)
        total = start
        add = self.guards.add
        for item in self.stream(iterable):
            total = add(total, item)
        return total

    def _sum_sequences(self, iterable: Any, start: list[Any] | tuple[Any, ...]) -> Any:
        """`sum(lists, [])` / `sum(tuples, ())` in linear time (CPython copies the total at
        each step), bounded by the array limit."""
        kind = type(start)
        limit = self.max_array
        total = list(start)
        for item in self.stream(iterable):
            if type(item) is not kind:
                raise TypeError(
                    f'can only concatenate {kind.__name__} (not "{type(item).__name__}") '
                    f"to {kind.__name__}"
                )
            if len(total) + len(item) > limit:
                raise LimitExceeded("array_size", "sum() of sequences exceeds the array limit")
            total.extend(item)
        if kind is list:
            return total
        return self.guards.tup(tuple(total))

    def min_(
        self, *args: Any, key: Callable[[Any], Any] | None = None, default: Any = _MISSING
    ) -> Any:
        return self._extreme(min, args, key, default)

    def max_(
        self, *args: Any, key: Callable[[Any], Any] | None = None, default: Any = _MISSING
    ) -> Any:
        return self._extreme(max, args, key, default)

    def _extreme(self, pick: Any, args: tuple[Any, ...], key: Any, default: Any) -> Any:
        key = self.checked_key(key)
        if len(args) == 1:
            items = self.checked_stream(args[0]) if key is None else self.stream(args[0])
            if default is _MISSING:
                return pick(items, key=key)
            return pick(items, key=key, default=default)
        if default is not _MISSING:
            raise TypeError(
                f"Cannot specify a default for {pick.__name__}() with multiple positional arguments"
            )
        if key is None and _has_containers(args):
            self.guards.check_virtual(args, "comparison")
        return pick(*args, key=key)

    def checked_stream(self, iterable: Any) -> Iterator[Any]:
        """`stream`, with nested containers size-checked before C compares them."""
        if (isinstance(iterable, _SIZED) or type(iterable) in VIEW_TYPES) and not _has_containers(
            iterable
        ):
            self.charge(len(iterable))
            return iter(iterable)
        return self._checking(iterable)

    def _checking(self, iterable: Any) -> Iterator[Any]:
        tick = self.tick
        check = self.guards.check_virtual
        for item in iterable:
            tick()
            if type(item) in COMPARED:
                check(item, "comparison")
            yield item

    def checked_key(self, key: Any) -> Any:
        """A counted `key=` whose container results are size-checked (they are compared)."""
        if key is None:
            return None
        tick = self.tick
        check = self.guards.check_virtual

        def counted(item: Any) -> Any:
            tick()
            value = key(item)
            if type(value) in COMPARED:
                check(value, "comparison")
            return value

        return counted

    def any_(self, iterable: Any) -> bool:
        return any(self.stream(iterable))

    def all_(self, iterable: Any) -> bool:
        return all(self.stream(iterable))


#: Script name -> `IterationBuiltins` method name.
ITERATION_BUILTINS = {
    name: f"{name}_"
    for name in (
        [
            "list",
            "tuple",
            "set",
            "frozenset",
            "sorted",
            "reversed",
            "enumerate",
            "zip",
            "map",
            "filter",
            "sum",
            "min",
            "max",
            "any",
            "all",
        ]
    )
}


def make_builtins(guards: Guards) -> dict[str, Any]:
    """The stateless builtins of one engine (see the module docstring)."""
    renderer = guards.renderer
    max_range = guards.config.max_range
    max_bits = guards.max_bits

    def repr_(value: Any) -> str:
        return renderer.represent(value)

    def format_(value: Any, spec: str = "") -> str:
        if not isinstance(spec, str):
            raise TypeError("format() argument 2 must be str")
        return renderer.format(value, spec)

    check_int = guards.check_int
    max_str = guards.max_str

    def check_decimal(value: decimal.Decimal) -> None:
        if value.is_finite() and value.adjusted() > max_bits // 3:
            raise LimitExceeded("int_size", "Decimal too large to convert to int")

    def int_(value: Any = 0, *base: int) -> int:
        # Every result within the integer bound: the 4300-digit cap of CPython only
        # applies to decimal (non power-of-two base) text, and is above it anyway.
        if base:
            if not isinstance(value, str):
                raise TypeError("int() can't convert non-string with explicit base")
            if len(value) > max_bits + 8:  # no base packs more than one bit per character
                raise LimitExceeded("int_size", "int() text exceeds the integer size limit")
            return check_int(int(value, *base))  # type: ignore[no-any-return]
        if isinstance(value, decimal.Decimal):
            check_decimal(value)
        elif not isinstance(value, (int, float, str)):
            raise TypeError(
                f"int() argument must be a string or a real number, not '{type(value).__name__}'"
            )
        return check_int(int(value))  # type: ignore[no-any-return]

    def round_(number: Any, ndigits: int | None = None) -> Any:
        if type(number) is float and type(ndigits) is int and abs(ndigits) <= MAX_ROUND_DIGITS:
            return round(number, ndigits)  # the common case (money): no further check
        if ndigits is None:
            if isinstance(number, decimal.Decimal):
                check_decimal(number)
                return check_int(round(number))
            return round(number)
        if not isinstance(ndigits, int):
            raise TypeError("ndigits must be an int")
        if abs(ndigits) > MAX_ROUND_DIGITS:
            raise ValueError(f"round() ndigits must be within +/-{MAX_ROUND_DIGITS}")
        return round(number, ndigits)

    def range_(*args: int) -> range:
        result = range(*args)
        try:
            size = len(result)
        except OverflowError:
            size = max_range + 1
        if size > max_range:
            raise LimitExceeded(
                "operations", f"range() of more than {max_range} items could never be iterated"
            )
        return result

    def pow_(base: Any, exponent: Any, modulo: Any = None) -> Any:
        return guards.pow(base, exponent, modulo)

    def radix(convert: Callable[[Any], str], bits_per_char: int) -> Callable[[Any], str]:
        def render(number: Any) -> str:
            if isinstance(number, int) and int(number).bit_length() // bits_per_char > max_str:
                raise LimitExceeded("string_size", f"{convert.__name__}() exceeds the string limit")
            return convert(number)

        render.__name__ = convert.__name__
        return render

    return {
        "repr": repr_,
        "format": format_,
        "int": int_,
        "float": float,
        "bool": bool,
        "len": len,
        "abs": abs,
        "round": round_,
        "divmod": divmod,
        "chr": chr,
        "ord": ord,
        "hex": radix(hex, 4),
        "bin": radix(bin, 1),
        "oct": radix(oct, 3),
        "pow": pow_,
        "range": range_,
        "callable": callable,
        "next": next,
        **SCRIPT_EXCEPTIONS,
    }


#: Types one `isinstance` call may name (tuples of type-like globals, flattened).
MAX_ISINSTANCE_TYPES = 64


def make_isinstance(aliases: dict[Any, type]) -> Callable[[Any, Any], bool]:
    """`isinstance` for scripts: the second argument must be one of the type-like globals
    (`int`, `list`, `dict`, `Decimal`, `datetime`, `ValueError`, ...) or a tuple of them."""

    def resolve(spec: Any, into: list[type], depth: int) -> None:
        if type(spec) is tuple:
            if depth > 4 or len(into) + len(spec) > MAX_ISINSTANCE_TYPES:
                raise TypeError(
                    f"isinstance() arg 2: at most {MAX_ISINSTANCE_TYPES} types, nested "
                    "at most 4 deep"
                )
            for item in spec:
                resolve(item, into, depth + 1)
            return
        key = getattr(spec, "__func__", spec)
        try:
            into.append(aliases[key])
        except (KeyError, TypeError):
            raise TypeError(
                "isinstance() arg 2 must be a type-like global or a tuple of them"
            ) from None

    def isinstance_(value: Any, spec: Any) -> bool:
        found: list[type] = []
        resolve(spec, found, 0)
        types = tuple(found)
        if type(value) is ScriptException:
            return any(value.is_a(cls) for cls in types)
        return isinstance(value, types)

    return isinstance_
