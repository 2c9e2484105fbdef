"""`ScriptPolicy`: RestrictedPython's `RestrictingNodeTransformer` plus our refusals.

On top of RestrictedPython (no `_`-prefixed names or attributes, no `exec`/`eval`, no
`nonlocal`, no `except*`, no unknown AST nodes, guarded attribute/item access, iteration
and unpacking), scripts may not use:

* imports, class definitions, decorators, generators (`yield`), `async`, `with`,
  `match` (class patterns read attributes without `_getattr_`), `global`/`nonlocal`;
* attribute assignment or deletion (scripts own no objects with attributes);
* `return`, `break` or `continue` inside a `finally:` block (they would swallow an abort
  or a limit breach that is propagating);
* bytes literals (no bytes type exists in the sandbox), keyword arguments starting with
  `_`, more than `MAX_FSTRING_FIELDS` fields in one f-string.

It also rewrites `target[key] op= value` (which RestrictedPython refuses) into
`_augitem_(target, key, "op=", value)`, drops annotations (they would be evaluated), and
leaves `print` as an ordinary global (the sandbox's `print` logs).

Every refusal is collected as a `Diagnostic` with a 1-based line and column.
"""

from __future__ import annotations

import ast
from typing import Any

from RestrictedPython.transformer import (
    IOPERATOR_TO_STR,
    RestrictingNodeTransformer,
    copy_locations,
)

from alloy_scripting.model.result import Diagnostic

MAX_FSTRING_FIELDS = 100

_REFUSED = {
    "Match": "'match' statements are not allowed",
    "TypeAlias": "type aliases are not allowed",
}


def _position(node: ast.AST) -> tuple[int, int]:
    line = getattr(node, "lineno", None) or 0
    col = getattr(node, "col_offset", None)
    return line, (col + 1 if isinstance(col, int) else 0)


class ScriptPolicy(RestrictingNodeTransformer):
    def __init__(
        self,
        errors: list[str] | None = None,
        warnings: list[str] | None = None,
        used_names: dict[str, bool] | None = None,
    ) -> None:
        super().__init__(errors, warnings, used_names)
        self.diagnostics: list[Diagnostic] = []

    # -- reporting -----------------------------------------------------------------------

    def error(self, node: ast.AST, info: str) -> None:
        super().error(node, info)
        line, col = _position(node)
        self.diagnostics.append(Diagnostic("error", line, col, info))

    def warn(self, node: ast.AST, info: str) -> None:
        """RestrictedPython's warnings only accompany errors reported here anyway."""

    def refuse(self, node: ast.AST, message: str) -> ast.AST:
        self.error(node, message)
        return node

    def not_allowed(self, node: ast.AST) -> None:
        name = type(node).__name__
        self.error(node, _REFUSED.get(name, f"{name} is not allowed in scripts"))

    def generic_visit(self, node: ast.AST) -> Any:  # unknown node: refused
        self.not_allowed(node)
        return node

    def check_name(self, node: Any, name: str | None, allow_magic_methods: bool = False) -> None:
        super().check_name(node, name, allow_magic_methods=False)

    # -- refused constructs --------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> Any:
        return self.refuse(
            node, "imports are not allowed: everything a script may use is already a global"
        )

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        return self.refuse(
            node, "imports are not allowed: everything a script may use is already a global"
        )

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        return self.refuse(node, "class definitions are not allowed")

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> Any:
        return self.refuse(node, "async functions are not allowed")

    def visit_Await(self, node: ast.Await) -> Any:
        return self.refuse(node, "'await' is not allowed")

    def visit_AsyncFor(self, node: ast.AsyncFor) -> Any:
        return self.refuse(node, "'async for' is not allowed")

    def visit_AsyncWith(self, node: ast.AsyncWith) -> Any:
        return self.refuse(node, "'async with' is not allowed")

    def visit_Yield(self, node: ast.Yield) -> Any:
        return self.refuse(node, "generators ('yield') are not allowed")

    def visit_YieldFrom(self, node: ast.YieldFrom) -> Any:
        return self.refuse(node, "generators ('yield from') are not allowed")

    def visit_With(self, node: ast.With) -> Any:
        return self.refuse(node, "'with' statements are not allowed")

    def visit_TryStar(self, node: ast.AST) -> Any:
        return self.refuse(node, "'except*' is not allowed")

    def visit_Global(self, node: ast.Global) -> Any:
        return self.refuse(node, "'global' is not allowed")

    def visit_Nonlocal(self, node: ast.Nonlocal) -> Any:
        return self.refuse(node, "'nonlocal' is not allowed")

    def visit_Constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, bytes):
            return self.refuse(node, "bytes literals are not allowed")
        return super().visit_Constant(node)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        if not isinstance(node.ctx, ast.Load):
            return self.refuse(node, "attribute assignment is not allowed")
        return super().visit_Attribute(node)

    def visit_keyword(self, node: ast.keyword) -> Any:
        if node.arg is not None and node.arg.startswith("_"):
            return self.refuse(
                node, f'keyword argument "{node.arg}" is invalid because it starts with "_"'
            )
        return super().visit_keyword(node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> Any:
        fields = sum(isinstance(value, ast.FormattedValue) for value in node.values)
        if fields > MAX_FSTRING_FIELDS:
            return self.refuse(node, f"an f-string may have at most {MAX_FSTRING_FIELDS} fields")
        return super().visit_JoinedStr(node)

    # -- functions -----------------------------------------------------------------------

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        if node.decorator_list:
            return self.refuse(node, "decorators are not allowed")
        _strip_annotations(node.args)
        node.returns = None
        return super().visit_FunctionDef(node)

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        _strip_annotations(node.args)
        return super().visit_Lambda(node)

    # -- statements ----------------------------------------------------------------------

    def visit_Try(self, node: ast.Try) -> Any:
        for statement in node.finalbody:
            for escape in _escapes(statement, in_loop=False):
                self.error(escape, f"'{_keyword(escape)}' inside 'finally' is not allowed")
        return super().visit_Try(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> Any:
        """`x: T = v` is `x = v`; a bare `x: T` does nothing."""
        if node.value is None:
            replacement: ast.stmt = ast.Pass()
        else:
            replacement = ast.Assign(targets=[node.target], value=node.value)
        copy_locations(replacement, node)
        return self.visit(replacement)

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        target = node.target
        if isinstance(target, ast.Attribute):
            return self.refuse(node, "attribute assignment is not allowed")
        if isinstance(target, ast.Subscript):
            if isinstance(target.slice, ast.Slice):
                return self.refuse(node, "augmented assignment to a slice is not allowed")
            call = ast.Call(
                func=ast.Name("_augitem_", ast.Load()),
                args=[
                    self.visit(target.value),
                    self.visit(target.slice),
                    ast.Constant(IOPERATOR_TO_STR[type(node.op)]),
                    self.visit(node.value),
                ],
                keywords=[],
            )
            statement = ast.Expr(value=call)
            copy_locations(call, node)
            copy_locations(statement, node)
            return statement
        return super().visit_AugAssign(node)

    # -- names ---------------------------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> Any:
        if isinstance(node.ctx, ast.Load) and node.id in ("print", "printed"):
            self.used_names[node.id] = True
            return node
        return super().visit_Name(node)


def _strip_annotations(args: ast.arguments) -> None:
    for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
        if arg is not None:
            arg.annotation = None


def _escapes(node: ast.AST, *, in_loop: bool) -> list[ast.AST]:
    """`return` / `break` / `continue` statements that would leave a `finally:` block."""
    if isinstance(node, ast.Return):
        return [node]
    if isinstance(node, (ast.Break, ast.Continue)):
        return [] if in_loop else [node]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
        return []
    found: list[ast.AST] = []
    if isinstance(node, (ast.For, ast.While, ast.AsyncFor)):
        for child in node.body:
            found += _escapes(child, in_loop=True)
        for child in node.orelse:
            found += _escapes(child, in_loop=in_loop)
        return found
    for inner in ast.iter_child_nodes(node):
        found += _escapes(inner, in_loop=in_loop)
    return found


def _keyword(node: ast.AST) -> str:
    return {ast.Return: "return", ast.Break: "break", ast.Continue: "continue"}.get(type(node), "?")
