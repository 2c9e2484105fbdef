"""Static checks of a script's ``store.*`` uses, for `ScriptEngine.validate`.

``store.<name>`` must name an operation (`STORE_OPERATIONS`), and a write (``put``,
``delete``, ``incr``) is an error in a phase that does not offer it (before-hooks). The
run enforces the same at run time (the namespace has no other attributes; a write in a
before-hook raises `PhaseError`), for uses no static reading sees (``s = store``). A script
that binds the name ``store`` itself (an assignment, a parameter) is not checked here.
"""

from __future__ import annotations

import ast

from alloy_scripting.bridge.host import phase_error_message
from alloy_scripting.bridge.state.namespace import STORE, STORE_OPERATIONS, operation_phases
from alloy_scripting.model.enums import ExecutionPhase


def store_problems(source: str, phase: ExecutionPhase | None) -> list[tuple[int, int, str]]:
    """(line, column, message) of each bad ``store.*`` use; none for unparsable source
    (its syntax error is reported by the compiler)."""
    if STORE not in source:
        return []
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    if _rebinds_store(tree):
        return []  # the script's own `store` (a variable, a parameter): not ours to judge
    problems: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == STORE
        ):
            continue
        where = (node.lineno, node.col_offset + 1)
        if node.attr not in STORE_OPERATIONS:
            known = ", ".join(STORE_OPERATIONS)
            problems.append((*where, f"store.{node.attr} is not a store operation ({known})"))
        elif phase is not None and phase not in operation_phases(node.attr):
            problems.append((*where, phase_error_message(f"store.{node.attr}", phase)))
    return problems


def _rebinds_store(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == STORE and not isinstance(node.ctx, ast.Load):
            return True
        if isinstance(node, ast.arg) and node.arg == STORE:
            return True
        if (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and node.name == STORE
        ):
            return True
        if isinstance(node, ast.ExceptHandler) and node.name == STORE:
            return True
        if isinstance(node, ast.Global | ast.Nonlocal) and STORE in node.names:
            return True
    return False
