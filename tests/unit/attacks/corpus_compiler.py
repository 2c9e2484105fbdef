"""Attacks on the compiler itself: huge or pathological sources.

The parser / RestrictedPython transformer / CPython compiler raise MemoryError,
RecursionError, SyntaxError, UnicodeEncodeError or ValueError on these (some *raise*
out of `compile_restricted` instead of reporting errors).  The engine must turn every
one of them into a clean ``error`` result, quickly, and `validate` must not raise.
"""

from __future__ import annotations

from .corpus import Attack

A = Attack


def _nested_ifs(depth: int) -> str:
    lines = []
    for i in range(depth):
        lines.append(" " * i + "if entity:")
    lines.append(" " * depth + "pass")
    return "\n".join(lines) + "\n"


COMPILER: list[Attack] = [
    # 10 MB of statements
    A("cmp-10mb-source", "compiler", "x = 1\n" * 1_700_000, "refused", wall_limit=3.0),
    # 10 MB single string literal
    A(
        "cmp-10mb-string-literal",
        "compiler",
        'x = "' + "a" * 10_000_000 + '"\n',
        "refused",
        wall_limit=3.0,
    ),
    # 100000 nested parentheses (tokenizer limit)
    A(
        "cmp-nested-parens",
        "compiler",
        "x = " + "(" * 100_000 + "1" + ")" * 100_000 + "\n",
        "refused",
    ),
    # 100000 unary minus: MemoryError inside the parser
    A("cmp-unary-minus-chain", "compiler", "x = " + "-" * 100_000 + "1\n", "refused"),
    # 100000 `not`: MemoryError inside the parser
    A("cmp-not-chain", "compiler", "x = " + "not " * 100_000 + "1\n", "refused"),
    # 1+1+1...: RecursionError during AST construction
    A("cmp-binop-chain", "compiler", "x = 1" + "+1" * 100_000 + "\n", "refused"),
    # a.b.b.b...: RecursionError during AST construction
    A("cmp-attribute-chain", "compiler", "x = entity" + ".b" * 100_000 + "\n", "refused"),
    # f()()()...: RecursionError
    A("cmp-call-chain", "compiler", "x = abort" + "()" * 100_000 + "\n", "refused"),
    # a[0][0]...: RecursionError
    A("cmp-subscript-chain", "compiler", "x = entity" + "[0]" * 100_000 + "\n", "refused"),
    # lambda: lambda: ... 1000 deep: RecursionError in the transformer / compiler
    A("cmp-lambda-nesting", "compiler", "x = " + "lambda: " * 1000 + "1\n", "refused"),
    # 1000 nested ifs: IndentationError (too many levels)
    A("cmp-nested-ifs", "compiler", _nested_ifs(1000), "refused"),
    # integer literal of 100000 digits
    A("cmp-huge-int-literal", "compiler", "x = 1" + "0" * 100_000 + "\n", "refused"),
    # a 1e6-element list literal: bypasses max_array_size at runtime (BUILD_LIST)
    A(
        "cmp-huge-list-literal",
        "compiler",
        "x = [" + "1," * 1_000_000 + "]\n",
        "refused",
        extra_ok=("limit_exceeded",),
        wall_limit=3.0,
    ),
    # a 200k-entry dict literal
    A(
        "cmp-huge-dict-literal",
        "compiler",
        "x = {" + ",".join(f"{i}: {i}" for i in range(200_000)) + "}\n",
        "refused",
        extra_ok=("limit_exceeded",),
        wall_limit=3.0,
    ),
    # 100k sequential ifs: ~1.2 MB, slow to transform
    A("cmp-100k-ifs", "compiler", "if entity:\n    pass\n" * 100_000, "bounded", wall_limit=3.0),
    # SyntaxErrors raised by compile() after RestrictedPython accepted the AST
    A("cmp-yield-toplevel", "compiler", "yield 1\n", "refused"),
    A("cmp-return-toplevel", "compiler", "return 1\n", "refused"),
    A("cmp-break-outside-loop", "compiler", "break\n", "refused"),
    A("cmp-duplicate-argument", "compiler", "def f(x, x):\n    pass\n", "refused"),
    A("cmp-global-after-assign", "compiler", "x = 1\nglobal x\n", "refused"),
    A("cmp-await-toplevel", "compiler", "await entity\n", "refused"),
    # null byte in the source
    A("cmp-null-byte", "compiler", "x = 1\x00\n", "refused"),
    # lone surrogate: UnicodeEncodeError in compile()
    A("cmp-lone-surrogate", "compiler", "x = '\ud800'\n", "refused"),
    # an identifier of 1 MB
    A(
        "cmp-huge-identifier",
        "compiler",
        "a" * 1_000_000 + " = 1\n",
        "refused",
        extra_ok=("success",),
    ),
]
