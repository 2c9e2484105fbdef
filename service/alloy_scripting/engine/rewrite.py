"""Our AST rewrites, applied after RestrictedPython's transformer (see `policy.py`).

* `_tick_()` starts every `for` / `while` body and guards every comprehension step (as
  the first `if` of each `for` clause): it counts an operation, checks the deadline and
  re-raises a breach still propagating through a `finally:` block.
* `def` gets the decorator `_fn_`, and `lambda` is wrapped in `_fn_(...)`: each call is
  counted and the call depth bounded.
* `a * b`, `a + b`, `a - b`, `a ** b`, `a << b` and `a % b` become `_mul_(a, b)`, ...
  which check the size of the result before computing it; `x += v`, `x -= v` and
  `x *= v` (RestrictedPython's `x = _inplacevar_("+=", x, v)`) become `x = _iadd_(x, v)`,
  ... (one call, no dispatch by operator: the hottest steps of business loops).
* each f-string field `{v!c:spec}` becomes `{_fmt_(v, c, spec)}` (bounded widths and
  precisions, safe rendering), and an f-string with several fields is size-checked as a
  whole by `_fstr_`.
* `except T as e:` becomes `except _catch_(T) as _e_: e = _exc_(_e_)`: only the script
  exception classes can be caught, the name is bound to a plain-data `ScriptException`
  (never the exception with its traceback), and a displaced abort or breach is re-raised.
  A bare `except:` means `except Exception:`.
* `raise x` becomes `raise _raise_(x)`: a caught `ScriptException` is raised afresh.
* `_getitem_(x, k)` is compiled back to `x[k]` (see `visit_Call`).
* `_write_(x)[k] = v` keeps the `_write_` guard only for slice assignment.
* comparisons between non-constant operands become `_cmp_(a, "==", b)` (chains get
  their operands checked by `_cv_`), and tuple displays with non-constant elements
  become `_tup_((...))`: both bound the every-path size of nested containers, which
  C-level `==`, `<`, `in` and hashing walk without any tick.
* `*x` in calls and displays becomes `*_starred_(x)` (materialised with a bound), and
  list / set / dict comprehensions are size-checked by `_coll_`.
"""

from __future__ import annotations

import ast
from typing import Any

from RestrictedPython.transformer import copy_locations

_BINOPS: dict[type[ast.operator], str] = {
    ast.Mult: "_mul_",
    ast.Add: "_add_",
    ast.Sub: "_sub_",
    ast.Pow: "_pow_",
    ast.LShift: "_lshift_",
    ast.Mod: "_mod_",
}


#: Operators with no global of their own: `a | b` becomes `_inplacevar_("|", a, b)`.
_ROUTED_BINOPS: dict[type[ast.operator], str] = {
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
}
#: `_inplacevar_(op, x, v)` calls that have a guard of their own.
_DIRECT_INPLACE: dict[str, str] = {"+=": "_iadd_", "-=": "_sub_", "*=": "_imul_"}
#: Integer literals wider than this are size-checked at run time (`_add_(c, 0)`).
MAX_LITERAL_BITS = 64


_COMPARE_OPS: dict[type[ast.cmpop], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}


def _call(name: str, args: list[ast.expr], where: ast.AST) -> ast.Call:
    call = ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[])
    copy_locations(call, where)  # type: ignore[arg-type]
    return call


def _routed(op: str, args: list[ast.expr], where: ast.AST) -> ast.Call:
    """`_inplacevar_(op, *args)`: `Guards.inplace_ops` also holds the non-in-place
    operators and display builders that have no global name of their own."""
    return _call("_inplacevar_", [ast.Constant(op), *args], where)


def _raw_starred(node: ast.Starred) -> ast.expr:
    """The operand of `*x` before `visit_Starred` wrapped it in `_starred_(x)`."""
    value = node.value
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id == "_starred_"
        and len(value.args) == 1
    ):
        return value.args[0]
    return value


def _flags(flags: list[bool]) -> ast.Constant:
    constant = ast.Constant(None)
    constant.value = tuple(flags)  # type: ignore[assignment]  # tuple constants are valid
    return constant


def _display(elts: list[ast.expr], where: ast.AST) -> ast.Call:
    """`[*a, b, *c]` -> `_inplacevar_("[*]", [a, b, c], (True, False, True))`: the total
    size is checked before the items are copied (see `Guards.display`)."""
    items: list[ast.expr] = []
    flags: list[bool] = []
    for elt in elts:
        if isinstance(elt, ast.Starred):
            items.append(_raw_starred(elt))
            flags.append(True)
        else:
            items.append(elt)
            flags.append(False)
    listed = ast.List(elts=items, ctx=ast.Load())
    copy_locations(listed, where)  # type: ignore[arg-type]
    return _routed("[*]", [listed, _flags(flags)], where)


def _dict_display(keys: list[ast.expr | None], values: list[ast.expr], where: ast.AST) -> ast.Call:
    """`{**a, k: v}` -> `_inplacevar_("{**}", [a, (k, v)], (True, False))`."""
    parts: list[ast.expr] = []
    flags: list[bool] = []
    for key, value in zip(keys, values, strict=True):
        if key is None:
            parts.append(value)
            flags.append(True)
        else:
            pair = ast.Tuple(elts=[key, value], ctx=ast.Load())
            copy_locations(pair, value)
            parts.append(pair)
            flags.append(False)
    listed = ast.List(elts=parts, ctx=ast.Load())
    copy_locations(listed, where)  # type: ignore[arg-type]
    return _routed("{**}", [listed, _flags(flags)], where)


class ScriptRewriter(ast.NodeTransformer):
    def _tick(self, where: ast.AST) -> ast.Expr:
        statement = ast.Expr(value=_call("_tick_", [], where))
        copy_locations(statement, where)  # type: ignore[arg-type]
        return statement

    def visit_For(self, node: ast.For) -> Any:
        self.generic_visit(node)
        node.body.insert(0, self._tick(node))
        return node

    def visit_While(self, node: ast.While) -> Any:
        self.generic_visit(node)
        node.body.insert(0, self._tick(node))
        return node

    def visit_comprehension(self, node: ast.comprehension) -> Any:
        self.generic_visit(node)
        node.ifs.insert(0, _call("_tick_", [], node.iter))
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        self.generic_visit(node)
        decorator = ast.Name("_fn_", ast.Load())
        copy_locations(decorator, node)
        node.decorator_list = [decorator]
        if node.args.vararg is not None:
            # `def f(*a)`: `a` is a tuple built in C, checked like a tuple display.
            check = ast.Expr(
                value=_call("_tup_", [ast.Name(node.args.vararg.arg, ast.Load())], node)
            )
            copy_locations(check, node)
            node.body.insert(0, check)
        return node

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        self.generic_visit(node)
        if node.args.vararg is not None:
            # `lambda *a: body` -> `lambda *a: _tup_(a) is None or body` (`_tup_` returns
            # the tuple or raises: `body` is always the value, and written once — a copy
            # per nesting level would grow the tree exponentially).
            check = _call("_tup_", [ast.Name(node.args.vararg.arg, ast.Load())], node)
            never = ast.Compare(left=check, ops=[ast.Is()], comparators=[ast.Constant(None)])
            test = ast.BoolOp(op=ast.Or(), values=[never, node.body])
            copy_locations(never, node.body)
            copy_locations(test, node.body)
            node.body = test
        return _call("_fn_", [node], node)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        self.generic_visit(node)
        name = _BINOPS.get(type(node.op))
        if name is None:
            routed = _ROUTED_BINOPS.get(type(node.op))
            if routed is None:
                return node
            return _routed(routed, [node.left, node.right], node)
        return _call(name, [node.left, node.right], node)

    def visit_Constant(self, node: ast.Constant) -> Any:
        """Integer literals are bounded by the source size only (`0xfff...`)."""
        value = node.value
        if type(value) is int and value.bit_length() > MAX_LITERAL_BITS:
            return _call("_add_", [node, ast.Constant(0)], node)
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        self.generic_visit(node)
        spec: ast.expr = node.format_spec if node.format_spec is not None else ast.Constant("")
        value = _call("_fmt_", [node.value, ast.Constant(node.conversion), spec], node)
        replacement = ast.FormattedValue(value=value, conversion=-1, format_spec=None)
        copy_locations(replacement, node)
        return replacement

    def visit_JoinedStr(self, node: ast.JoinedStr) -> Any:
        self.generic_visit(node)
        if sum(isinstance(value, ast.FormattedValue) for value in node.values) < 2:
            return node
        return _call("_fstr_", [node], node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> Any:
        self.generic_visit(node)
        kind = node.type if node.type is not None else ast.Name("Exception", ast.Load())
        copy_locations(kind, node)
        node.type = _call("_catch_", [kind], node)
        wrapped = _call("_exc_", [ast.Name("_e_", ast.Load())], node)
        first: ast.stmt
        if node.name:
            first = ast.Assign(targets=[ast.Name(node.name, ast.Store())], value=wrapped)
        else:
            first = ast.Expr(value=wrapped)
        copy_locations(first, node)
        node.name = "_e_"
        node.body.insert(0, first)
        return node

    def visit_Raise(self, node: ast.Raise) -> Any:
        self.generic_visit(node)
        if node.exc is not None:
            node.exc = _call("_raise_", [node.exc], node)
        if node.cause is not None:
            node.cause = _call("_raise_", [node.cause], node)
        return node

    def visit_Call(self, node: ast.Call) -> Any:
        """`_getitem_(x, k)` -> `x[k]`: every subscriptable object a script can reach is plain
        data, an entity proxy / view or a `MatchResult`, so RestrictedPython's item guard
        would only cost time on the hottest operation of business scripts."""
        self.generic_visit(node)
        func = node.func
        if (
            isinstance(func, ast.Name)
            and func.id == "_inplacevar_"
            and len(node.args) == 3
            and not node.keywords
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value in _DIRECT_INPLACE
        ):
            return _call(_DIRECT_INPLACE[node.args[0].value], node.args[1:], node)
        if (
            isinstance(func, ast.Name)
            and func.id == "_getitem_"
            and len(node.args) == 2
            and not node.keywords
        ):
            subscript = ast.Subscript(value=node.args[0], slice=node.args[1], ctx=ast.Load())
            copy_locations(subscript, node)
            return subscript
        if sum(isinstance(arg, ast.Starred) for arg in node.args) > 1:
            # `f(*a, *b)`: the argument tuple is bounded as a whole
            starred = ast.Starred(value=_display(node.args, node), ctx=ast.Load())
            copy_locations(starred, node)
            node.args = [starred]
        if sum(keyword.arg is None for keyword in node.keywords) > 1:
            keys: list[ast.expr | None] = [
                None if keyword.arg is None else ast.Constant(keyword.arg)
                for keyword in node.keywords
            ]
            merged = _dict_display(keys, [keyword.value for keyword in node.keywords], node)
            node.keywords = [ast.keyword(arg=None, value=merged)]
            copy_locations(node.keywords[0], node)
        return node

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        """`_write_(x)[k] = v` -> `x[k] = v` unless `k` is a slice: only slice assignment can
        grow a list beyond the limit, and no object with a dangerous `__setitem__` is
        reachable from a script (`EntityView` refuses writes itself)."""
        self.generic_visit(node)
        value = node.value
        if (
            not isinstance(node.ctx, ast.Load)
            and not isinstance(node.slice, ast.Slice)
            and isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id == "_write_"
        ):
            node.value = value.args[0]
        return node

    def visit_Compare(self, node: ast.Compare) -> Any:
        """Comparisons between non-constant operands go through `_cmp_` (one operator) or
        have their operands checked by `_cv_` (chains): C-level `==`, `<` and `in` walk
        nested structures along every path, so aliased ones must be bounded first."""
        self.generic_visit(node)
        operands = [node.left, *node.comparators]
        if sum(not isinstance(item, ast.Constant) for item in operands) < 2 and not any(
            isinstance(op, (ast.In, ast.NotIn)) for op in node.ops
        ):
            return node
        if len(node.ops) == 1:
            op = _COMPARE_OPS[type(node.ops[0])]
            return _call("_cmp_", [node.left, ast.Constant(op), node.comparators[0]], node)
        node.left = _call("_cv_", [node.left], node.left)
        node.comparators = [_call("_cv_", [item], item) for item in node.comparators]
        return node

    def visit_Set(self, node: ast.Set) -> Any:
        """`{*items}` would insert all the items in one C call: see `hashing.py`."""
        self.generic_visit(node)
        if not any(isinstance(item, ast.Starred) for item in node.elts):
            return node
        return _call("_setdisplay_", [_display(node.elts, node)], node)

    def visit_List(self, node: ast.List) -> Any:
        """`[*a, *b]`: bounded as a whole before it is built (each `*x` alone is)."""
        self.generic_visit(node)
        if not isinstance(node.ctx, ast.Load) or not any(
            isinstance(item, ast.Starred) for item in node.elts
        ):
            return node
        return _display(node.elts, node)

    def visit_Dict(self, node: ast.Dict) -> Any:
        self.generic_visit(node)
        if all(key is not None for key in node.keys):
            return node
        return _dict_display(node.keys, node.values, node)

    def visit_Tuple(self, node: ast.Tuple) -> Any:
        self.generic_visit(node)
        if not isinstance(node.ctx, ast.Load) or all(
            isinstance(item, ast.Constant) for item in node.elts
        ):
            return node
        if any(isinstance(item, ast.Starred) for item in node.elts):
            return _routed("(*)", [_display(node.elts, node), ast.Constant(None)], node)
        return _call("_tup_", [node], node)

    def visit_Starred(self, node: ast.Starred) -> Any:
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load):
            node.value = _call("_starred_", [node.value], node)
        return node

    def _collection(self, node: ast.ListComp | ast.SetComp | ast.DictComp) -> Any:
        self.generic_visit(node)
        return _call("_coll_", [node], node)

    visit_ListComp = _collection
    visit_SetComp = _collection
    visit_DictComp = _collection


def normalize_targets(tree: ast.AST) -> ast.AST:
    """Before RestrictedPython: `[a, b] = x` becomes `(a, b) = x`, so that list targets get
    the same guarded unpacking as tuple targets (RestrictedPython only guards tuples)."""
    for node in ast.walk(tree):
        for field, value in ast.iter_fields(node):
            if isinstance(value, ast.List) and isinstance(value.ctx, ast.Store):
                setattr(node, field, _as_tuple(value))
            elif isinstance(value, list):
                for index, item in enumerate(value):
                    if isinstance(item, ast.List) and isinstance(item.ctx, ast.Store):
                        value[index] = _as_tuple(item)
    return tree


def _as_tuple(node: ast.List) -> ast.Tuple:
    replacement = ast.Tuple(elts=node.elts, ctx=node.ctx)
    copy_locations(replacement, node)
    return replacement


#: Nodes that can each do a bounded but sizeable amount of work (a host call, an operator
#: on big operands, a slice copy, a display with unpacking).
HEAVY_NODES = (ast.Call, ast.BinOp, ast.Subscript, ast.List, ast.Set, ast.Dict, ast.JoinedStr)
#: Above this many heavy nodes a script counts an operation after each of them.
MAX_UNTICKED = 64


def needs_expression_ticks(tree: ast.AST) -> bool:
    """Straight-line code never reaches a loop tick: a long script of `v1 = s + "x"` or
    `str(big)` lines could allocate or compute far beyond the limits before any check.
    Scripts with more than `MAX_UNTICKED` heavy expressions get `ExpressionTicker`."""
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, HEAVY_NODES):
            count += 1
            if count > MAX_UNTICKED:
                return True
    return False


class ExpressionTicker(ast.NodeTransformer):
    """Wrap every heavy expression in `_t_(...)`, which counts an operation (and so checks
    the deadline, the memory and a pending breach) once the expression has been evaluated."""

    def visit_Call(self, node: ast.Call) -> Any:
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("_tick_", "_t_"):
            return node
        return _call("_t_", [node], node)

    def _wrap_load(self, node: Any) -> Any:
        self.generic_visit(node)
        if isinstance(getattr(node, "ctx", ast.Load()), ast.Load):
            return _call("_t_", [node], node)
        return node

    visit_BinOp = _wrap_load
    visit_Subscript = _wrap_load
    visit_List = _wrap_load
    visit_Set = _wrap_load
    visit_Dict = _wrap_load
