"""`re`: regular expressions parsed and weighed before compiling, run with a timeout;
matches are read-only `MatchResult`s."""

from __future__ import annotations

import functools
import re as _re
import re._constants as _sre_constants  # type: ignore[import-not-found]
import re._parser as _sre_parse  # type: ignore[import-not-found]
from collections.abc import Callable
from typing import Any

import regex as _regex

from alloy_scripting.engine.errors import LimitExceeded, active_run
from alloy_scripting.engine.guards import Guards
from alloy_scripting.engine.toolbox.base import Namespace

MAX_PATTERN = 1000
MAX_PATTERN_WEIGHT = 2000


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
