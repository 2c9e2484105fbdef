"""From source to a sandboxed code object: parse, check, transform, compile.

1. `ast.parse` (syntax errors become diagnostics with line and column);
2. `normalize_targets` (list targets become tuple targets, see `rewrite.py`);
3. strict-variable check (`names.py`) on the untransformed tree;
4. `ScriptPolicy` (RestrictedPython's transformer plus our refusals, `policy.py`);
5. `ScriptRewriter` (ticks, call wrappers, size guards, exception wrapping), and for
   long scripts `ExpressionTicker` (an operation counted after every heavy expression);
6. `compile(..., "<script>", "exec", dont_inherit=True)`.

The result lists the global names the code object (and every nested one) loads, so that a
run binds only what the script uses.
"""

from __future__ import annotations

import ast
import hashlib
import types
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from alloy_scripting.engine.names import NameUse, check_names
from alloy_scripting.engine.policy import ScriptPolicy
from alloy_scripting.engine.rewrite import (
    HEAVY_NODES,
    ExpressionTicker,
    ScriptRewriter,
    needs_expression_ticks,
    normalize_targets,
)
from alloy_scripting.engine.trace_lines import LineMarker
from alloy_scripting.model.result import Diagnostic

#: Part of every cache key and digest: bump when the policy or the rewrites change.
POLICY_VERSION = "alloy-policy-3"
FILENAME = "<script>"
#: Syntax-tree nodes a script may have. Compiling runs before any deadline, in the caller's
#: thread: a 128 KiB source of f-strings (~130,000 nodes) takes seconds. Ordinary business
#: scripts of a few hundred lines stay far below this.
MAX_NODES = 30_000
#: Straight-line scripts with at most this many "heavy" nodes and nothing but `abort(...)`
#: calls run without a `Run` (no deadline checks: nothing in them can take long).
MAX_STRAIGHT_HEAVY = 8


@dataclass(slots=True)
class CompiledScript:
    """A compiled script (or the diagnostics explaining why it could not be compiled)."""

    digest: str
    code: types.CodeType | None
    diagnostics: tuple[Diagnostic, ...]
    names: frozenset[str] = frozenset()
    helper_uses: tuple[NameUse, ...] = ()
    #: Prepared by the engine that compiled it (see `runtime.ScriptEngine`).
    static_globals: dict[str, Any] = field(default_factory=dict)
    run_bindings: tuple[tuple[str, str], ...] = ()
    helper_names: tuple[str, ...] = ()
    uses_ctx: bool = False
    uses_params: bool = False
    uses_config: bool = False
    uses_before: bool = False
    uses_decimal: bool = False
    needs_run: bool = False
    needs_context: bool = False
    #: `code` when it runs without a `Run`, context bindings or decimal context (the
    #: engine's straight path), else None.
    simple_code: types.CodeType | None = None
    #: Set on every cache hit; cleared by the cache's CLOCK eviction.
    referenced: bool = False

    @property
    def ok(self) -> bool:
        return self.code is not None

    @property
    def errors(self) -> list[Diagnostic]:
        return [item for item in self.diagnostics if item.severity == "error"]


def digest_of(source: str) -> str:
    return hashlib.sha256(
        f"{POLICY_VERSION}\0{source}".encode("utf-8", "surrogatepass")
    ).hexdigest()


def compile_script(
    source: str,
    *,
    known: Collection[str],
    helpers: Collection[str],
    max_source_size: int,
    trace: bool = False,
) -> CompiledScript:
    """`trace`: mark every statement for the debug tracer (`trace_lines.py`)."""
    digest = digest_of(source)
    if not isinstance(source, str):
        return _failed(digest, 0, 0, "script source must be text")
    if len(source) > max_source_size:
        return _failed(digest, 1, 1, f"script is longer than {max_source_size} characters")
    try:
        return _compile(source, digest, known, helpers, trace)
    except RecursionError:
        return _failed(digest, 1, 1, "script is nested too deeply")
    except MemoryError:
        return _failed(digest, 1, 1, "script is too large to compile")


def _compile(
    source: str, digest: str, known: Collection[str], helpers: Collection[str], trace: bool
) -> CompiledScript:
    try:
        tree = ast.parse(source, FILENAME, "exec")
    except SyntaxError as error:
        return _failed(digest, error.lineno or 0, error.offset or 0, f"SyntaxError: {error.msg}")
    except ValueError as error:  # e.g. source contains NUL bytes
        return _failed(digest, 1, 1, f"SyntaxError: {error}")
    nodes = sum(1 for _ in ast.walk(tree))
    if nodes > MAX_NODES:
        return _failed(
            digest, 1, 1, f"script too complex: {nodes} syntax nodes (at most {MAX_NODES})"
        )
    normalize_targets(tree)
    heavy = needs_expression_ticks(tree) or (_straight_line(tree) and not _trivially_bounded(tree))
    diagnostics, helper_uses = check_names(tree, known, helpers)
    policy = ScriptPolicy()
    tree = policy.visit(tree)
    diagnostics += policy.diagnostics
    if any(item.severity == "error" for item in diagnostics) or policy.errors:
        return CompiledScript(digest, None, _sorted(diagnostics), helper_uses=tuple(helper_uses))
    tree = ScriptRewriter().visit(tree)
    if heavy:
        tree = ExpressionTicker().visit(tree)
    if trace:
        tree = LineMarker().visit(tree)
    ast.fix_missing_locations(tree)
    try:
        code = compile(tree, FILENAME, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        line = getattr(error, "lineno", None) or 0
        return _failed(digest, line, 0, f"SyntaxError: {getattr(error, 'msg', None) or error}")
    return CompiledScript(
        digest,
        code,
        _sorted(diagnostics),
        names=frozenset(_global_names(code)),
        helper_uses=tuple(helper_uses),
    )


_LOOPS = (
    ast.For,
    ast.While,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.FunctionDef,
    ast.Lambda,
)


def _straight_line(tree: ast.AST) -> bool:
    """No loop, comprehension or function: nothing would ever tick (scripts with those
    count their steps, and their runs check the deadline every few steps)."""
    return not any(isinstance(node, _LOOPS) for node in ast.walk(tree))


def _trivially_bounded(tree: ast.AST) -> bool:
    """Whether the script is a short straight line of cheap steps: no call but `abort(...)`
    and a few `entity` methods (any other method or builtin can take a callback, sort, hash
    thousands of colliding keys or build quadratic output in one C call), no unpacking into
    displays or calls, no comprehension, and few heavy nodes. Anything else gets an
    operation (and deadline) check after each heavy expression, with a `Run`."""
    heavy = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and not _cheap_call(node.func):
            return False
        if isinstance(
            node, ast.Starred | ast.GeneratorExp | ast.ListComp | ast.SetComp | ast.DictComp
        ):
            return False
        if isinstance(node, ast.Dict) and None in node.keys:  # {**mapping}
            return False
        if isinstance(node, HEAVY_NODES):
            heavy += 1
            if heavy > MAX_STRAIGHT_HEAVY:
                return False
    return True


#: `entity` methods that do one bounded step on the entity's own top-level fields.
_ENTITY_METHODS = frozenset({"get", "update", "pop", "setdefault", "keys", "values", "items"})


def _cheap_call(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id == "abort"
    return (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id == "entity"
        and func.attr in _ENTITY_METHODS
    )


def _failed(digest: str, line: int, col: int, message: str) -> CompiledScript:
    return CompiledScript(digest, None, (Diagnostic("error", line, col, message),))


def _sorted(diagnostics: list[Diagnostic]) -> tuple[Diagnostic, ...]:
    return tuple(sorted(diagnostics, key=lambda item: (item.line, item.col)))


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names
