"""The rewrite of a traced compile: `_line_(n)` before every statement of the script, and
`_line_(loop line)` at the end of every loop body, so that each iteration shows the loop's
line with the binding of its loop variable. Statements our rewrites added (`_tick_()`)
are not marked. Applied after every other rewrite, only when the engine compiles for a
debug run: ordinary runs never see it."""

from __future__ import annotations

import ast
from typing import Any

from RestrictedPython.transformer import copy_locations

LINE_HOOK = "_line_"


def _mark(line: int, where: ast.AST) -> ast.Expr:
    call = ast.Call(func=ast.Name(LINE_HOOK, ast.Load()), args=[ast.Constant(line)], keywords=[])
    statement = ast.Expr(call)
    copy_locations(statement, where)  # type: ignore[arg-type]
    copy_locations(call, where)  # type: ignore[arg-type]
    return statement


def _ours(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Call)
        and isinstance(statement.value.func, ast.Name)
        and statement.value.func.id == "_tick_"
    )


def _marked(body: list[ast.stmt], *, loop: ast.stmt | None = None) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for statement in body:
        if not _ours(statement):
            out.append(_mark(statement.lineno, statement))
        out.append(statement)
    if loop is not None:
        out.append(_mark(loop.lineno, loop))
    return out


class LineMarker(ast.NodeTransformer):
    """Marks each statement of each body with its line (see the module docstring)."""

    def generic_visit(self, node: ast.AST) -> Any:
        super().generic_visit(node)
        loop = node if isinstance(node, (ast.For, ast.While)) else None
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                setattr(node, name, _marked(body, loop=loop if name == "body" else None))
        return node
