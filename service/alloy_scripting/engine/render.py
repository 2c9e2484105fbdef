"""Bounded text rendering: the sandbox's `str()`, `repr()`, `format()`, f-strings and `%`.

CPython's own `repr` of a container walks it in C without any bound: a list holding the
same 64 KiB string 10 000 times renders to 640 MB, and a function renders as
`<function f at 0x7f...>` (a host address). The renderer here writes the same text as
CPython for plain data, a neutral `<function f>` for everything else, and stops as soon as
the output passes its budget (raising `LimitExceeded("string_size")`, or truncating for
log lines). Format specs are checked before formatting: widths are bounded by the string
limit, precisions by `MAX_PRECISION`, and date formats by `MAX_DATE_FORMAT`.
"""

from __future__ import annotations

import _string  # type: ignore[import-not-found]
import contextlib
import datetime as _dt
import decimal
import functools
import re
import types
from typing import Any

from alloy_scripting.engine.entity import EntityProxy, EntityView
from alloy_scripting.engine.errors import LimitExceeded, escape_surrogates

MAX_PRECISION = 1000
MAX_SPEC = 100
MAX_DATE_FORMAT = 256

_SPEC = re.compile(
    r"(?:(?P<fill>.)?[<>=^])?[-+ ]?z?#?0?(?P<width>\d+)?[_,]?(?:\.(?P<precision>\d+))?"
    r"[bcdeEfFgGnosxX%]?\Z",
    re.DOTALL,
)
#: A `%` conversion after its optional `(key)`, which `_percent_fields` parses as CPython
#: does (balanced parentheses: `%(a(b)s)` has the key `a(b)s`).
_PERCENT = re.compile(
    r"[-#0 +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d+))?[hlL]?(?P<conv>.?)",
    re.DOTALL,
)

_TEXT_TYPES = (
    decimal.Decimal,
    _dt.datetime,
    _dt.date,
    _dt.time,
    _dt.timedelta,
    _dt.timezone,
    range,
)
_NUMBERS = frozenset({int, float, bool, decimal.Decimal})
_DATES = frozenset({_dt.datetime, _dt.date, _dt.time})
_DICTS = (dict, EntityProxy, EntityView)
_CONVERSIONS: dict[str | None, int] = {None: -1, "s": 115, "r": 114, "a": 97}
_VIEWS = {
    type({}.keys()): "dict_keys",
    type({}.values()): "dict_values",
    type({}.items()): "dict_items",
}


class _Full(Exception):
    """Internal: the output budget is spent."""


class Renderer:
    """Renders values to text within a size budget (see the module docstring)."""

    __slots__ = ("_checked_specs", "max_depth", "max_size")

    def __init__(self, max_size: int, max_depth: int) -> None:
        self.max_size = max_size
        self.max_depth = max_depth
        self._checked_specs: dict[str, None] = {}

    # -- public entry points -------------------------------------------------------------

    def text(self, value: Any) -> str:
        kind = type(value)
        if kind is str:
            return value  # type: ignore[no-any-return]
        if kind is int or kind is float or kind is bool or value is None:
            return str(value)
        return self._render(value, False, self.max_size)

    def represent(self, value: Any) -> str:
        kind = type(value)
        if kind is int or kind is float or kind is bool or value is None:
            return repr(value)
        return self._render(value, True, self.max_size)

    def truncated(self, value: Any, limit: int, as_repr: bool = False) -> str:
        """Like `str()` / `repr()` but cut at `limit` characters instead of failing."""
        if type(value) is str and not as_repr:
            text: str = value
        else:
            parts: list[str] = []
            with contextlib.suppress(_Full):
                self._walk(value, as_repr, parts, [limit + 1], set(), 0)
            text = "".join(parts)
        if len(text) > limit:
            text = text[: max(limit - 3, 0)] + "..."
        return escape_surrogates(text)

    def format(self, value: Any, spec: str) -> str:
        """`format(value, spec)` with the spec checked first."""
        kind = type(value)
        if kind is str:
            if not spec:
                return value  # type: ignore[no-any-return]
            self.check_spec(spec)
            return format(value, spec)
        if kind in _NUMBERS:
            if spec:
                self.check_spec(spec)
            return format(value, spec)
        if kind in _DATES:
            if len(spec) > MAX_DATE_FORMAT:
                raise ValueError(f"date format longer than {MAX_DATE_FORMAT} characters")
            return format(value, spec)
        if spec:
            raise TypeError(f"unsupported format string passed to {_type_name(value)}.__format__")
        return self.text(value)

    def convert(self, value: Any, conversion: int) -> Any:
        """The `!s` / `!r` / `!a` conversions of format fields (-1: none)."""
        if conversion == -1:
            return value
        if conversion == 115:  # !s
            return self.text(value)
        if conversion == 114:  # !r
            return self.represent(value)
        if conversion == 97:  # !a: escaping can make it up to 10 times longer
            text = self.represent(value).encode("ascii", "backslashreplace").decode("ascii")
            if len(text) > self.max_size:
                raise LimitExceeded("string_size", "!a conversion result exceeds the string limit")
            return text
        raise ValueError("unknown conversion")

    def check_spec(self, spec: str) -> None:
        """Refuse format specs whose output could exceed the string limit."""
        if spec in self._checked_specs:
            return
        if len(spec) > MAX_SPEC:
            raise ValueError(f"format spec longer than {MAX_SPEC} characters")
        match = _SPEC.match(spec)
        if match is None:
            raise ValueError(f"Invalid format specifier {spec!r}")
        width, precision = match.group("width"), match.group("precision")
        if width is not None and int(width) > self.max_size:
            raise LimitExceeded("string_size", f"format width {width} exceeds the string limit")
        if precision is not None and int(precision) > MAX_PRECISION:
            raise LimitExceeded(
                "string_size", f"format precision {precision} exceeds {MAX_PRECISION}"
            )
        if len(self._checked_specs) > 4096:
            self._checked_specs.clear()
        self._checked_specs[spec] = None

    def percent(self, template: str, args: Any) -> str:
        """`template % args` for a str template, bounded before formatting."""
        estimate = len(template)
        mapping = False
        positional = args if isinstance(args, tuple) else (args,)
        index = 0
        for key, match in _percent_fields(template):
            for group in ("width", "precision"):
                text = match.group(group)
                if text is None:
                    continue
                if text == "*":
                    value = positional[index] if index < len(positional) else None
                    index += 1
                    if not isinstance(value, int):
                        raise TypeError("* wants int")
                    amount = abs(int(value))
                else:
                    amount = int(text)
                limit = self.max_size if group == "width" else MAX_PRECISION
                if amount > limit:
                    raise LimitExceeded(
                        "string_size", f"% format {group} {amount} exceeds the string limit"
                    )
                estimate += amount
            if key is not None:
                mapping = True
            if match.group("conv") != "%":
                index += 1
            estimate += 320  # the longest float / Decimal rendering of a conversion
            if estimate > self.max_size:
                raise LimitExceeded("string_size", "% formatting result exceeds the string limit")
        safe: Any
        if isinstance(args, tuple):
            if not mapping and len(args) > index:
                # Python refuses it anyway; say so before rendering arguments never used.
                raise TypeError("not all arguments converted during string formatting")
            safe = tuple(self._percent_arg(arg) for arg in args)
        elif mapping and isinstance(args, dict):
            safe = {key: self._percent_arg(value) for key, value in args.items()}
        else:
            safe = self._percent_arg(args)
        result: str = template % safe
        if len(result) > self.max_size:
            raise LimitExceeded("string_size", "% formatting result exceeds the string limit")
        return result

    def format_fields(self, template: str, args: Any, kwargs: Any) -> str:
        """`template.format(*args, **kwargs)`: fields may index dicts, lists and tuples
        (`{0[key]}`) but never read attributes (`{0.__class__}`); specs are checked."""
        return self._fields(template, args, kwargs, [0, ""], 0)

    def _fields(
        self, template: str, args: Any, kwargs: Any, numbering: list[Any], depth: int
    ) -> str:
        out: list[str] = []
        size = 0
        for literal, field, spec, conversion in _string.formatter_parser(template):
            if literal:
                out.append(literal)
                size += len(literal)
            if field is None:
                continue
            first, rest = _string.formatter_field_name_split(field)
            if first == "":
                if numbering[1] == "manual":
                    raise ValueError(
                        "cannot switch from manual field numbering to automatic field numbering"
                    )
                numbering[1] = "auto"
                first = numbering[0]
                numbering[0] += 1
            elif isinstance(first, int):
                if numbering[1] == "auto":
                    raise ValueError(
                        "cannot switch from automatic field numbering to manual field numbering"
                    )
                numbering[1] = "manual"
            value = args[first] if isinstance(first, int) else kwargs[first]
            for is_attribute, key in rest:
                if is_attribute:
                    raise ValueError("attribute access in format fields is not allowed in scripts")
                if not isinstance(value, (dict, list, tuple)):
                    raise TypeError("format fields may only index dicts, lists and tuples")
                value = value[key]
            if spec and "{" in spec:
                if depth:
                    raise ValueError("Max string recursion exceeded")
                spec = self._fields(spec, args, kwargs, numbering, depth + 1)
            code = _CONVERSIONS.get(conversion)
            if code is None:
                raise ValueError(f"Unknown conversion specifier {conversion}")
            piece = self.format(self.convert(value, code), spec or "")
            size += len(piece)
            if size > self.max_size:
                raise LimitExceeded("string_size", "str.format() result exceeds the string limit")
            out.append(piece)
        return "".join(out)

    def _percent_arg(self, value: Any) -> Any:
        kind = type(value)
        if kind is str or kind in _NUMBERS or kind in _DATES or value is None:
            return value
        return Rendered(self.text(value), self.represent(value))

    # -- the walker ----------------------------------------------------------------------

    def _render(self, value: Any, as_repr: bool, budget: int) -> str:
        parts: list[str] = []
        try:
            self._walk(value, as_repr, parts, [budget], set(), 0)
        except _Full:
            raise LimitExceeded("string_size", "text rendering exceeds the string limit") from None
        return "".join(parts)

    def _walk(
        self,
        value: Any,
        as_repr: bool,
        out: list[str],
        budget: list[int],
        active: set[int],
        depth: int,
    ) -> None:
        kind = type(value)
        if kind is str:
            self._put(repr(value) if as_repr else value, out, budget)
        elif kind is int or kind is float or kind is bool or value is None:
            self._put(repr(value), out, budget)
        elif (
            kind is list
            or kind is tuple
            or isinstance(value, _DICTS)
            or kind is set
            or kind is frozenset
        ):
            self._container(value, out, budget, active, depth)
        elif isinstance(value, _TEXT_TYPES):
            self._put(repr(value) if as_repr else str(value), out, budget)
        elif kind in _VIEWS:
            self._put(_VIEWS[kind] + "(", out, budget)
            self._container(list(value), out, budget, active, depth)
            self._put(")", out, budget)
        elif isinstance(value, tuple):  # named tuples from the toolbox (isocalendar)
            self._container(tuple(value), out, budget, active, depth)
        else:
            self._put(self._opaque(value, as_repr), out, budget)

    def _container(
        self, value: Any, out: list[str], budget: list[int], active: set[int], depth: int
    ) -> None:
        kind = type(value)
        marker = id(value)
        if marker in active:
            self._put(
                "[...]" if kind is list else "{...}" if isinstance(value, dict) else "(...)",
                out,
                budget,
            )
            return
        if depth >= self.max_depth:
            raise RecursionError("value is nested too deeply to render")
        active.add(marker)
        try:
            if isinstance(value, dict):
                self._put("{", out, budget)
                first = True
                for key, item in value.items():
                    if not first:
                        self._put(", ", out, budget)
                    first = False
                    self._walk(key, True, out, budget, active, depth + 1)
                    self._put(": ", out, budget)
                    self._walk(item, True, out, budget, active, depth + 1)
                self._put("}", out, budget)
                return
            if kind is set or kind is frozenset:
                if not value:
                    self._put("set()" if kind is set else "frozenset()", out, budget)
                    return
                opening, closing = ("{", "}") if kind is set else ("frozenset({", "})")
            elif kind is tuple:
                opening, closing = "(", ",)" if len(value) == 1 else ")"
            else:
                opening, closing = "[", "]"
            self._put(opening, out, budget)
            first = True
            for item in value:
                if not first:
                    self._put(", ", out, budget)
                first = False
                self._walk(item, True, out, budget, active, depth + 1)
            self._put(closing, out, budget)
        finally:
            active.discard(marker)

    @staticmethod
    def _put(text: str, out: list[str], budget: list[int]) -> None:
        budget[0] -= len(text)
        out.append(text)
        if budget[0] < 0:
            raise _Full

    def _opaque(self, value: Any, as_repr: bool) -> str:
        """Text for objects that are not plain data: never their host repr."""
        custom = getattr(type(value), "sandbox_text", None)
        if custom is not None:
            text: str = custom(value, as_repr)
            return text
        if isinstance(value, BaseException):
            message = exception_message(value, self)
            return f"{type(value).__name__}({message!r})" if as_repr else message
        if isinstance(
            value,
            (types.FunctionType, types.BuiltinFunctionType, types.MethodType, functools.partial),
        ):
            name = str(
                getattr(value, "__name__", None)
                or getattr(getattr(value, "func", None), "__name__", "?")
            )
            return f"<function {name.rstrip('_') or name}>"
        if isinstance(value, type):
            return f"<class '{value.__name__}'>"
        if isinstance(value, types.GeneratorType):
            return "<generator object>"
        return f"<{_type_name(value)} object>"


def _percent_fields(template: str) -> Any:
    """`(key, match)` for each `%` conversion of `template`, keys parsed as CPython does."""
    start = template.find("%")
    size = len(template)
    while start >= 0:
        position = start + 1
        key: str | None = None
        if position < size and template[position] == "(":
            depth = 1
            end = position + 1
            while end < size and depth:
                char = template[end]
                if char == "(":
                    depth += 1
                elif char == ")":
                    depth -= 1
                end += 1
            if depth:
                raise ValueError("incomplete format key")
            key = template[position + 1 : end - 1]
            position = end
        match = _PERCENT.match(template, position)
        assert match is not None  # every part of the pattern is optional
        yield key, match
        start = template.find("%", match.end())


class Rendered:
    """A pre-rendered stand-in used for `%` formatting of non-plain values."""

    __slots__ = ("_repr", "_str")

    def __init__(self, text: str, representation: str) -> None:
        self._str = text
        self._repr = representation

    def __str__(self) -> str:
        return self._str

    def __repr__(self) -> str:
        return self._repr


def exception_message(
    error: BaseException, renderer: Renderer | None = None, limit: int = 2048
) -> str:
    """The message of `error`, computed without CPython's unbounded repr of its args."""
    if isinstance(error, decimal.DecimalException):
        return _DECIMAL_ERRORS.get(type(error).__name__, "invalid Decimal operation")
    args = error.args
    plain = all(type(arg) in (str, int, float, bool) or arg is None for arg in args)
    if plain and sum(len(arg) for arg in args if type(arg) is str) <= 4 * limit:
        try:
            text = str(error)
        except Exception:
            text = type(error).__name__
        return sanitize(text[:limit])
    if renderer is None:
        return type(error).__name__
    if len(args) == 1:
        return sanitize(renderer.truncated(args[0], limit, as_repr=isinstance(error, KeyError)))
    return sanitize(renderer.truncated(args, limit, as_repr=True))


_DECIMAL_ERRORS = {
    "Overflow": "Decimal overflow: the result is out of the supported range",
    "Underflow": "Decimal underflow: the result is out of the supported range",
    "DivisionByZero": "Decimal division by zero",
    "DivisionUndefined": "Decimal division undefined (0 / 0)",
    "DivisionImpossible": "Decimal division impossible: the result needs too many digits",
    "InvalidOperation": "invalid Decimal operation (bad literal, or more than 34 digits needed)",
    "ConversionSyntax": "invalid Decimal literal",
    "FloatOperation": "mixing Decimal and float is not allowed",
}

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_PATH = re.compile(
    r"(?:[A-Za-z]:)?(?:[\\/][\w.\-+@~]+){2,}\.(?:py|pyc|so|pyd)\b|/(?:usr|home|opt|tmp|work|root|var)/[^\s'\"]*"
)


def sanitize(text: str) -> str:
    """Strip host details (object addresses, file paths) from a message; escape lone
    surrogates."""
    text = escape_surrogates(text)
    if "0x" in text:
        text = _ADDRESS.sub("", text)
    if "/" in text or "\\" in text:
        text = _PATH.sub("<host>", text)
    return text


def _type_name(value: Any) -> str:
    return type(value).__name__
