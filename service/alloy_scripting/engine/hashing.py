"""Set algebra that stays interruptible when hashes collide.

Ten thousand integers such as `i * (2**61 - 1)` share one hash, and inserting them into a
set or dict costs a probe per element already there: one C-level `set(keys)`,
`s.update(keys)` or `{*keys}` is then a single quadratic call that the in-band timeout
cannot interrupt. Above `AT_ONCE` items, and while a run is active (only a run's loops can
build that many distinct keys), the operations below insert element by element with a
tick each, so the deadline is checked as they go; smaller inputs use the C methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from alloy_scripting.engine.errors import active_run

AT_ONCE = 1000


def _ticker(size: int) -> Callable[[], Any] | None:
    if size <= AT_ONCE:
        return None
    run = active_run()
    return None if run is None else run.tick


def build_set(items: list[Any]) -> set[Any]:
    tick = _ticker(len(items))
    if tick is None:
        return set(items)
    result: set[Any] = set()
    add = result.add
    for item in items:
        tick()
        add(item)
    return result


def set_operation(target: Any, name: str, others: list[list[Any]]) -> Any:
    """`target.<name>(*others)` for set methods, ticking per element on big inputs."""
    tick = _ticker(sum(len(other) for other in others) + len(target))
    if tick is None:
        return getattr(target, name)(*others)
    frozen = type(target) is frozenset
    if name in ("union", "update"):
        result = target if name == "update" else set(target)
        _insert(result, (item for other in others for item in other), tick)
        return None if name == "update" else (frozenset(result) if frozen else result)
    if name in ("difference", "difference_update"):
        result = target if name == "difference_update" else set(target)
        for other in others:
            for item in other:
                tick()
                result.discard(item)
        return None if name == "difference_update" else (frozenset(result) if frozen else result)
    if name in ("intersection", "intersection_update"):
        kept = set(target) if not others else None
        for other in others:
            members = build_set(other)
            source = kept if kept is not None else target
            kept = set()
            for item in source:
                tick()
                if item in members:
                    kept.add(item)
        assert kept is not None
        if name == "intersection":
            return frozenset(kept) if frozen else kept
        target.clear()
        _insert(target, kept, tick)
        return None
    if name in ("symmetric_difference", "symmetric_difference_update"):
        result = target if name.endswith("_update") else set(target)
        for item in build_set(others[0]):
            tick()
            if item in result:
                result.discard(item)
            else:
                result.add(item)
        return None if name.endswith("_update") else (frozenset(result) if frozen else result)
    if name == "issubset":
        members = build_set(others[0])
        for item in target:
            tick()
            if item not in members:
                return False
        return True
    if name == "issuperset":
        for item in others[0]:
            tick()
            if item not in target:
                return False
        return True
    if name == "isdisjoint":
        for item in others[0]:
            tick()
            if item in target:
                return False
        return True
    return getattr(target, name)(*others)


def _insert(result: set[Any], items: Iterable[Any], tick: Callable[[], Any]) -> None:
    add = result.add
    for item in items:
        tick()
        add(item)
