"""`_getattr_`: a strict whitelist of attributes, keyed by the exact type of the object.

Anything not listed here (functions, classes, modules, generators, frames, code objects,
bound methods, exception instances, ...) has no attribute a script can read. Methods that
can grow their output (`ljust`, `replace`, `join`, `format`, `list.append`, `set.update`,
...) are handed out wrapped, with the size checked before the work is done; methods that
take an iterable materialise it through `Guards.materialize` first, so C code never pulls
an unbounded number of items.
"""

from __future__ import annotations

import datetime as _dt
import decimal
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from alloy_scripting.engine.entity import EntityProxy, EntityView
from alloy_scripting.engine.errors import active_run
from alloy_scripting.engine.guards import COMPARED, Guards, ScriptException
from alloy_scripting.engine.hashing import set_operation
from alloy_scripting.engine.render import MAX_DATE_FORMAT

#: A rule is `None` (hand out the real attribute) or a factory wrapping it for one object.
Rule = Callable[[Any], Any] | None
Policies = dict[type, dict[str, Rule]]

_STR_PLAIN = [
    "capitalize",
    "casefold",
    "count",
    "endswith",
    "find",
    "index",
    "isalnum",
    "isalpha",
    "isascii",
    "isdecimal",
    "isdigit",
    "isidentifier",
    "islower",
    "isnumeric",
    "isprintable",
    "isspace",
    "istitle",
    "isupper",
    "lower",
    "lstrip",
    "partition",
    "removeprefix",
    "removesuffix",
    "rfind",
    "rindex",
    "rpartition",
    "rstrip",
    "startswith",
    "strip",
    "swapcase",
    "title",
    "upper",
]
_INT_PLAIN = [
    "bit_length",
    "bit_count",
    "conjugate",
    "real",
    "imag",
    "numerator",
    "denominator",
    "as_integer_ratio",
]
_FLOAT_PLAIN = ["is_integer", "as_integer_ratio", "conjugate", "real", "imag", "hex"]
_DECIMAL_PLAIN = [
    "adjusted",
    "compare",
    "copy_abs",
    "copy_negate",
    "copy_sign",
    "exp",
    "is_finite",
    "is_infinite",
    "is_nan",
    "is_signed",
    "is_zero",
    "ln",
    "log10",
    "max",
    "min",
    "normalize",
    "quantize",
    "sqrt",
    "to_eng_string",
    "to_integral",
    "to_integral_value",
    "real",
    "imag",
    "number_class",
    "fma",
    "scaleb",
]
_DATETIME_PLAIN = [
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "microsecond",
    "tzinfo",
    "fold",
    "date",
    "time",
    "timetz",
    "replace",
    "astimezone",
    "utcoffset",
    "dst",
    "tzname",
    "timestamp",
    "weekday",
    "isoweekday",
    "isocalendar",
    "isoformat",
    "ctime",
    "toordinal",
]
_DATE_PLAIN = [
    "year",
    "month",
    "day",
    "replace",
    "weekday",
    "isoweekday",
    "isocalendar",
    "isoformat",
    "ctime",
    "toordinal",
]
_TIME_PLAIN = [
    "hour",
    "minute",
    "second",
    "microsecond",
    "tzinfo",
    "fold",
    "replace",
    "isoformat",
    "utcoffset",
    "dst",
    "tzname",
]


def _plain(names: Iterable[str]) -> dict[str, Rule]:
    return dict.fromkeys(names)


_STR_WRAPPED = ["ljust", "rjust", "center", "zfill", "replace", "expandtabs", "join", "split"]
STR_METHODS = frozenset(
    [*_STR_PLAIN, *_STR_WRAPPED, "rsplit", "splitlines", "format", "format_map", "translate"]
)


def build_policies(guards: Guards, namespaces: Iterable[type]) -> Policies:
    """Every type scripts can read attributes of, with its rules."""
    dict_rules = _dict_rules(guards)
    policies: Policies = {
        str: {**_plain(_STR_PLAIN), **_str_rules(guards)},
        list: {
            **_plain(["pop", "reverse", "copy", "clear"]),
            **_search_rules(guards, list),
            **_list_rules(guards),
        },
        dict: dict_rules,
        EntityProxy: {**dict_rules, **_plain(["id", "entity_type"])},
        EntityView: _plain(["keys", "values", "items", "get", "copy", "id", "entity_type"]),
        set: {
            **_plain(["discard", "remove", "pop", "clear", "copy"]),
            **_set_rules(guards, mutable=True),
        },
        frozenset: {"copy": None, **_set_rules(guards, mutable=False)},
        tuple: _search_rules(guards, tuple),
        int: _plain(_INT_PLAIN),
        bool: _plain(_INT_PLAIN),
        float: _plain(_FLOAT_PLAIN),
        range: _plain(["start", "stop", "step"]),
        decimal.Decimal: _plain(_DECIMAL_PLAIN),
        _dt.datetime: {**_plain(_DATETIME_PLAIN), "strftime": _strftime},
        _dt.date: {**_plain(_DATE_PLAIN), "strftime": _strftime},
        _dt.time: {**_plain(_TIME_PLAIN), "strftime": _strftime},
        _dt.timedelta: _plain(["days", "seconds", "microseconds", "total_seconds"]),
        _dt.timezone: _plain(["utcoffset", "tzname", "dst"]),
        type(_dt.date(2000, 1, 1).isocalendar()): _plain(["year", "week", "weekday"]),
        ScriptException: _plain(ScriptException.SANDBOX_ATTRS),
    }
    for namespace in namespaces:
        policies[namespace] = _plain(namespace.SANDBOX_ATTRS)  # type: ignore[attr-defined]
    policies[_str_type(namespaces)] = _plain([*STR_METHODS, "maketrans"])
    return policies


def _str_type(namespaces: Iterable[type]) -> type:
    for namespace in namespaces:
        if getattr(namespace, "REAL", None) is str:
            return namespace
    raise LookupError("no str namespace")


def make_getattr(policies: Policies) -> Callable[[Any, str], Any]:
    """The `_getattr_` of the rewritten code."""
    lookup = policies.get
    deny = object()

    def guarded_getattr(obj: Any, name: str, *default: Any) -> Any:
        table = lookup(type(obj))
        if table is not None:
            rule = table.get(name, deny)
            if rule is None:
                return getattr(obj, name)
            if rule is not deny:
                return rule(obj)  # type: ignore[operator]
        raise AttributeError(
            f"'{type(obj).__name__}' object has no attribute '{name}' available to scripts"
        )

    return guarded_getattr


# -- wrapped methods ---------------------------------------------------------------------------


def _strftime(value: Any) -> Callable[[str], str]:
    def strftime(fmt: str) -> str:
        if not isinstance(fmt, str):
            raise TypeError("strftime() argument must be str")
        if len(fmt) > MAX_DATE_FORMAT:
            raise ValueError(f"date format longer than {MAX_DATE_FORMAT} characters")
        text: str = value.strftime(fmt)
        return text

    return strftime


def _str_rules(g: Guards) -> dict[str, Rule]:
    limit = g.max_str

    def too_long(size: int, what: str) -> None:
        if size > limit:
            g.breach("string_size", f"{what} result of {size} characters exceeds the string limit")

    def padder(method: Callable[..., str]) -> Rule:
        def bind(text: str) -> Callable[..., str]:
            def pad(width: int, *fill: str) -> str:
                if isinstance(width, int):
                    too_long(width, method.__name__)
                return method(text, width, *fill)

            return pad

        return bind

    def replace(text: str) -> Callable[..., str]:
        def do(old: str, new: str, count: int = -1) -> str:
            if type(old) is str and type(new) is str and isinstance(count, int):
                hits = text.count(old) if old else len(text) + 1
                if count >= 0:
                    hits = min(hits, count)
                too_long(len(text) + hits * (len(new) - len(old)), "replace()")
            return text.replace(old, new, count)

        return do

    def expandtabs(text: str) -> Callable[..., str]:
        def do(tabsize: int = 8) -> str:
            if isinstance(tabsize, int):
                too_long(len(text) + text.count("\t") * max(tabsize, 0), "expandtabs()")
            return text.expandtabs(tabsize)

        return do

    def join(text: str) -> Callable[[Any], str]:
        def do(iterable: Any) -> str:
            items = g.materialize(iterable)
            size = len(text) * max(len(items) - 1, 0)
            for index, item in enumerate(items):
                if type(item) is not str:
                    raise TypeError(
                        f"sequence item {index}: expected str instance, {type(item).__name__} found"
                    )
                size += len(item)
            too_long(size, "join()")
            return text.join(items)

        return do

    def splitter(method: Callable[..., list[str]]) -> Rule:
        def bind(text: str) -> Callable[..., list[str]]:
            def do(*args: Any, **kwargs: Any) -> list[str]:
                parts: list[str] = g.check_size(method(text, *args, **kwargs))
                return parts

            return do

        return bind

    def translate(text: str) -> Callable[[Any], str]:
        def do(table: Any) -> str:
            if not isinstance(table, dict):
                raise TypeError("translate() table must be a dict (see str.maketrans)")
            longest = 1
            for value in table.values():
                if isinstance(value, str):
                    longest = max(longest, len(value))
            if len(text) * longest > limit:
                counts = Counter(text)
                size = len(text)
                for char, count in counts.items():
                    value = table.get(ord(char), char)
                    if isinstance(value, str):
                        size += count * (len(value) - 1)
                too_long(size, "translate()")
            return text.translate(table)

        return do

    def format_(text: str) -> Callable[..., str]:
        def do(*args: Any, **kwargs: Any) -> str:
            return g.renderer.format_fields(text, args, kwargs)

        return do

    def format_map(text: str) -> Callable[[Mapping[str, Any]], str]:
        def do(mapping: Mapping[str, Any]) -> str:
            if not isinstance(mapping, dict):
                raise TypeError("format_map() argument must be a dict")
            return g.renderer.format_fields(text, (), mapping)

        return do

    def case_mapper(method: Callable[[str], str]) -> Rule:
        """Case mappings may lengthen text (`"ﬃ".upper()` is `"FFI"`): at most 3 times."""

        def bind(text: str) -> Callable[[], str]:
            def do() -> str:
                result = method(text)
                too_long(len(result), f"{method.__name__}()")
                return result

            return do

        return bind

    return {
        "upper": case_mapper(str.upper),
        "lower": case_mapper(str.lower),
        "title": case_mapper(str.title),
        "capitalize": case_mapper(str.capitalize),
        "swapcase": case_mapper(str.swapcase),
        "casefold": case_mapper(str.casefold),
        "ljust": padder(str.ljust),
        "rjust": padder(str.rjust),
        "center": padder(str.center),
        "zfill": padder(str.zfill),
        "replace": replace,
        "expandtabs": expandtabs,
        "join": join,
        "split": splitter(str.split),
        "rsplit": splitter(str.rsplit),
        "splitlines": splitter(str.splitlines),
        "format": format_,
        "format_map": format_map,
        "translate": translate,
    }


def _list_rules(g: Guards) -> dict[str, Rule]:
    limit = g.max_array

    def full(size: int) -> None:
        if size > limit:
            g.breach("array_size", f"list of {size} items exceeds the array limit")

    def append(target: list[Any]) -> Callable[[Any], None]:
        def do(item: Any) -> None:
            full(len(target) + 1)
            target.append(item)

        return do

    def insert(target: list[Any]) -> Callable[[int, Any], None]:
        def do(index: int, item: Any) -> None:
            full(len(target) + 1)
            target.insert(index, item)

        return do

    def extend(target: list[Any]) -> Callable[[Any], None]:
        def do(iterable: Any) -> None:
            items = g.materialize(iterable)
            full(len(target) + len(items))
            target.extend(items)

        return do

    def sort(target: list[Any]) -> Callable[..., None]:
        def do(*, key: Any = None, reverse: bool = False) -> None:
            run = active_run()
            if run is not None:
                run.sort_in_place(target, key, reverse)
                return
            if not COMPARED.isdisjoint(map(type, target)):
                g.check_virtual(target, "sorting")
            target.sort(key=key, reverse=reverse)

        return do

    return {"append": append, "insert": insert, "extend": extend, "sort": sort}


def _search_rules(g: Guards, kind: type) -> dict[str, Rule]:
    """`count`, `index` (and `list.remove`): C compares the argument with every item, along
    every path of nested containers, so those are size-checked first."""

    def checked(target: Any, value: Any) -> None:
        if type(value) in COMPARED and not COMPARED.isdisjoint(map(type, target)):
            g.check_virtual(value, "comparison")
            g.check_virtual(target, "comparison")

    def count(target: Any) -> Callable[[Any], int]:
        def do(value: Any) -> int:
            checked(target, value)
            found: int = target.count(value)
            return found

        return do

    def index(target: Any) -> Callable[..., int]:
        def do(value: Any, *bounds: Any) -> int:
            checked(target, value)
            found: int = target.index(value, *bounds)
            return found

        return do

    def remove(target: list[Any]) -> Callable[[Any], None]:
        def do(value: Any) -> None:
            checked(target, value)
            target.remove(value)

        return do

    rules: dict[str, Rule] = {"count": count, "index": index}
    if kind is list:
        rules["remove"] = remove
    return rules


def _dict_rules(g: Guards) -> dict[str, Rule]:
    limit = g.max_array

    def items(target: dict[Any, Any]) -> Callable[[], Any]:
        """`d.items()` hands out a view of a snapshot: each (key, value) pair is a tuple
        built in C, so pairs holding tuples are checked (nesting, aliasing) here, and a
        later write to `d` cannot slip an unchecked tuple into the view."""

        def do() -> Any:
            snapshot = dict(target)
            pairs = snapshot.items()
            if tuple in map(type, snapshot) or tuple in map(type, snapshot.values()):
                check = g.check_tuple
                for pair in pairs:
                    if type(pair[0]) is tuple or type(pair[1]) is tuple:
                        check(pair, "dict item")
            return pairs

        return do

    def popitem(target: dict[Any, Any]) -> Callable[[], Any]:
        def do() -> Any:
            pair = target.popitem()
            return g.check_tuple(pair, "dict item")

        return do

    def setdefault(target: dict[Any, Any]) -> Callable[..., Any]:
        def do(key: Any, default: Any = None) -> Any:
            if key not in target and len(target) >= limit:
                g.breach("array_size", "dict exceeds the array limit")
            return target.setdefault(key, default)

        return do

    def update(target: dict[Any, Any]) -> Callable[..., None]:
        def do(other: Any = (), **kwargs: Any) -> None:
            if not isinstance(other, dict):
                other = g.materialize(other)
            if len(target) + len(other) + len(kwargs) > limit:
                g.breach("array_size", "dict exceeds the array limit")
            target.update(other, **kwargs)

        return do

    rules: dict[str, Rule] = _plain(["keys", "values", "get", "pop", "copy", "clear"])
    rules.update(setdefault=setdefault, update=update, items=items, popitem=popitem)
    return rules


def _set_rules(g: Guards, *, mutable: bool) -> dict[str, Rule]:
    def producing(name: str) -> Rule:
        def bind(target: Any) -> Callable[..., Any]:
            def do(*others: Any) -> Any:
                result = set_operation(target, name, [g.materialize(other) for other in others])
                if isinstance(result, (set, frozenset)):
                    g.check_size(result)
                elif type(target) is set and name.endswith("update"):
                    g.check_size(target)
                return result

            return do

        return bind

    def add(target: set[Any]) -> Callable[[Any], None]:
        def do(item: Any) -> None:
            if item not in target and len(target) >= g.max_array:
                g.breach("array_size", "set exceeds the array limit")
            target.add(item)

        return do

    names = [
        "union",
        "intersection",
        "difference",
        "symmetric_difference",
        "issubset",
        "issuperset",
        "isdisjoint",
    ]
    if mutable:
        names += [
            "update",
            "intersection_update",
            "difference_update",
            "symmetric_difference_update",
        ]
    rules: dict[str, Rule] = {name: producing(name) for name in names}
    if mutable:
        rules["add"] = add
    return rules
