"""Strict variables: every name a script reads must be defined by the script or be a global
of the sandbox. Also records where phase helpers are used, for the phase check.

The check is deliberately scope-insensitive (a name bound anywhere in the script counts
as defined everywhere): it catches typos and unknown globals at validation time; a name
read before it is bound still fails at run time with `NameError`.
"""

from __future__ import annotations

import ast
from collections.abc import Collection
from dataclasses import dataclass

from alloy_scripting.model.result import Diagnostic


@dataclass(frozen=True, slots=True)
class NameUse:
    name: str
    line: int
    col: int


class _Collector(ast.NodeVisitor):
    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.reads: list[NameUse] = []

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store):
            self.bound.add(node.id)
        else:
            self.reads.append(NameUse(node.id, node.lineno, node.col_offset + 1))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.bound.add(node.name)
        self.generic_visit(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.bound.add(node.name)
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.bound.add(node.name)
        self.generic_visit(node)

    def visit_arg(self, node: ast.arg) -> None:
        self.bound.add(node.arg)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.bound.add(node.name)
        self.generic_visit(node)

    def visit_alias(self, node: ast.alias) -> None:
        self.bound.add((node.asname or node.name).split(".")[0])


def check_names(
    tree: ast.AST, known: Collection[str], helpers: Collection[str]
) -> tuple[list[Diagnostic], list[NameUse]]:
    """Undefined-name diagnostics, and the uses of helper names the script did not shadow."""
    collector = _Collector()
    collector.visit(tree)
    diagnostics: list[Diagnostic] = []
    helper_uses: list[NameUse] = []
    reported: set[str] = set()
    for use in collector.reads:
        if use.name in collector.bound:
            continue
        if use.name in helpers:
            helper_uses.append(use)
        elif use.name not in known and not use.name.startswith("_") and use.name not in reported:
            reported.add(use.name)
            diagnostics.append(
                Diagnostic("error", use.line, use.col, f"undefined name '{use.name}'")
            )
    return diagnostics, helper_uses
