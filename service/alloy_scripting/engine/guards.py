"""Stateless runtime guards called by the rewritten script code.

The compiler turns `a * b` into `_mul_(a, b)`, `a[k] = v` into `_write_(a)[k] = v`,
`except T as e:` into `except _catch_(T) as _e_: e = _exc_(_e_)`, and so on (see
`rewrite.py`). Every guard here checks the size of what an operation would produce
**before** Python allocates it: string and sequence repetition, concatenation, integer
`**` / `<<` / `*`, `%` formatting, slice assignment, and the materialisation of iterables
that C code would otherwise consume without passing through `_getiter_`.

Guards hold no per-run state: one instance serves every run of an engine, from any thread.
Limits they detect raise `LimitExceeded`, which scripts cannot catch; the per-run `_tick_`
(see `run.py`) re-raises a breach that is still propagating through a `finally:`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NoReturn

from alloy_scripting.bridge.http.errors import EgressDenied, HttpError
from alloy_scripting.engine.config import EngineConfig
from alloy_scripting.engine.entity import EntityProxy
from alloy_scripting.engine.errors import LimitExceeded, active_run, first_control
from alloy_scripting.engine.hashing import build_set
from alloy_scripting.engine.render import Renderer, exception_message
from alloy_scripting.model.state import QuotaExceeded

#: The exception classes scripts can name: raise, catch and `isinstance` against.
SCRIPT_EXCEPTIONS: dict[str, type[Exception]] = {
    cls.__name__: cls
    for cls in (
        Exception,
        ArithmeticError,
        AttributeError,
        IndexError,
        KeyError,
        LookupError,
        RuntimeError,
        TypeError,
        ValueError,
        ZeroDivisionError,
        HttpError,  # a failed HTTP call: args (message, status)
        EgressDenied,  # a refused destination: args (message, rule)
        QuotaExceeded,  # raised by store.* writes past a tenant's state quota
    )
}
_CATCHABLE = frozenset(SCRIPT_EXCEPTIONS.values())
_SEQUENCES = (str, list, tuple)
_SIZED = (list, tuple, dict, set, frozenset, str, range)
VIEW_TYPES = frozenset({type({}.keys()), type({}.values()), type({}.items())})
#: Containers C walks element by element when it compares, hashes or copies them.
CONTAINERS = frozenset({list, tuple, dict, set, frozenset, EntityProxy})
#: What C compares element by element: the containers, and dict views (their keys, values
#: or items). `Guards.check_virtual` takes either.
COMPARED = CONTAINERS | VIEW_TYPES
_SETS = (set, frozenset)
_MEMBERSHIP = frozenset({"in", "not in"})
_IDENTITY = frozenset({"is", "is not"})
_HASHED = frozenset({set, frozenset, dict, EntityProxy})
_SEQUENCE_HAYSTACKS = frozenset({list, tuple})
#: Left operands that `Guards.cmp` compares as they are, whatever the right one: a
#: scalar never walks a container (`1 == [...]` is decided at once, `x in items` compares
#: `x` with each item once).
_SCALAR_LEFT = frozenset({str, int, float, bool, type(None)})
_COMPARE: dict[str, Any] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "is": operator.is_,
    "is not": operator.is_not,
    "in": lambda left, right: left in right,
    "not in": lambda left, right: left not in right,
}


def _concat(left: Any, right: Any) -> Any:
    return left + right


#: Elements a guard may scan (walking nested containers) for one counted operation.
_SCAN_PER_OPERATION = 64


def _charge_scan(scanned: int) -> None:
    """A guard's walk is work done on the script's behalf: it counts against the run's
    operations (and checks its deadline), so that many walks cannot add up unchecked."""
    if scanned >= _SCAN_PER_OPERATION:
        run = active_run()
        if run is not None:
            run.charge(scanned // _SCAN_PER_OPERATION)


def virtual_size(value: Any, budget: int) -> int:
    """Elements reachable from `value` counting every path (`[[0] * 10] * 10` is 110), as
    C-level comparison, hashing or copying would visit them; memoised per object, so the
    walk itself only visits distinct objects. Stops early once past `budget`."""
    memo: dict[int, int] = {}
    alive: list[Any] = []
    scanned = 0

    def walk(node: Any, depth: int) -> int:
        nonlocal scanned
        key = id(node)
        known = memo.get(key)
        if known is not None:
            return known
        memo[key] = budget + 1 if depth > 200 else 0  # cycles and absurd depth count as huge
        total = len(node)
        scanned += total
        items = node.values() if isinstance(node, dict) else node
        for item in items:
            kind = type(item)
            if kind in CONTAINERS:
                total += walk(item, depth + 1)
                if total > budget:
                    break
            elif kind in VIEW_TYPES:  # a dict view compares its items (keys, values) in C
                listed = list(item)
                alive.append(listed)  # its pairs' ids are memo keys: none may be reused
                total += walk(listed, depth + 1)
                if total > budget:
                    break
        memo[key] = total
        return total

    try:
        return walk(value, 0)
    finally:
        _charge_scan(scanned)


def tuple_weight(value: tuple[Any, ...], budget: int, max_depth: int) -> int:
    """Elements reachable from tuple `value` through tuple-only edges, counting every path,
    as C-level hashing walks them (it recurses without any stack check: a tuple nested
    100 000 deep crashes the interpreter). Memoised per object; a nesting deeper than
    `max_depth` counts as `budget + 1`. Lists, dicts, sets and frozensets end the walk:
    lists and dicts are unhashable, a frozenset hashes its stored element hashes."""
    memo: dict[int, tuple[int, int]] = {}
    huge = budget + 1
    scanned = 0

    def walk(node: tuple[Any, ...], depth: int) -> int:
        nonlocal scanned
        known = memo.get(id(node))
        if known is not None:
            total, height = known
            return total if depth + height <= max_depth else huge
        if depth > max_depth:
            return huge
        total = len(node)
        scanned += total
        height = 0
        for item in node:
            if isinstance(item, tuple):
                total += walk(item, depth + 1)
                if total > budget:
                    return huge
                below = memo.get(id(item))
                if below is not None and below[1] + 1 > height:
                    height = below[1] + 1
        memo[id(node)] = (total, height)
        return total

    try:
        return walk(value, 0)
    finally:
        _charge_scan(scanned)


class ScriptException:
    """What a script sees of a caught exception: plain data, never the exception itself
    (whose `__traceback__` leads to host frames and their globals)."""

    __slots__ = ("_cls", "args", "message", "type")

    SANDBOX_ATTRS = frozenset({"type", "message", "args"})

    def __init__(self, error: BaseException, renderer: Renderer) -> None:
        self._cls = type(error)
        self.type = type(error).__name__
        self.message = exception_message(error, renderer)
        plain = all(type(arg) in (str, int, float, bool) or arg is None for arg in error.args)
        self.args: tuple[Any, ...] = (
            tuple(error.args) if plain and len(self.message) < 2048 else (self.message,)
        )

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{self.type}({self.message!r})"

    def sandbox_text(self, as_repr: bool) -> str:
        return repr(self) if as_repr else self.message

    def is_a(self, cls: type) -> bool:
        return issubclass(self._cls, cls)

    def rebuild(self) -> Exception:
        """A fresh exception of the nearest class the script may raise."""
        for cls in self._cls.__mro__:
            if cls in _CATCHABLE:
                try:
                    return cls(*self.args)
                except Exception:
                    return cls(self.message)
        return Exception(self.message)


class ListWriter:
    """`_write_(a_list)`: item assignment with slice growth checked first."""

    __slots__ = ("_guards", "_target")

    def __init__(self, target: list[Any], guards: Guards) -> None:
        self._target = target
        self._guards = guards

    def __setitem__(self, key: Any, value: Any) -> None:
        target = self._target
        if type(key) is slice:
            items = self._guards.materialize(value)
            replaced = len(range(*key.indices(len(target))))
            if len(target) - replaced + len(items) > self._guards.max_array:
                self._guards.breach("array_size", "list slice assignment exceeds the array limit")
            target[key] = items
        else:
            target[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._target[key]


class Guards:
    """The stateless guards of one engine (see the module docstring)."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.max_str = config.max_string_size
        self.max_array = config.max_array_size
        self.max_bits = config.max_int_bits
        self.max_virtual = 100 * config.max_array_size
        self.max_nesting = config.max_nesting
        # `*`, `**` and `<<` allow results of `max_bits + 1` bits (`2 ** 4096`).
        self.int_limit = 1 << (config.max_int_bits + 1)
        self.renderer = Renderer(config.max_string_size, config.max_nesting)
        self.inplace_ops: dict[str, Callable[[Any, Any], Any]] = {
            "+=": self.iadd,
            "-=": self.sub,
            "*=": self.imul,
            "/=": operator.itruediv,
            "//=": operator.ifloordiv,
            "%=": self.mod,
            "**=": self.pow,
            "<<=": self.lshift,
            ">>=": operator.irshift,
            "&=": self.iset_op(operator.iand),
            "|=": self.iset_op(operator.ior),
            "^=": self.iset_op(operator.ixor),
            "@=": operator.imatmul,
            # Not in-place: binary operators routed here by `rewrite.py` (they need no
            # name of their own in the script globals).
            "-": self.sub,
            "|": self.set_op(operator.or_),
            "&": self.set_op(operator.and_),
            "^": self.set_op(operator.xor),
            "[*]": self.display,
            "(*)": self.tuple_display,
            "{**}": self.dict_display,
        }

    # -- limits --------------------------------------------------------------------------

    @staticmethod
    def breach(limit: str, detail: str = "") -> NoReturn:
        raise LimitExceeded(limit, detail)

    def check_size(self, value: Any) -> Any:
        """Post-check for operations whose output is bounded by their (bounded) input."""
        if type(value) is str:
            if len(value) > self.max_str:
                self.breach("string_size", f"string of {len(value)} characters exceeds the limit")
        elif len(value) > self.max_array:
            self.breach("array_size", f"collection of {len(value)} items exceeds the limit")
        return value

    def materialize(self, iterable: Any) -> list[Any]:
        """A new list of the items of `iterable`, refusing more than `max_array_size`.

        Sized containers are copied at C speed; anything else is pulled item by item here,
        so a lazy producer (generator expressions tick per item) is stopped at the limit.
        """
        if isinstance(iterable, _SIZED) or type(iterable) in VIEW_TYPES:
            try:
                size = len(iterable)
            except OverflowError:
                self.breach("array_size", "iterable exceeds the array limit")
            if size > self.max_array:
                self.breach("array_size", f"iterable of {size} items exceeds the array limit")
            return list(iterable)
        items: list[Any] = []
        append = items.append
        limit = self.max_array
        for item in iterable:
            if len(items) >= limit:
                self.breach("array_size", "iterable exceeds the array limit")
            append(item)
        return items

    # -- operators -----------------------------------------------------------------------

    def mul(self, left: Any, right: Any) -> Any:
        kl = type(left)
        if kl is float or (kl is int and type(right) is float):
            return left * right
        if kl is int and type(right) is int:
            if left.bit_length() + right.bit_length() > self.max_bits + 1 and left and right:
                self.breach("int_size", "integer product exceeds the integer size limit")
            return left * right
        if kl is float:
            return left * right
        if isinstance(left, _SEQUENCES) and isinstance(right, int):
            self._check_repeat(left, right)
        elif isinstance(right, _SEQUENCES) and isinstance(left, int):
            self._check_repeat(right, left)
        return left * right

    def _check_repeat(self, seq: Any, times: int) -> None:
        if times <= 0:
            return
        size = len(seq) * times
        if isinstance(seq, str):
            if size > self.max_str:
                self.breach(
                    "string_size", f"string repetition of {size} characters exceeds the limit"
                )
            return
        if size > self.max_array:
            self.breach("array_size", f"sequence repetition of {size} items exceeds the limit")
        if times > 1 and any(type(item) in CONTAINERS for item in seq):
            limit = self.max_virtual
            if virtual_size(seq, limit // times + 1) * times > limit:
                self.breach(
                    "array_size", "repeating nested containers would alias too many elements"
                )

    def check_int(self, value: Any) -> Any:
        """Post-check of an integer result whose computation was cheap (`+`, `-`, `sum`,
        parsing): no integer a script holds may exceed `max_int_bits + 1` bits, so that
        every later C call on it (formatting, `Decimal` conversion, modular `pow`, ...)
        stays bounded."""
        if type(value) is int and not -self.int_limit < value < self.int_limit:
            self.breach("int_size", "integer exceeds the integer size limit")
        return value

    def add(self, left: Any, right: Any) -> Any:
        kl = type(left)
        if kl is float:
            return left + right
        if kl is int:
            result = left + right
            limit = self.int_limit
            if type(result) is int and not -limit < result < limit:
                self.breach("int_size", "integer sum exceeds the integer size limit")
            return result
        if kl is str:
            if type(right) is str and len(left) + len(right) > self.max_str:
                self.breach("string_size", "string concatenation exceeds the string limit")
        elif isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
            if len(left) + len(right) > self.max_array:
                self.breach("array_size", "concatenation exceeds the array limit")
            if kl is tuple and type(right) is tuple:
                return self.tup(_concat(left, right))
        return left + right

    def sub(self, left: Any, right: Any) -> Any:
        """`a - b` and `a -= b` (integers must stay within the integer bound)."""
        result = left - right
        if type(result) is int and not -self.int_limit < result < self.int_limit:
            self.breach("int_size", "integer difference exceeds the integer size limit")
        return result

    def check_tuple(self, value: tuple[Any, ...], what: str = "tuple") -> tuple[Any, ...]:
        """Refuse a tuple nested deeper than `max_nesting` or whose hash would walk more
        than `100 * max_array_size` elements (see `tuple_weight`): for tuples built in C
        (`enumerate`, `dict.items()`, `popitem()`, `*args`) rather than by a display."""
        for item in value:
            if isinstance(item, tuple):
                if tuple_weight(value, self.max_virtual, self.max_nesting) > self.max_virtual:
                    self.breach("operations", f"{what} nested too deeply or aliasing too much")
                break
        return value

    def virtual(self, value: Any, what: str) -> int:
        """The every-path element count of a container or dict view (see `virtual_size`),
        refused past `max_virtual`: C-level comparison and hashing would walk all those
        paths."""
        if type(value) in VIEW_TYPES:
            value = list(value)  # its pairs stay alive while walked (their ids are memo keys)
        size = virtual_size(value, self.max_virtual)
        if size > self.max_virtual:
            self.breach("operations", f"{what} of nested structures aliasing too many elements")
        return size

    def check_virtual(self, value: Any, what: str) -> Any:
        """`value`, once `virtual` accepted it."""
        self.virtual(value, what)
        return value

    def tup(self, value: tuple[Any, ...]) -> tuple[Any, ...]:
        """A tuple display: nested tuples must not double their way into hash bombs."""
        for item in value:
            if type(item) in CONTAINERS:
                return self.check_virtual(value, "tuple")  # type: ignore[no-any-return]
        return value

    def cmp(self, left: Any, op: str, right: Any) -> Any:
        """A comparison without constant operands (`a == b`, `x in items`, ...)."""
        if type(left) in _SCALAR_LEFT:
            if op == "in":  # the commonest (`word in banned`): no call through `_COMPARE`
                return left in right
            return _COMPARE[op](left, right)
        if op in _IDENTITY:
            return left is right if op == "is" else left is not right
        if op in _MEMBERSHIP and type(right) in _HASHED:
            # A hash lookup compares the needle with colliding entries only.
            if type(left) in COMPARED:
                self.check_virtual(left, "comparison")
            return _COMPARE[op](left, right)
        if op in _MEMBERSHIP and type(right) in _SEQUENCE_HAYSTACKS:
            # Comparing the needle with one element walks no more than the needle itself:
            # a small needle in a long list needs no walk of the list.
            needle = self.virtual(left, "comparison") if type(left) in COMPARED else 1
            if needle * (len(right) + 1) <= self.max_virtual:
                return _COMPARE[op](left, right)
        if type(left) in COMPARED and (type(right) in COMPARED or op in _MEMBERSHIP):
            self.check_virtual(left, "comparison")
            if type(right) in COMPARED:
                self.check_virtual(right, "comparison")
        return _COMPARE[op](left, right)

    def cv(self, value: Any) -> Any:
        """An operand of a chained comparison."""
        if type(value) in COMPARED:
            self.check_virtual(value, "comparison")
        return value

    def iadd(self, left: Any, right: Any) -> Any:
        kind = type(left)
        if kind is float:
            return left + right
        if kind is int:
            result = left + right
            limit = self.int_limit
            if type(result) is int and not -limit < result < limit:
                self.breach("int_size", "integer sum exceeds the integer size limit")
            return result
        if kind is list:
            items = right if type(right) is list else self.materialize(right)
            if len(left) + len(items) > self.max_array:
                self.breach("array_size", "list extension exceeds the array limit")
            left += items
            return left
        return self.add(left, right)

    def imul(self, left: Any, right: Any) -> Any:
        if type(left) is list and isinstance(right, int):
            self._check_repeat(left, right)
            left *= right
            return left
        return self.mul(left, right)

    def pow(self, base: Any, exponent: Any, modulo: Any = None) -> Any:
        if modulo is not None:
            for operand in (base, exponent, modulo):
                if isinstance(operand, int) and int(operand).bit_length() > self.max_bits + 1:
                    self.breach("int_size", "pow() operand exceeds the integer size limit")
            return pow(base, exponent, modulo)
        if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
            magnitude = abs(int(base))
            if magnitude > 1 and (
                exponent > self.max_bits
                or math.log2(magnitude) * exponent > self.max_bits + 1  # the result's bits
            ):
                self.breach("int_size", "integer power exceeds the integer size limit")
        return base**exponent

    def lshift(self, value: Any, shift: Any) -> Any:
        if (
            isinstance(value, int)
            and isinstance(shift, int)
            and value
            and shift > 0
            and int(value).bit_length() + shift > self.max_bits
        ):
            self.breach("int_size", "left shift exceeds the integer size limit")
        return value << shift

    def mod(self, left: Any, right: Any) -> Any:
        if isinstance(left, str):
            return self.renderer.percent(str.__str__(left), right)
        return left % right

    def _check_union(self, left: Any, right: Any) -> None:
        """Before `left | right` / `left ^ right` (and in-place forms) on sets and dicts:
        refuse a result past the array limit before C allocates it."""
        if isinstance(left, dict):
            if not isinstance(right, dict):
                return  # pairs: bounded by their own size, checked after
        elif not (isinstance(left, _SETS) and isinstance(right, _SETS)):
            return
        if len(left) + len(right) <= self.max_array:
            return
        common = sum(map(left.__contains__, right))
        if len(left) + len(right) - common > self.max_array:
            self.breach("array_size", "set / dict union exceeds the array limit")

    def set_op(self, op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        """`a | b`, `a & b`, `a ^ b`: sizes checked first for sets, dicts and dict views."""

        def apply(left: Any, right: Any) -> Any:
            if type(left) in VIEW_TYPES:
                left = set(self.materialize(left))
                if not isinstance(right, _SETS):
                    right = build_set(self.materialize(right))
            elif type(right) in VIEW_TYPES:
                right = set(self.materialize(right))
            if op is not operator.and_:
                self._check_union(left, right)
            result = op(left, right)
            if isinstance(result, (set, frozenset, dict)):
                self.check_size(result)
            return result

        return apply

    def iset_op(self, op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def apply(left: Any, right: Any) -> Any:
            if type(left) is dict and not isinstance(right, dict):
                right = self.materialize(right)
            if op is not operator.iand:
                self._check_union(left, right)
            result = op(left, right)
            if isinstance(result, (set, frozenset, dict)):
                self.check_size(result)
            return result

        return apply

    def inplacevar(self, op: str, left: Any, right: Any) -> Any:
        return self.inplace_ops[op](left, right)

    # -- formatting ----------------------------------------------------------------------

    def fmt(self, value: Any, conversion: int, spec: str) -> str:
        """One `{value!conv:spec}` field of an f-string."""
        if conversion != -1:
            value = self.renderer.convert(value, conversion)
        return self.renderer.format(value, spec)

    def fstr(self, text: str) -> str:
        if len(text) > self.max_str:
            self.breach("string_size", "f-string result exceeds the string limit")
        return text

    # -- writes, unpacking, calls --------------------------------------------------------

    def write(self, target: Any) -> Any:
        kind = type(target)
        if kind is dict or kind is EntityProxy:
            return target
        if kind is list:
            return ListWriter(target, self)
        raise TypeError(f"'{kind.__name__}' object does not support item assignment")

    def augitem(self, target: Any, key: Any, op: str, value: Any) -> None:
        """`target[key] op= value`."""
        self.write(target)[key] = self.inplacevar(op, target[key], value)

    def setdisplay(self, items: list[Any]) -> set[Any]:
        """`{*a, b}`: a set display with unpacking, built with ticks when big."""
        return build_set(items)

    def coll(self, value: Any) -> Any:
        """Size check of a comprehension's result."""
        if len(value) > self.max_array:
            self.breach(
                "array_size", f"comprehension of {len(value)} items exceeds the array limit"
            )
        return value

    def display(self, items: list[Any], starred: tuple[bool, ...]) -> list[Any]:
        """The items of a list / tuple / set display or of call arguments with several
        `*x` (`[*a, b, *c]`): the total is bounded by the array limit before it is built."""
        limit = self.max_array
        total = 0
        for item, star in zip(items, starred, strict=True):
            if not star:
                total += 1
            elif isinstance(item, _SIZED) or type(item) in VIEW_TYPES:
                try:
                    total += len(item)
                except OverflowError:
                    total = limit + 1
            else:
                total = -1
                break
            if total > limit:
                self.breach("array_size", f"display of {total} items exceeds the array limit")
        out: list[Any] = []
        if total >= 0:
            for item, star in zip(items, starred, strict=True):
                if star:
                    out.extend(item)
                else:
                    out.append(item)
            return out
        append = out.append
        for item, star in zip(items, starred, strict=True):
            if not star:
                if len(out) >= limit:
                    self.breach("array_size", "display exceeds the array limit")
                append(item)
                continue
            for element in item:
                if len(out) >= limit:
                    self.breach("array_size", "display exceeds the array limit")
                append(element)
        return out

    def tuple_display(self, items: list[Any], _unused: Any = None) -> tuple[Any, ...]:
        """`(*a, b)`: `items` comes from `display`; checked like any tuple display."""
        return self.tup(tuple(items))

    def dict_display(self, parts: list[Any], unpacked: tuple[bool, ...]) -> dict[Any, Any]:
        """`{**a, k: v, **b}`: unpacked mappings are counted before they are merged;
        `parts` holds the mappings and `(key, value)` pairs in display order."""
        total = 0
        for part, star in zip(parts, unpacked, strict=True):
            if star and not isinstance(part, Mapping):
                raise TypeError(f"'{type(part).__name__}' object is not a mapping")
            total += len(part) if star else 1
        if total > self.max_array:
            result: dict[Any, Any] = {}
            for part, star in zip(parts, unpacked, strict=True):
                if star:
                    self._check_union(result, part)
                    result.update(part)
                else:
                    if part[0] not in result and len(result) >= self.max_array:
                        self.breach("array_size", "dict display exceeds the array limit")
                    result[part[0]] = part[1]
            return self.check_size(result)  # type: ignore[no-any-return]
        merged: dict[Any, Any] = {}
        for part, star in zip(parts, unpacked, strict=True):
            if star:
                merged.update(part)
            else:
                merged[part[0]] = part[1]
        return merged

    def starred(self, value: Any) -> list[Any]:
        """`*value` in a call or a display: materialised here, bounded."""
        return self.materialize(value)

    def unpack_sequence(self, value: Any, spec: dict[str, Any], _getiter_: Any = None) -> Any:
        children = spec["childs"]
        kind = type(value)
        if (kind is tuple or kind is list) and not children:
            return value
        items = self.materialize(value)
        if len(items) < spec["min_len"]:
            return items
        for index, child in children:
            items[index] = self.unpack_sequence(items[index], child)
        return items

    def iter_unpack_sequence(
        self, value: Any, spec: dict[str, Any], _getiter_: Any = None
    ) -> Iterator[Any]:
        unpack = self.unpack_sequence
        for item in value:
            yield unpack(item, spec)

    @staticmethod
    def apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    # -- exceptions ----------------------------------------------------------------------

    @staticmethod
    def catch(spec: Any) -> Any:
        """The type expression of an `except` clause: only the script exception classes."""
        if spec in _CATCHABLE:
            return spec
        if type(spec) is tuple and all(_catchable(item) for item in spec):
            return spec
        raise TypeError("except clauses may only name the script exception classes")

    def exc(self, error: BaseException) -> ScriptException:
        """Bound to the name of an `except ... as name:` clause (and run for unnamed ones).

        Re-raises an abort or a limit breach that an exception raised in a `finally:` block
        had displaced; turns host `MemoryError` into the `memory` limit.
        """
        run = active_run()
        if run is not None and run.outcome is not None:
            raise run.outcome.again()
        pending = first_control(error)
        if pending is not None:
            raise pending.again()
        if isinstance(error, MemoryError):
            raise LimitExceeded("memory", "out of memory") from None
        return ScriptException(error, self.renderer)

    @staticmethod
    def raise_(value: Any) -> Any:
        """`raise value`: a caught exception is re-raised as a fresh one (no traceback)."""
        if type(value) is ScriptException:
            return value.rebuild()
        return value


def _catchable(spec: Any) -> bool:
    if type(spec) is tuple:
        return all(_catchable(item) for item in spec)
    return spec in _CATCHABLE
