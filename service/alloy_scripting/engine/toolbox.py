"""The safe toolbox scripts get as globals: `json`, `math`, `re`, `datetime`, `date`,
`timedelta`, `timezone`, `Decimal`, `b64encode` / `b64decode`, `sha256`, `uuid4`.

None of these is the real module or class. Each is a small namespace object declaring its
public attributes in `SANDBOX_ATTRS` (the only ones `_getattr_` hands out) and returning
plain values: `datetime(...)` and `datetime.now()` return ordinary `datetime` objects whose
attributes go through the whitelist in `attrs.py`; `re.match` returns a read-only
`MatchResult`, never a `Match` (whose `.re` and `.string` lead back to host objects).

Bounds: json input/output is capped by the string limit and serialised through
`values.to_plain`; regular expressions are parsed first and refused when too long or when
their counted repeats would make the compiled program huge (the `regex` package expands
`a{100000000}` eagerly and exhausts memory), then run with `regex`'s timeout (limit
`regex_timeout`); `Decimal` arithmetic runs in a bounded context (34 digits, exponents
within +/-6144, the decimal128 range) so no operand can grow without bound.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import decimal
import functools
import hashlib
import json as _json
import math as _math
import re as _re
import re._constants as _sre_constants  # type: ignore[import-not-found]
import re._parser as _sre_parse  # type: ignore[import-not-found]
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

import regex as _regex

from alloy_scripting.engine.errors import LimitExceeded, active_run
from alloy_scripting.engine.guards import Guards
from alloy_scripting.engine.values import to_plain

MAX_PATTERN = 1000
MAX_PATTERN_WEIGHT = 2000
MAX_DATE_TEXT = 256
MAX_DECIMAL_TEXT = 400

DECIMAL_CONTEXT = decimal.Context(
    prec=34,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=6144,
    Emin=-6143,
    capitals=1,
    clamp=0,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)

ROUNDING = {name: getattr(decimal, name) for name in dir(decimal) if name.startswith("ROUND_")}


class Namespace:
    """Base of the toolbox objects: only `SANDBOX_ATTRS` are visible to scripts."""

    SANDBOX_ATTRS: ClassVar[frozenset[str]] = frozenset()
    SANDBOX_NAME: ClassVar[str] = "namespace"

    def sandbox_text(self, as_repr: bool) -> str:
        return f"<{self.SANDBOX_NAME}>"

    def __repr__(self) -> str:
        return f"<{self.SANDBOX_NAME}>"


# -- json --------------------------------------------------------------------------------------


class JsonNamespace(Namespace):
    SANDBOX_ATTRS = frozenset({"dumps", "loads"})
    SANDBOX_NAME = "json"

    def __init__(self, guards: Guards) -> None:
        self._guards = guards

    def dumps(
        self,
        obj: Any,
        *,
        indent: int | None = None,
        sort_keys: bool = False,
        ensure_ascii: bool = True,
        separators: tuple[str, str] | None = None,
    ) -> str:
        limit = self._guards.max_str
        plain = to_plain(
            obj,
            limit,
            "string_size",
            max_depth=self._guards.config.max_nesting,
            what="json.dumps()",
        )
        if indent is not None and (not isinstance(indent, int) or not 0 <= indent <= 8):
            raise ValueError("json.dumps() indent must be an int between 0 and 8")
        if separators is not None:
            if not (
                isinstance(separators, (tuple, list))
                and len(separators) == 2
                and all(isinstance(part, str) and len(part) <= 4 for part in separators)
            ):
                raise ValueError("json.dumps() separators must be two short strings")
            separators = (separators[0], separators[1])
        text = _json.dumps(
            plain,
            allow_nan=False,
            indent=indent,
            sort_keys=bool(sort_keys),
            ensure_ascii=bool(ensure_ascii),
            separators=separators,
        )
        if len(text) > limit:
            raise LimitExceeded("string_size", "json.dumps() output exceeds the string limit")
        return text

    def loads(self, text: str) -> Any:
        if not isinstance(text, str):
            raise TypeError("json.loads() argument must be str")
        if len(text) > self._guards.max_str:
            raise LimitExceeded("string_size", "json.loads() input exceeds the string limit")
        if not _json_nesting_ok(text, self._guards.config.max_nesting):
            raise ValueError(
                f"json.loads(): nested deeper than {self._guards.config.max_nesting} levels"
            )
        value = _json.loads(text)
        _check_sizes(value, self._guards)
        return value


def _json_nesting_ok(text: str, limit: int) -> bool:
    """Checked before parsing: the C decoder recurses once per level. One pass over the
    text (a regular expression for strings backtracks quadratically on an unterminated
    string full of escaped quotes)."""
    if text.count("[") + text.count("{") <= limit:
        return True
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "[" or char == "{":
            depth += 1
            if depth > limit:
                return False
        elif char == "]" or char == "}":
            depth -= 1
    return True


def _check_sizes(value: Any, guards: Guards) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is int:
            guards.check_int(item)
        elif isinstance(item, dict):
            guards.check_size(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            guards.check_size(item)
            stack.extend(item)


# -- math --------------------------------------------------------------------------------------

_MATH_FUNCTIONS = [
    "floor",
    "ceil",
    "trunc",
    "sqrt",
    "isqrt",
    "fabs",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "log",
    "log2",
    "log10",
    "log1p",
    "exp",
    "expm1",
    "pow",
    "gcd",
    "copysign",
    "fmod",
    "modf",
    "frexp",
    "ldexp",
    "hypot",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "atan2",
    "sinh",
    "cosh",
    "tanh",
    "degrees",
    "radians",
    "remainder",
]


class MathNamespace(Namespace):
    SANDBOX_ATTRS = frozenset([*_MATH_FUNCTIONS, "pi", "e", "tau", "inf", "nan", "fsum", "prod"])
    SANDBOX_NAME = "math"

    pi = _math.pi
    e = _math.e
    tau = _math.tau
    inf = _math.inf
    nan = _math.nan

    def __init__(self, guards: Guards) -> None:
        self._guards = guards
        for name in _MATH_FUNCTIONS:
            setattr(self, name, getattr(_math, name))
        for name in ("floor", "ceil", "trunc"):
            setattr(self, name, self._to_int(getattr(_math, name)))

    def _to_int(self, function: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """`math.floor(Decimal("1e6000"))` would be a 20 000-bit integer."""
        guards = self._guards
        digits = guards.max_bits // 3

        def bounded(value: Any) -> Any:
            if (
                isinstance(value, decimal.Decimal)
                and value.is_finite()
                and value.adjusted() > digits
            ):
                raise LimitExceeded("int_size", "Decimal too large to convert to int")
            return guards.check_int(function(value))

        bounded.__name__ = function.__name__
        return bounded

    def fsum(self, values: Any) -> float:
        return _math.fsum(self._numbers(values))

    def prod(self, values: Any, *, start: Any = 1) -> Any:
        result = start
        for value in self._numbers(values):
            result = self._guards.mul(result, value)
        return result

    def _numbers(self, values: Any) -> list[Any]:
        items = self._guards.materialize(values)
        for item in items:
            if not isinstance(item, (int, float, decimal.Decimal)):
                raise TypeError(f"must be real number, not {type(item).__name__}")
        return items


# -- re ----------------------------------------------------------------------------------------

_FLAGS = {
    "I": _re.I,
    "IGNORECASE": _re.I,
    "M": _re.M,
    "MULTILINE": _re.M,
    "S": _re.S,
    "DOTALL": _re.S,
    "X": _re.X,
    "VERBOSE": _re.X,
    "A": _re.A,
    "ASCII": _re.A,
}
_FLAG_MASK = _re.I | _re.M | _re.S | _re.X | _re.A
_REPEATS = {_sre_constants.MAX_REPEAT, _sre_constants.MIN_REPEAT}
if hasattr(_sre_constants, "POSSESSIVE_REPEAT"):
    _REPEATS.add(_sre_constants.POSSESSIVE_REPEAT)


def _weight(parsed: Any) -> int:
    """The size of the program a pattern compiles to, with counted repeats expanded."""
    total = 0
    for op, av in parsed:
        if op in _REPEATS:
            low, high, sub = av
            times = low if high == _sre_constants.MAXREPEAT else high
            total += max(times, low, 1) * _weight(sub)
        elif op is _sre_constants.SUBPATTERN:
            total += _weight(av[-1])
        elif op is _sre_constants.BRANCH:
            total += sum(_weight(branch) for branch in av[1])
        elif op in (_sre_constants.ASSERT, _sre_constants.ASSERT_NOT):
            total += _weight(av[1])
        elif op is _sre_constants.GROUPREF_EXISTS:
            total += _weight(av[1]) + (_weight(av[2]) if av[2] is not None else 0)
        elif op is getattr(_sre_constants, "ATOMIC_GROUP", None):
            total += _weight(av)
        else:
            total += 1
        if total > MAX_PATTERN_WEIGHT:
            break
    return total


@functools.lru_cache(maxsize=256)
def _compile_pattern(pattern: str, flags: int) -> Any:
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"regular expression longer than {MAX_PATTERN} characters")
    if flags & ~_FLAG_MASK:
        raise ValueError("unsupported regular expression flags")
    try:
        parsed = _sre_parse.parse(pattern, flags)
    except _re.error as error:
        raise ValueError(f"invalid regular expression: {error}") from None
    except RecursionError:
        raise ValueError("regular expression is nested too deeply") from None
    if _weight(parsed) > MAX_PATTERN_WEIGHT:
        raise ValueError("regular expression is too complex (repeat counts too large)")
    try:
        return _regex.compile(pattern, flags | _regex.VERSION0)
    except _regex.error as error:
        raise ValueError(f"invalid regular expression: {error}") from None


class MatchResult:
    """A read-only, plain-data copy of a regex match."""

    __slots__ = ("_groups", "_index", "_spans")

    SANDBOX_ATTRS = frozenset({"group", "groups", "groupdict", "start", "end", "span"})

    def __init__(self, match: Any) -> None:
        count = len(match.groups())
        self._groups: tuple[str | None, ...] = tuple(match.group(i) for i in range(count + 1))
        self._spans: tuple[tuple[int, int], ...] = tuple(match.span(i) for i in range(count + 1))
        self._index: dict[str, int] = dict(match.re.groupindex)

    def _number(self, group: int | str) -> int:
        if isinstance(group, str):
            if group not in self._index:
                raise IndexError("no such group")
            return self._index[group]
        if not isinstance(group, int) or not 0 <= group < len(self._groups):
            raise IndexError("no such group")
        return group

    def group(self, *groups: int | str) -> Any:
        if not groups:
            return self._groups[0]
        if len(groups) == 1:
            return self._groups[self._number(groups[0])]
        return tuple(self._groups[self._number(g)] for g in groups)

    def __getitem__(self, group: int | str) -> str | None:
        return self._groups[self._number(group)]

    def groups(self, default: Any = None) -> tuple[Any, ...]:
        return tuple(default if g is None else g for g in self._groups[1:])

    def groupdict(self, default: Any = None) -> dict[str, Any]:
        return {
            name: default if self._groups[i] is None else self._groups[i]
            for name, i in self._index.items()
        }

    def start(self, group: int | str = 0) -> int:
        return self._spans[self._number(group)][0]

    def end(self, group: int | str = 0) -> int:
        return self._spans[self._number(group)][1]

    def span(self, group: int | str = 0) -> tuple[int, int]:
        return self._spans[self._number(group)]

    def sandbox_text(self, as_repr: bool) -> str:
        text = self._groups[0] or ""
        shown = text if len(text) <= 50 else text[:47] + "..."
        return f"<Match span={self._spans[0]!r} match={shown!r}>"

    def __repr__(self) -> str:
        return self.sandbox_text(True)


class ReNamespace(Namespace):
    SANDBOX_ATTRS = frozenset(
        {"match", "search", "fullmatch", "findall", "sub", "subn", "split", "escape", *_FLAGS}
    )
    SANDBOX_NAME = "re"

    def __init__(self, guards: Guards, timeout: float) -> None:
        self._guards = guards
        self._timeout = timeout
        for name, value in _FLAGS.items():
            setattr(self, name, int(value))

    def _run(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            result = call(*args, timeout=self._timeout, **kwargs)
        except TimeoutError:
            raise LimitExceeded("regex_timeout", "regular expression timed out") from None
        # One match may use most of its own timeout: the run's deadline is checked after
        # each, so that many of them in a row cannot add up unchecked.
        run = active_run()
        if run is not None:
            run.charge(1)
        return result

    @staticmethod
    def _pattern(pattern: Any, flags: Any) -> Any:
        if not isinstance(pattern, str):
            raise TypeError("pattern must be a str")
        if not isinstance(flags, int):
            raise TypeError("flags must be an int")
        return _compile_pattern(str.__str__(pattern), int(flags))

    @staticmethod
    def _text(value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"expected string, got {type(value).__name__}")
        return value

    def match(self, pattern: str, string: str, flags: int = 0) -> MatchResult | None:
        found = self._run(self._pattern(pattern, flags).match, self._text(string))
        return None if found is None else MatchResult(found)

    def search(self, pattern: str, string: str, flags: int = 0) -> MatchResult | None:
        found = self._run(self._pattern(pattern, flags).search, self._text(string))
        return None if found is None else MatchResult(found)

    def fullmatch(self, pattern: str, string: str, flags: int = 0) -> MatchResult | None:
        found = self._run(self._pattern(pattern, flags).fullmatch, self._text(string))
        return None if found is None else MatchResult(found)

    def _check_output(self, compiled: Any, pattern: str, text: str, most: int = 0) -> None:
        """Before `findall` / `split`: their output holds every captured group of every
        match. Groups outside lookarounds lie within their (non-overlapping) match, so
        they total at most `groups * len(text)` characters; otherwise (`(?=(.*))` captures
        the rest of the text at every position) the output is measured from the match
        spans, without building it, and refused past the string or array limit."""
        groups = compiled.groups
        limit = self._guards.max_str
        if not groups or (groups * len(text) <= limit and "(?" not in pattern):
            return
        items = self._guards.max_array
        total = 0
        try:
            for count, found in enumerate(self._run(compiled.finditer, text), start=1):
                if count > items:
                    raise LimitExceeded(
                        "array_size", "regular expression output exceeds the array limit"
                    )
                for group in range(1, groups + 1):
                    begin, end = found.span(group)
                    total += end - begin
                if total > limit:
                    raise LimitExceeded(
                        "string_size", "regular expression output exceeds the string limit"
                    )
                if most and count >= most:
                    break
        except TimeoutError:
            raise LimitExceeded("regex_timeout", "regular expression timed out") from None

    def findall(self, pattern: str, string: str, flags: int = 0) -> list[Any]:
        compiled = self._pattern(pattern, flags)
        text = self._text(string)
        self._check_output(compiled, pattern, text)
        found: list[Any] = self._run(compiled.findall, text)
        return self._guards.check_size(found)  # type: ignore[no-any-return]

    def split(self, pattern: str, string: str, maxsplit: int = 0, flags: int = 0) -> list[Any]:
        compiled = self._pattern(pattern, flags)
        text = self._text(string)
        if not isinstance(maxsplit, int):
            raise TypeError("maxsplit must be an int")
        self._check_output(compiled, pattern, text, max(int(maxsplit), 0))
        parts: list[Any] = self._run(compiled.split, text, maxsplit=maxsplit)
        return self._guards.check_size(parts)  # type: ignore[no-any-return]

    def sub(self, pattern: str, repl: str, string: str, count: int = 0, flags: int = 0) -> str:
        return self.subn(pattern, repl, string, count, flags)[0]

    def subn(
        self, pattern: str, repl: str, string: str, count: int = 0, flags: int = 0
    ) -> tuple[str, int]:
        if not isinstance(repl, str):
            raise TypeError("re.sub() replacement must be a str (functions are not supported)")
        compiled = self._pattern(pattern, flags)
        text = self._text(string)
        if not isinstance(count, int):
            raise TypeError("count must be an int")
        per_hit = len(repl) + repl.count("\\") * len(text)
        limit = self._guards.max_str
        most = len(text) + 1 if count <= 0 else min(count, len(text) + 1)
        if len(text) + most * per_hit > limit:
            try:
                for hits, _ in enumerate(self._run(compiled.finditer, text), start=1):
                    if len(text) + hits * per_hit > limit:
                        raise LimitExceeded(
                            "string_size", "re.sub() result exceeds the string limit"
                        )
                    if count and hits >= count:
                        break
            except TimeoutError:
                raise LimitExceeded("regex_timeout", "regular expression timed out") from None
        result: tuple[str, int] = self._run(compiled.subn, repl, text, count=count)
        self._guards.check_size(result[0])
        return result

    def escape(self, string: str) -> str:
        return self._guards.check_size(_re.escape(self._text(string)))  # type: ignore[no-any-return]


# -- datetime ----------------------------------------------------------------------------------


def _tz(value: Any) -> Any:
    if value is None or type(value) is _dt.timezone:
        return value
    raise TypeError("tzinfo must be None or a timezone (e.g. timezone.utc)")


def _date_text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("argument must be str")
    if len(value) > MAX_DATE_TEXT:
        raise ValueError(f"date text longer than {MAX_DATE_TEXT} characters")
    return value


class DatetimeType(Namespace):
    """`datetime`: call it like the class; `now`, `fromisoformat`, ... are the classmethods."""

    SANDBOX_ATTRS = frozenset(
        {"now", "fromisoformat", "fromtimestamp", "combine", "strptime", "min", "max"}
    )
    SANDBOX_NAME = "datetime"
    REAL = _dt.datetime
    min = _dt.datetime.min
    max = _dt.datetime.max

    def __call__(
        self,
        year: int,
        month: int,
        day: int,
        hour: int = 0,
        minute: int = 0,
        second: int = 0,
        microsecond: int = 0,
        tzinfo: Any = None,
        *,
        fold: int = 0,
    ) -> _dt.datetime:
        return _dt.datetime(
            year, month, day, hour, minute, second, microsecond, _tz(tzinfo), fold=fold
        )

    def now(self, tz: Any = None) -> _dt.datetime:
        return _dt.datetime.now(_tz(tz))

    def fromisoformat(self, text: str) -> _dt.datetime:
        return _dt.datetime.fromisoformat(_date_text(text))

    def fromtimestamp(self, timestamp: float, tz: Any = None) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(timestamp, _tz(tz))

    def combine(self, date: _dt.date, time: _dt.time, tzinfo: Any = None) -> _dt.datetime:
        if tzinfo is None:
            return _dt.datetime.combine(date, time)
        return _dt.datetime.combine(date, time, _tz(tzinfo))

    def strptime(self, text: str, fmt: str) -> _dt.datetime:
        return _dt.datetime.strptime(_date_text(text), _date_text(fmt))


class DateType(Namespace):
    SANDBOX_ATTRS = frozenset({"today", "fromisoformat", "fromordinal", "min", "max"})
    SANDBOX_NAME = "date"
    REAL = _dt.date
    min = _dt.date.min
    max = _dt.date.max

    def __call__(self, year: int, month: int, day: int) -> _dt.date:
        return _dt.date(year, month, day)

    def today(self) -> _dt.date:
        return _dt.date.today()

    def fromisoformat(self, text: str) -> _dt.date:
        return _dt.date.fromisoformat(_date_text(text))

    def fromordinal(self, ordinal: int) -> _dt.date:
        return _dt.date.fromordinal(ordinal)


class TimedeltaType(Namespace):
    SANDBOX_ATTRS = frozenset({"min", "max", "resolution"})
    SANDBOX_NAME = "timedelta"
    REAL = _dt.timedelta
    min = _dt.timedelta.min
    max = _dt.timedelta.max
    resolution = _dt.timedelta.resolution

    def __call__(
        self,
        days: float = 0,
        seconds: float = 0,
        microseconds: float = 0,
        milliseconds: float = 0,
        minutes: float = 0,
        hours: float = 0,
        weeks: float = 0,
    ) -> _dt.timedelta:
        return _dt.timedelta(days, seconds, microseconds, milliseconds, minutes, hours, weeks)


class TimezoneType(Namespace):
    SANDBOX_ATTRS = frozenset({"utc"})
    SANDBOX_NAME = "timezone"
    REAL = _dt.timezone
    utc = _dt.UTC

    def __call__(self, offset: _dt.timedelta, name: str | None = None) -> _dt.timezone:
        if name is None:
            return _dt.timezone(offset)
        return _dt.timezone(offset, _date_text(name))


# -- Decimal -----------------------------------------------------------------------------------


class DecimalType(Namespace):
    """`Decimal(value)`: values are rounded into the bounded `DECIMAL_CONTEXT` on creation."""

    SANDBOX_ATTRS = frozenset(ROUNDING)
    SANDBOX_NAME = "Decimal"
    REAL = decimal.Decimal

    def __init__(self) -> None:
        for name, value in ROUNDING.items():
            setattr(self, name, value)

    def __call__(self, value: Any = "0") -> decimal.Decimal:
        if isinstance(value, str):
            if len(value) > MAX_DECIMAL_TEXT:
                raise ValueError(f"decimal text longer than {MAX_DECIMAL_TEXT} characters")
            value = value.strip().replace("_", "")
        elif isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
            raise TypeError(f"conversion from {type(value).__name__} to Decimal is not supported")
        return DECIMAL_CONTEXT.create_decimal(value)


# -- str and dict ----------------------------------------------------------------------------


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


# -- small helpers -----------------------------------------------------------------------------


def make_functions(guards: Guards) -> dict[str, Callable[..., Any]]:
    """`b64encode`, `b64decode`, `sha256`, `uuid4`: str in, str out."""

    def b64encode(text: str) -> str:
        if not isinstance(text, str):
            raise TypeError("b64encode() argument must be str")
        encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
        return guards.check_size(encoded)  # type: ignore[no-any-return]

    def b64decode(text: str) -> str:
        if not isinstance(text, str):
            raise TypeError("b64decode() argument must be str")
        guards.check_size(text)
        try:
            raw = base64.b64decode(text.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise ValueError("invalid base64 text") from None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("decoded base64 is not UTF-8 text") from None

    def sha256(text: str) -> str:
        if not isinstance(text, str):
            raise TypeError("sha256() argument must be str")
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def uuid4() -> str:
        return str(uuid.uuid4())

    return {"b64encode": b64encode, "b64decode": b64decode, "sha256": sha256, "uuid4": uuid4}


NAMESPACE_TYPES: tuple[type[Namespace], ...] = (
    StrType,
    DictType,
    JsonNamespace,
    MathNamespace,
    ReNamespace,
    DatetimeType,
    DateType,
    TimedeltaType,
    TimezoneType,
    DecimalType,
)
