"""Attacks on the compiler itself: huge or pathological sources.

The parser / RestrictedPython transformer / CPython compiler raise MemoryError,
RecursionError, SyntaxError, UnicodeEncodeError or ValueError on these (some *raise*
out of `compile_restricted` instead of reporting errors).  The engine must turn every
one of them into a clean ``error`` result, quickly, and `validate` must not raise.

Each case names the refusal it expects (``limit``). The deep-nesting cases stay under the
131,072-character source cap, so that they reach the parser / compiler defence they are
about instead of the size check (the 10 MB cases are about the size check).
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
    A(
        "cmp-10mb-source",
        "compiler",
        "x = 1\n" * 1_700_000,
        "refused",
        wall_limit=3.0,
        limit="validation: script is longer than 131072 characters",
    ),
    # 10 MB single string literal
    A(
        "cmp-10mb-string-literal",
        "compiler",
        'x = "' + "a" * 10_000_000 + '"\n',
        "refused",
        wall_limit=3.0,
        limit="validation: script is longer than 131072 characters",
    ),
    # 60000 nested parentheses (tokenizer limit)
    A(
        "cmp-nested-parens",
        "compiler",
        "x = " + "(" * 60_000 + "1" + ")" * 60_000 + "\n",
        "refused",
        limit="validation: too many nested parentheses",
    ),
    # 100000 unary minus: MemoryError inside the parser
    A(
        "cmp-unary-minus-chain",
        "compiler",
        "x = " + "-" * 100_000 + "1\n",
        "refused",
        limit="validation: script is too large to compile",
    ),
    # 30000 `not`: MemoryError inside the parser
    A(
        "cmp-not-chain",
        "compiler",
        "x = " + "not " * 30_000 + "1\n",
        "refused",
        limit="validation: script is too large to compile",
    ),
    # 1+1+1...: RecursionError during AST construction
    A(
        "cmp-binop-chain",
        "compiler",
        "x = 1" + "+1" * 60_000 + "\n",
        "refused",
        limit="validation: script is nested too deeply",
    ),
    # a.b.b.b...: RecursionError during AST construction
    A(
        "cmp-attribute-chain",
        "compiler",
        "x = entity" + ".b" * 60_000 + "\n",
        "refused",
        limit="validation: script is nested too deeply",
    ),
    # f()()()...: RecursionError
    A(
        "cmp-call-chain",
        "compiler",
        "x = abort" + "()" * 60_000 + "\n",
        "refused",
        limit="validation: script is nested too deeply",
    ),
    # a[0][0]...: RecursionError
    A(
        "cmp-subscript-chain",
        "compiler",
        "x = entity" + "[0]" * 40_000 + "\n",
        "refused",
        limit="validation: script is nested too deeply",
    ),
    # lambda: lambda: ... 1000 deep: RecursionError in the transformer / compiler
    A(
        "cmp-lambda-nesting",
        "compiler",
        "x = " + "lambda: " * 1000 + "1\n",
        "refused",
        limit="validation: script is nested too deeply",
    ),
    # 400 nested ifs: IndentationError (too many levels)
    A(
        "cmp-nested-ifs",
        "compiler",
        _nested_ifs(400),
        "refused",
        limit="validation: too many levels of indentation",
    ),
    # integer literal of 100000 digits
    A(
        "cmp-huge-int-literal",
        "compiler",
        "x = 1" + "0" * 100_000 + "\n",
        "refused",
        limit="validation: Exceeds the limit (4300 digits)",
    ),
    # a 60000-element list literal: bypasses max_array_size at runtime (BUILD_LIST)
    A(
        "cmp-huge-list-literal",
        "compiler",
        "x = [" + "1," * 60_000 + "]\n",
        "refused",
        extra_ok=("limit_exceeded",),
        wall_limit=3.0,
        limit="validation: script too complex",
    ),
    # a 16000-entry dict literal
    A(
        "cmp-huge-dict-literal",
        "compiler",
        "x = {" + ",".join(f"{i}:0" for i in range(16_000)) + "}\n",
        "refused",
        extra_ok=("limit_exceeded",),
        wall_limit=3.0,
        limit="validation: script too complex",
    ),
    # 6000 sequential ifs: as many as fit under the source cap, slow to transform
    A("cmp-100k-ifs", "compiler", "if entity:\n    pass\n" * 6_000, "bounded", wall_limit=3.0),
    # SyntaxErrors raised by compile() after RestrictedPython accepted the AST
    A(
        "cmp-yield-toplevel",
        "compiler",
        "yield 1\n",
        "refused",
        limit="validation: generators ('yield') are not allowed",
    ),
    A(
        "cmp-return-toplevel",
        "compiler",
        "return 1\n",
        "refused",
        limit="validation: 'return' outside function",
    ),
    A(
        "cmp-break-outside-loop",
        "compiler",
        "break\n",
        "refused",
        limit="validation: 'break' outside loop",
    ),
    A(
        "cmp-duplicate-argument",
        "compiler",
        "def f(x, x):\n    pass\n",
        "refused",
        limit="validation: duplicate argument 'x'",
    ),
    A(
        "cmp-global-after-assign",
        "compiler",
        "x = 1\nglobal x\n",
        "refused",
        limit="validation: 'global' is not allowed",
    ),
    A(
        "cmp-await-toplevel",
        "compiler",
        "await entity\n",
        "refused",
        limit="validation: 'await' is not allowed",
    ),
    # null byte in the source
    A(
        "cmp-null-byte",
        "compiler",
        "x = 1\x00\n",
        "refused",
        limit="validation: source code string cannot contain null bytes",
    ),
    # lone surrogate: UnicodeEncodeError in compile()
    A(
        "cmp-lone-surrogate",
        "compiler",
        "x = '\ud800'\n",
        "refused",
        limit="validation: 'utf-8' codec can't encode character",
    ),
    # an identifier of 120000 characters (under the source cap): compiles and runs
    A(
        "cmp-huge-identifier",
        "compiler",
        "a" * 120_000 + " = 1\n",
        "refused",
        extra_ok=("success",),
        limit="success",
    ),
]
