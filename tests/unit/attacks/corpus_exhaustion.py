"""Resource-exhaustion attacks (CPU, memory, output size, C-level loops, recursion).

Each runs in a fresh subprocess (see `_runner.py`) so that a hang or a memory bomb
fails one test instead of the whole session, and so that `ru_maxrss` is measured
cleanly.  Growth must be refused *before* the allocation.
"""

from __future__ import annotations

from .corpus import DEADLINE, Attack, S
from .corpus_escapes import _finally_chain


def _straight_line_allocation(statements: int = 3_500) -> str:
    """Straight-line code: no loop, no call, hence no tick and no memory check (as many
    statements as fit under the 30,000 syntax-node cap)."""
    lines = ["# 3500 distinct 65 KB strings without a single tick: ~230 MB", 's = "x" * 65000']
    lines += [f'v{i}=s+"x"' for i in range(statements)]
    lines.append('entity["n"] = len(v0)')
    return "\n".join(lines) + "\n"


def _straight_line_host_calls(statements: int = 4_900) -> str:
    """Straight-line calls of a slow-but-bounded host function (rendering ~50 KB each):
    no loop and no user function, hence no tick and no deadline check (as many statements
    as fit under the 30,000 syntax-node cap)."""
    lines = [
        "# 4900 x str(list of 9000 ints) without a tick: seconds",
        "x = list(range(9000))",
    ]
    lines += ["str(x)"] * statements
    lines.append('entity["n"] = 1')
    return "\n".join(lines) + "\n"


A = Attack

# A list of 1000 x 1000 x 1000 references: ~16 KB of memory, 10**9 JSON elements.
ALIAS_BOMB = "a = [0] * 1000\nb = [a] * 1000\nc = [b] * 1000\n"

CPU: list[Attack] = [
    A(
        "cpu-while-true",
        "exhaustion",
        S("""
        # plain infinite loop
        while True:
            pass
    """),
        "limit",
        limit="timeout",
    ),
    A(
        "cpu-while-true-try-inside",
        "exhaustion",
        S("""
        # infinite loop whose body swallows every exception
        while True:
            try:
                x = 1
            except:
                pass
    """),
        "limit",
        limit="operations",
    ),
    A(
        "cpu-catch-limit-bare-except",
        "exhaustion",
        S("""
        # the limit must not be catchable (Apex governor semantics)
        try:
            while True:
                pass
        except:
            pass
        entity["pwned"] = "survived the limit"
    """),
        "limit",
        limit="operations",
    ),
    A(
        "cpu-catch-limit-exception-retry",
        "exhaustion",
        S("""
        # catch the limit and start over, forever
        n = 0
        while True:
            try:
                while True:
                    n += 1
            except Exception:
                entity["pwned"] = "caught limit"
    """),
        "limit",
        limit="operations",
    ),
    A(
        "cpu-finally-loops-forever",
        "exhaustion",
        S("""
        # once the limit fires, finally: runs another infinite loop
        try:
            while True:
                pass
        finally:
            while True:
                pass
    """),
        "limit",
        limit="operations",
    ),
    A(
        "cpu-abort-then-finally-loop",
        "exhaustion",
        S("""
        # abort, then loop forever in finally
        try:
            abort("stop")
        finally:
            while True:
                pass
    """),
        "limit_or_error",
        limit="aborted",
        extra_ok=("aborted",),
    ),
    A(
        "cpu-generator-infinite-sum",
        "exhaustion",
        S("""
        # a generator consumed by sum() in C (generator functions are refused: a nested
        # generator expression, 1.6e11 steps)
        entity["x"] = sum(1 for x in range(400000) for y in range(400000))
    """),
        "limit",
        limit="operations",
    ),
    A(
        "cpu-ackermann",
        "exhaustion",
        S("""
        # ackermann: huge number of calls at shallow depth
        def ack(m, n):
            if m == 0:
                return n + 1
            if n == 0:
                return ack(m - 1, 1)
            return ack(m - 1, ack(m, n - 1))
        entity["x"] = ack(2, 3000)
    """),
        "limit",
        limit="call_depth",
    ),
    A(
        "cpu-datetime-time-bomb",
        "exhaustion",
        S("""
        # datetime arithmetic loop
        d = ctx.now
        while True:
            d = d + timedelta(seconds=1)
    """),
        "limit",
        limit="timeout",
    ),
    A(
        "cpu-sum-range-c-loop",
        "exhaustion",
        S("""
        # sum(range(10**12)) loops in C: no bytecode boundary to interrupt
        entity["x"] = sum(range(10 ** 12))
    """),
        "limit",
        limit="operations",
    ),
    A(
        "cpu-max-range-c-loop",
        "exhaustion",
        S("""
        # max(range(10**12)) in C
        entity["x"] = max(range(10 ** 12))
    """),
        "limit",
        limit="operations",
    ),
    A(
        "cpu-sum-map-abs-c-loop",
        "exhaustion",
        S("""
        # sum(map(abs, ...)) never re-enters Python bytecode
        entity["x"] = sum(map(abs, range(10 ** 12)))
    """),
        "limit",
        limit="operations",
    ),
    A(
        "cpu-any-iter-sentinel",
        "exhaustion",
        S("""
        # C iterators consumed in C (iter(callable, sentinel) is not offered): map over
        # 9000 items per comprehension step, 8.1e7 calls of bool
        z = [0] * 9000
        entity["x"] = any([any(map(bool, z)) for i in range(9000)])
    """),
        "limit",
        limit="operations",
    ),
    A(
        "cpu-all-genexp-huge",
        "exhaustion",
        S("""
        # a generator expression over 10**18 items
        entity["x"] = all(x >= 0 for x in range(10 ** 18))
    """),
        "limit",
        limit="operations",
    ),
    A(
        "cpu-regex-backtracking",
        "exhaustion",
        S("""
        # catastrophic backtracking (exponential even in the `regex` module; (a+)+$ is optimised there)
        entity["x"] = str(re.match("(a|a)+$", "a" * 60 + "b"))
    """),
        "limit_or_error",
        limit="regex_timeout",
        # pool mode: the parent's deadline (timeout + grace, wall clock from the request)
        # may come first on a loaded machine; both end the run bounded
        pool_limit="timeout",
    ),
    A(
        "cpu-regex-compiled-pattern",
        "exhaustion",
        S("""
        # compiled pattern methods must carry the timeout too
        p = re.compile("(a|aa)+$")
        entity["x"] = str(p.match("a" * 80 + "b"))
    """),
        "limit_or_error",
        limit="AttributeError",
    ),
    A(
        "cpu-regex-findall-backtracking",
        "exhaustion",
        S("""
        # backtracking inside findall / sub
        entity["x"] = len(re.findall("(a|aa)+$", "a" * 60 + "b")) + len(re.sub("(a|aa)+$", "", "a" * 60 + "b"))
    """),
        "limit_or_error",
        limit="regex_timeout",
        # pool mode: the parent's deadline (timeout + grace, wall clock from the request)
        # may come first on a loaded machine; both end the run bounded
        pool_limit="timeout",
    ),
    A(
        "cpu-validate-pattern-redos",
        "exhaustion",
        S("""
        # ReDoS through the validate_pattern helper
        entity["x"] = validate_pattern("a" * 60 + "b", "(a|aa)+$")
    """),
        "limit_or_error",
        limit="regex_timeout",
        # pool mode: the parent's deadline (timeout + grace, wall clock from the request)
        # may come first on a loaded machine; both end the run bounded
        pool_limit="timeout",
        phase="before",
    ),
    A(
        "cpu-math-factorial",
        "exhaustion",
        S("""
        # math.factorial(10**6): seconds of C time and a 5.5-million-digit int
        entity["x"] = math.factorial(10 ** 6) % 7
    """),
        "limit_or_error",
        limit="AttributeError",
    ),
    A(
        "cpu-math-comb",
        "exhaustion",
        S("""
        # math.comb with huge arguments
        entity["x"] = math.comb(10 ** 7, 5 * 10 ** 6) % 7
    """),
        "limit_or_error",
        limit="AttributeError",
    ),
    A(
        "cpu-math-perm",
        "exhaustion",
        S("""
        # math.perm(10**6)
        entity["x"] = math.perm(10 ** 6) % 7
    """),
        "limit_or_error",
        limit="AttributeError",
    ),
    A(
        "cpu-math-prod",
        "exhaustion",
        S("""
        # math.prod over a big range
        entity["x"] = math.prod(range(1, 10 ** 6)) % 7
    """),
        "limit_or_error",
        limit="operations",
    ),
    A(
        "cpu-sorted-key-raises",
        "exhaustion",
        S("""
        # sorted with a key that raises: ordinary error, bounded
        entity["x"] = sorted([3, 1, 2], key=lambda v: 1 / 0)
    """),
        "bounded",
    ),
    A(
        "cpu-validate-email-dns",
        "exhaustion",
        S("""
        # email validation must not do DNS deliverability look-ups
        entity["x"] = validate_email("someone@example-does-not-exist-alloy.invalid")
        entity["y"] = validate_email("user@example.com")
    """),
        "bounded",
        phase="before",
    ),
    A(
        "cpu-uuid4-flood",
        "exhaustion",
        S("""
        # uuid4 flood
        entity["n"] = len([uuid4() for _ in range(40000)])
    """),
        "bounded",
    ),
]

RECURSION: list[Attack] = [
    A(
        "rec-direct",
        "exhaustion",
        S("""
        # deep recursion: the call-depth limit, not RecursionError, must stop it
        def f():
            f()
        f()
    """),
        "limit",
        limit="call_depth",
    ),
    A(
        "rec-mutual",
        "exhaustion",
        S("""
        # mutual recursion
        def a(n):
            return b(n + 1)
        def b(n):
            return a(n + 1)
        a(0)
    """),
        "limit",
        limit="call_depth",
    ),
    A(
        "rec-lambda",
        "exhaustion",
        S("""
        # recursion through a lambda
        f = lambda: f()
        f()
    """),
        "limit",
        limit="call_depth",
    ),
    A(
        "rec-sorted-key",
        "exhaustion",
        S("""
        # recursion through C frames (sorted key)
        def k(x):
            return sorted([1, 2], key=k)[0]
        k(1)
    """),
        "limit",
        limit="call_depth",
    ),
    A(
        "rec-map",
        "exhaustion",
        S("""
        # recursion through map()
        def f(x):
            return list(map(f, [x]))
        f(1)
    """),
        "limit",
        limit="call_depth",
    ),
    A(
        "rec-catch-recursion",
        "exhaustion",
        S("""
        # catch the depth limit and keep recursing
        def f(n):
            try:
                return f(n + 1)
            except Exception:
                return f(n + 1)
        f(0)
        entity["pwned"] = "survived depth limit"
    """),
        "limit",
        limit="call_depth",
    ),
    A(
        "rec-deep-nested-list-changes",
        "exhaustion",
        S("""
        # a 30000-deep nested list in changes: serialising the result must not crash
        a = []
        for _ in range(30000):
            a = [a]
        entity["deep"] = a
    """),
        "bounded",
    ),
    A(
        "rec-deep-nested-compare-repr",
        "exhaustion",
        S("""
        # C-level recursion (compare / repr / json) on a 20000-deep list
        a = []
        b = []
        for _ in range(20000):
            a = [a]
            b = [b]
        try:
            entity["eq"] = a == b
        except Exception:
            pass
        try:
            entity["r"] = len(str(a))
        except Exception:
            pass
        entity["j"] = len(json.dumps(a))
    """),
        "bounded",
    ),
    A(
        "rec-json-loads-nested",
        "exhaustion",
        S("""
        # json.loads of a 30000-deep array
        s = "[" * 30000 + "]" * 30000
        entity["x"] = len(json.loads(s))
    """),
        "limit_or_error",
        limit="ValueError",
    ),
    A(
        "rec-json-dumps-cycle",
        "exhaustion",
        S("""
        # json.dumps of a cyclic structure
        a = []
        a.append(a)
        entity["x"] = json.dumps(a)
    """),
        "limit_or_error",
        limit="ValueError",
    ),
]

MEMORY: list[Attack] = [
    A(
        "mem-str-mul",
        "exhaustion",
        '# "a" * 10**9\nentity["x"] = len("a" * 10 ** 9)\n',
        "limit",
        limit="string_size",
    ),
    A(
        "mem-list-mul",
        "exhaustion",
        '# [0] * 10**9\nentity["x"] = len([0] * 10 ** 9)\n',
        "limit",
        limit="array_size",
    ),
    A(
        "mem-bytes-mul",
        "exhaustion",
        S("""
        # bytes (from b64decode: bytes literals are refused) * 10**9
        b = b64decode("eA==")
        entity["x"] = len(b * 10 ** 9)
    """),
        "limit",
        limit="string_size",
    ),
    A(
        "mem-tuple-mul",
        "exhaustion",
        '# (0,) * 10**9\nentity["x"] = len((0,) * 10 ** 9)\n',
        "limit",
        limit="array_size",
    ),
    A(
        "mem-pow-big",
        "exhaustion",
        '# 2 ** 10**8\nentity["x"] = (2 ** 10 ** 8) % 7\n',
        "limit",
        limit="int_size",
    ),
    A(
        "mem-pow-tower",
        "exhaustion",
        '# 10 ** 10 ** 10\nentity["x"] = (10 ** 10 ** 10) % 7\n',
        "limit",
        limit="int_size",
    ),
    A(
        "mem-pow-builtin",
        "exhaustion",
        '# pow() builtin\nentity["x"] = pow(2, 10 ** 8) % 7\n',
        "limit",
        limit="int_size",
    ),
    A(
        "mem-lshift",
        "exhaustion",
        '# 1 << 10**9\nentity["x"] = (1 << 10 ** 9) % 7\n',
        "limit",
        limit="int_size",
    ),
    A(
        "mem-pow-of-big-base",
        "exhaustion",
        '# (1 << 4096) ** 10000\nentity["x"] = ((1 << 4096) ** 10000) % 7\n',
        "limit",
        limit="int_size",
    ),
    A(
        "mem-int-repeated-squaring",
        "exhaustion",
        S("""
        # repeated squaring: 40 loop steps, 2**(2**40) bits
        x = 3
        for _ in range(40):
            x = x * x
        entity["x"] = x % 7
    """),
        "limit",
        limit="int_size",
    ),
    A(
        "mem-int-augassign-squaring",
        "exhaustion",
        S("""
        # repeated squaring via augmented assignment
        x = 3
        for _ in range(40):
            x **= 2
        entity["x"] = x % 7
    """),
        "limit",
        limit="int_size",
    ),
    A(
        "mem-str-doubling",
        "exhaustion",
        S("""
        # s += s forty times
        s = "a"
        for _ in range(40):
            s += s
        entity["x"] = len(s)
    """),
        "limit",
        limit="string_size",
    ),
    A(
        "mem-list-walrus-doubling",
        "exhaustion",
        S("""
        # x := x + x in a comprehension
        x = [1]
        [x := x + x for _ in range(64)]
        entity["x"] = len(x)
    """),
        "limit",
        limit="array_size",
    ),
    A(
        "mem-list-extend-self",
        "exhaustion",
        S("""
        # list.extend(self) doubling
        x = [1]
        for _ in range(64):
            x.extend(x)
        entity["x"] = len(x)
    """),
        "limit",
        limit="array_size",
    ),
    A(
        "mem-ljust",
        "exhaustion",
        '# "x".ljust(10**9)\nentity["x"] = len("x".ljust(10 ** 9))\n',
        "limit",
        limit="string_size",
    ),
    A(
        "mem-center",
        "exhaustion",
        '# "x".center(10**9)\nentity["x"] = len("x".center(10 ** 9))\n',
        "limit",
        limit="string_size",
    ),
    A(
        "mem-rjust-zfill",
        "exhaustion",
        '# rjust / zfill\nentity["x"] = len("x".rjust(10 ** 9)) + len("1".zfill(10 ** 9))\n',
        "limit",
        limit="string_size",
    ),
    A(
        "mem-expandtabs",
        "exhaustion",
        S("""
        # expandtabs multiplies every tab
        s = "\\t" * 60000
        entity["x"] = len(s.expandtabs(60000))
    """),
        "limit",
        limit="string_size",
    ),
    A(
        "mem-replace-bomb",
        "exhaustion",
        S("""
        # replace each of 60000 chars with 60000 chars: 3.6 GB
        s = "x" * 60000
        entity["x"] = len(s.replace("x", s))
    """),
        "limit",
        limit="string_size",
    ),
    A(
        "mem-join-list",
        "exhaustion",
        S("""
        # join of 5000 references to one 60 KB string: 300 MB
        s = "x" * 60000
        entity["x"] = len("".join([s] * 5000))
    """),
        "limit",
        limit="string_size",
    ),
    A(
        "mem-join-generator",
        "exhaustion",
        S("""
        # ",".join(huge generator)
        entity["x"] = len(",".join(str(i) for i in range(10 ** 9)))
    """),
        "limit",
        limit="operations",
    ),
    A(
        "mem-join-map-c-loop",
        "exhaustion",
        S("""
        # "".join(map(str, range(10**8))): C iteration, no bytecode in between
        entity["x"] = len("".join(map(str, range(10 ** 8))))
    """),
        "limit",
        limit="operations",
    ),
    A(
        "mem-percent-width",
        "exhaustion",
        '# "%*d" % (10**9, 1)\nentity["x"] = len("%*d" % (10 ** 9, 1))\n',
        "limit",
        limit="string_size",
    ),
    A(
        "mem-percent-precision",
        "exhaustion",
        '# "%.999999999f" % 1.0\nentity["x"] = len("%.999999999f" % 1.0)\n',
        "limit_or_error",
        limit="string_size",
    ),
    A(
        "mem-percent-repeat",
        "exhaustion",
        S("""
        # "%s" * 30000 % tuple of 60 KB strings
        s = "x" * 60000
        entity["x"] = len(("%s" * 30000) % tuple([s] * 30000))
    """),
        "limit",
        limit="array_size",
    ),
    A(
        "mem-fstring-width-const",
        "exhaustion",
        '# f-string width bomb\nentity["x"] = len(f"{1:>999999999}")\n',
        "limit",
        limit="string_size",
    ),
    A(
        "mem-fstring-width-var",
        "exhaustion",
        S("""
        # f-string width from a variable (not constant-foldable)
        n = 10 ** 9
        entity["x"] = len(f"{1:>{n}}")
    """),
        "limit",
        limit="string_size",
    ),
    A(
        "mem-fstring-precision",
        "exhaustion",
        '# f-string float precision bomb\nentity["x"] = len(f"{1.0:.999999999f}")\n',
        "limit_or_error",
        limit="string_size",
    ),
    A(
        "mem-format-width",
        "exhaustion",
        '# str.format width bomb\nentity["x"] = len("{:>1000000000}".format(1))\n',
        "limit_or_error",
        limit="string_size",
    ),
    A(
        "mem-format-nested-width",
        "exhaustion",
        '# "{:{}}".format(1, 10**9)\nentity["x"] = len("{:{}}".format(1, 10 ** 9))\n',
        "limit_or_error",
        limit="string_size",
    ),
    A(
        "mem-format-builtin-width",
        "exhaustion",
        '# format() builtin width\nentity["x"] = len(format(1, ">999999999"))\n',
        "limit_or_error",
        limit="string_size",
    ),
    A(
        "mem-decimal-format-f",
        "exhaustion",
        S("""
        # Decimal("1e100000000") formatted with :f -> 100 MB string
        entity["x"] = len(f"{Decimal('1e100000000'):f}")
    """),
        "limit_or_error",
        limit="Overflow",
    ),
    A(
        "mem-decimal-to-int",
        "exhaustion",
        S("""
        # int(Decimal("1e100000000")) bypasses the integer-size bound
        entity["x"] = int(Decimal("1e100000000")) % 7
    """),
        "limit_or_error",
        limit="Overflow",
    ),
    A(
        "mem-decimal-pow-huge",
        "exhaustion",
        '# Decimal(10) ** 10**9\nentity["x"] = str(Decimal(10) ** 10 ** 9)\n',
        "limit_or_error",
        limit="Overflow",
    ),
    A(
        "mem-decimal-exp-pow",
        "exhaustion",
        '# Decimal("1e999999999") ** 1000\nentity["x"] = str(Decimal("1e999999999") ** 1000)\n',
        "limit_or_error",
        limit="Overflow",
    ),
    A(
        "mem-decimal-quantize",
        "exhaustion",
        S("""
        # quantize to a huge precision
        entity["x"] = str(Decimal("1.5").quantize(Decimal("1e-999999999")))
    """),
        "limit_or_error",
        limit="InvalidOperation",
    ),
    A(
        "mem-decimal-scaleb",
        "exhaustion",
        S("""
        # scaleb / to_integral on a huge exponent then str()
        d = Decimal(1).scaleb(999999999)
        entity["x"] = len(str(int(d)))
    """),
        "limit_or_error",
        limit="InvalidOperation",
    ),
    A(
        "mem-int-from-long-str",
        "exhaustion",
        '# int("9" * 100000)\nentity["x"] = int("9" * 100000) % 7\n',
        "limit_or_error",
        limit="string_size",
    ),
    A(
        "mem-math-pow-overflow",
        "exhaustion",
        '# math.pow(10, 10**9)\nentity["x"] = math.pow(10, 10 ** 9)\n',
        "limit_or_error",
        limit="OverflowError",
    ),
    A(
        "mem-list-range",
        "exhaustion",
        '# list(range(10**9))\nentity["x"] = len(list(range(10 ** 9)))\n',
        "limit",
        limit="operations",
    ),
    A(
        "mem-tuple-range",
        "exhaustion",
        '# tuple(range(10**8))\nentity["x"] = len(tuple(range(10 ** 8)))\n',
        "limit",
        limit="operations",
    ),
    A(
        "mem-sorted-range",
        "exhaustion",
        '# sorted(range(10**8))\nentity["x"] = len(sorted(range(10 ** 8)))\n',
        "limit",
        limit="operations",
    ),
    A(
        "mem-set-range",
        "exhaustion",
        '# set(range(10**8))\nentity["x"] = len(set(range(10 ** 8)))\n',
        "limit",
        limit="operations",
    ),
    A(
        "mem-dict-fromkeys",
        "exhaustion",
        '# dict.fromkeys(range(10**8))\nentity["x"] = len(dict.fromkeys(range(10 ** 8)))\n',
        "limit",
        limit="operations",
    ),
    A(
        "mem-dict-zip",
        "exhaustion",
        '# dict(zip(...))\nentity["x"] = len(dict(zip(range(10 ** 8), range(10 ** 8))))\n',
        "limit",
        limit="operations",
    ),
    A(
        "mem-list-enumerate",
        "exhaustion",
        '# list(enumerate(range(10**9)))\nentity["x"] = len(list(enumerate(range(10 ** 9))))\n',
        "limit",
        limit="operations",
    ),
    A(
        "mem-list-filter",
        "exhaustion",
        '# list(filter(None, ...))\nentity["x"] = len(list(filter(None, range(1, 10 ** 12))))\n',
        "limit",
        limit="operations",
    ),
    A(
        "mem-bytes-alloc",
        "exhaustion",
        S("""
        # a 10**9-byte bytes object (bytes() is not offered: bytes.zfill)
        entity["x"] = len(b64decode("eA==").zfill(10 ** 9))
    """),
        "limit",
        limit="string_size",
    ),
    A(
        "mem-bytearray-alloc",
        "exhaustion",
        S("""
        # a 10**9-byte buffer (bytearray() is not offered: bytes.center)
        entity["x"] = len(b64decode("eA==").center(10 ** 9))
    """),
        "limit",
        limit="string_size",
    ),
    A(
        "mem-nested-comprehension",
        "exhaustion",
        S("""
        # 1000 x 1000 x 1000 nested comprehension
        entity["x"] = len([[[0 for _ in range(1000)] for _ in range(1000)] for _ in range(1000)])
    """),
        "limit",
        limit="operations",
    ),
    A(
        "mem-dict-comprehension",
        "exhaustion",
        S("""
        # dict comprehension bomb
        entity["x"] = len({i: [0] * 1000 for i in range(10 ** 6)})
    """),
        "limit",
        limit="operations",
    ),
    A(
        "mem-many-max-size-lists",
        "exhaustion",
        S("""
        # 9000 lists just under max_array_size: 720 MB in 9000 steps
        x = [[0] * 9999 for i in range(9000)]
        entity["x"] = len(x)
    """),
        "limit",
        limit="timeout",
    ),
    A(
        "mem-many-max-size-strings",
        "exhaustion",
        S("""
        # 9000 distinct 60 KB strings: 540 MB in 9000 steps (the memory check ends it
        # near 128 MiB; on a slow machine the deadline may come first)
        x = ["x" * 60000 + str(i) for i in range(9000)]
        entity["x"] = len(x)
    """),
        "limit",
        limit="memory|timeout",
    ),
    A(
        "mem-re-sub-growth",
        "exhaustion",
        S("""
        # re.sub growth bomb: every position replaced by 60 KB
        s = "y" * 60000
        entity["x"] = len(re.sub("", s, s))
    """),
        "limit_or_error",
        limit="string_size",
    ),
    A(
        "mem-re-findall-many",
        "exhaustion",
        S("""
        # findall returning 60001 matches
        entity["x"] = len(re.findall("", "a" * 60000))
    """),
        "bounded",
    ),
    A(
        "mem-strftime-repeat",
        "exhaustion",
        S("""
        # strftime doubling the format string
        entity["x"] = len(ctx.now.strftime("%Y" * 30000))
    """),
        "bounded",
    ),
    A(
        "mem-exception-huge-message",
        "exhaustion",
        S("""
        # raise ValueError("x" * 10**6)
        raise ValueError("x" * 10 ** 6)
    """),
        "limit_or_error",
        limit="string_size",
    ),
]

OUTPUT: list[Attack] = [
    A(
        "out-json-dumps-alias-bomb",
        "exhaustion",
        ALIAS_BOMB
        + S("""
        # json.dumps of an aliasing bomb (10**9 elements)
        entity["x"] = len(json.dumps(c))
    """),
        "limit_or_error",
        limit="array_size",
    ),
    A(
        "out-changes-alias-bomb",
        "exhaustion",
        ALIAS_BOMB
        + S("""
        # aliasing bomb stored in changes: the result serialisation explodes
        entity["x"] = c
    """),
        "limit_or_error",
        limit="array_size",
    ),
    A(
        "out-str-alias-bomb",
        "exhaustion",
        ALIAS_BOMB
        + S("""
        # str() of an aliasing bomb
        entity["x"] = len(str(c))
    """),
        "limit_or_error",
        limit="array_size",
    ),
    A(
        "out-fstring-alias-bomb",
        "exhaustion",
        ALIAS_BOMB
        + S("""
        # f-string of an aliasing bomb
        entity["x"] = len(f"{c}")
    """),
        "limit_or_error",
        limit="array_size",
    ),
    A(
        "out-log-alias-bomb",
        "exhaustion",
        ALIAS_BOMB
        + S("""
        # log() must bound the message before formatting it
        log(c)
    """),
        "limit_or_error",
        limit="array_size",
    ),
    A(
        "out-emit-alias-bomb",
        "exhaustion",
        ALIAS_BOMB
        + S("""
        # emit payload aliasing bomb
        emit("evt", {"c": c})
    """),
        "limit_or_error",
        limit="array_size",
    ),
    A(
        "out-exception-alias-bomb",
        "exhaustion",
        ALIAS_BOMB
        + S("""
        # the engine formats error messages: str(exc) of an aliasing bomb
        raise ValueError(c)
    """),
        "limit_or_error",
        limit="array_size",
    ),
    A(
        "out-abort-alias-bomb",
        "exhaustion",
        ALIAS_BOMB
        + S("""
        # abort reason is str()-ed by the engine
        abort(c)
    """),
        "limit_or_error",
        limit="array_size",
        extra_ok=("aborted",),
        note="aborted with a bounded reason is fine",
    ),
    A(
        "out-changes-shared-strings",
        "exhaustion",
        S("""
        # 10000 references to one 60 KB string in changes: 600 MB of JSON
        s = "x" * 60000
        entity["x"] = [s] * 10000
    """),
        "limit_or_error",
        limit="changes_size",
    ),
    A(
        "out-changes-many-fields",
        "exhaustion",
        S("""
        # 5000 fields of 60 KB each in changes
        s = "x" * 60000
        for i in range(5000):
            entity["f" + str(i)] = s
    """),
        "limit_or_error",
        limit="changes_size",
    ),
    A(
        "out-log-flood",
        "exhaustion",
        S("""
        # 10000 log lines of 60 KB
        s = "x" * 60000
        for i in range(10000):
            log(s)
    """),
        "bounded",
    ),
    A(
        "out-emit-flood-shared",
        "exhaustion",
        S("""
        # 40000 emits sharing one 60 KB string
        s = "x" * 60000
        for i in range(40000):
            emit("evt", {"s": s})
    """),
        "bounded",
    ),
    A(
        "out-emit-million",
        "exhaustion",
        S("""
        # emit 10**6 times
        for i in range(10 ** 6):
            emit("evt", {"i": i})
    """),
        "limit",
        limit="operations",
    ),
    A(
        "out-abort-huge-list",
        "exhaustion",
        S("""
        # abort with a huge list reason
        s = "x" * 60000
        abort([s] * 10000)
    """),
        "limit_or_error",
        limit="aborted",
        extra_ok=("aborted",),
        note="aborted with a bounded reason is fine",
    ),
    A(
        "mem-translate-bomb",
        "exhaustion",
        S("""
        # str.translate mapping one char to 60 KB
        s = "a" * 60000
        entity["x"] = len(s.translate({97: s}))
    """),
        "limit",
        limit="string_size",
    ),
    A(
        "mem-bytes-replace-bomb",
        "exhaustion",
        S("""
        # bytes.replace growth
        b = b64decode("eA==") * 60000
        entity["x"] = len(b.replace(b[:1], b))
    """),
        "limit",
        limit="string_size",
    ),
    A(
        "mem-unbound-str-join",
        "exhaustion",
        S("""
        # unbound str.join / str.replace (method taken from the type)
        s = "x" * 60000
        entity["x"] = len(str.join(s, [s] * 5000)) + len(str.replace(s, "x", s))
    """),
        "limit",
        limit="string_size",
    ),
    A(
        "mem-json-indent",
        "exhaustion",
        S("""
        # json.dumps(indent=10**9) builds a 1 GB indent string
        entity["x"] = len(json.dumps([1], indent=10 ** 9))
    """),
        "limit_or_error",
        limit="ValueError",
    ),
    A(
        "mem-json-separators",
        "exhaustion",
        S("""
        # json.dumps with 60 KB separators over 10000 items: 600 MB
        s = "x" * 60000
        entity["x"] = len(json.dumps([0] * 9999, separators=(s, ":")))
    """),
        "limit_or_error",
        limit="ValueError",
    ),
    A(
        "mem-int-from-bytes-squaring",
        "exhaustion",
        S("""
        # a 240000-bit int from text (int.from_bytes is not offered), then squaring
        x = int("ff" * 30000, 16)
        for _ in range(20):
            x = x * x
        entity["x"] = x % 7
    """),
        "limit",
        limit="int_size",
    ),
    A(
        "cpu-math-lcm",
        "exhaustion",
        S("""
        # math.lcm over 40000 arguments
        entity["x"] = math.lcm(*range(1, 40000)) % 7
    """),
        "bounded",
    ),
    A(
        "out-lazy-generator-into-changes",
        "exhaustion",
        S("""
        # a generator in changes: if the serialiser iterates it, script code runs outside the limits
        def spin():
            while True:
                pass
        entity["g"] = (spin() for _ in [1])
        entity["m"] = map(lambda v: spin(), [1])
    """),
        "bounded",
    ),
    A(
        "out-lazy-generator-into-emit",
        "exhaustion",
        S("""
        # a lazy payload in emit / log
        def spin():
            while True:
                pass
        emit("evt", {"g": (spin() for _ in [1])})
        log(map(lambda v: spin(), [1]))
    """),
        "bounded",
    ),
    A(
        "out-hostile-str-abort",
        "exhaustion",
        S("""
        # a script class whose __str__ loops forever, given to abort(): str() runs in the engine
        class K:
            pass
        def s(self):
            while True:
                pass
        setattr(K, "__str__", s)
        abort(K())
    """),
        "limit_or_error",
        limit="validation: class definitions are not allowed",
        extra_ok=("aborted",),
    ),
    A(
        "out-hostile-del-finalizer",
        "exhaustion",
        S("""
        # __del__ running after the run, outside every limit
        class K:
            def __del__(self):
                while True:
                    pass
        keep = K()
        entity["x"] = 1
    """),
        "bounded",
    ),
    A(
        "mem-bytes-percent-width",
        "exhaustion",
        S("""
        # bytes %-formatting with a huge width (str % is guarded, bytes % may not be):
        # b"%0999999999d" % 1
        entity["x"] = len(b64decode("JTA5OTk5OTk5OTlk") % 1)
    """),
        "limit",
        limit="string_size",
    ),
    A(
        "mem-bytes-ljust-join",
        "exhaustion",
        S("""
        # bytes padding / join
        b = b64decode("eA==") * 60000
        entity["x"] = len(b64decode("eQ==").ljust(10 ** 9)) + len(b64decode("").join([b] * 10000))
    """),
        "limit",
        limit="string_size",
    ),
    A(
        "cpu-filter-c-predicate",
        "exhaustion",
        S("""
        # filter() with a C predicate that is never true: one next() scans everything in C
        entity["x"] = len(list(filter(str.isalpha, map(str, range(400000)))))
    """),
        "bounded",
    ),
    A(
        "cpu-decimal-int-conversion",
        "exhaustion",
        S("""
        # int(Decimal("1e1000000")): ~20 s of uninterruptible C (decimal -> binary)
        entity["x"] = int(Decimal("1e1000000")) % 7
    """),
        "limit_or_error",
        limit="Overflow",
    ),
    A(
        "cpu-decimal-round",
        "exhaustion",
        S("""
        # round() of a huge Decimal converts it to int in C
        entity["x"] = round(Decimal("1e1000000")) % 7
    """),
        "limit_or_error",
        limit="Overflow",
    ),
    A(
        "cpu-decimal-math-floor",
        "exhaustion",
        S("""
        # math.floor / math.trunc of a huge Decimal
        entity["x"] = (math.floor(Decimal("1e1000000")) + math.trunc(Decimal("1e1000000"))) % 7
    """),
        "limit_or_error",
        limit="Overflow",
    ),
    A(
        "cpu-decimal-percent-d",
        "exhaustion",
        S("""
        # "%d" % Decimal(...) converts to int in C
        entity["x"] = len("%d" % Decimal("1e1000000"))
    """),
        "limit_or_error",
        limit="Overflow",
    ),
    A(
        "cpu-hash-collision-set",
        "exhaustion",
        S("""
        # 10000 ints with the same hash: set() is one quadratic C call (~0.5 s)
        m = 2 ** 61 - 1
        keys = [i * m for i in range(10000)]
        entity["x"] = len(set(keys))
    """),
        "bounded",
        wall_limit=5 * DEADLINE,
        note="low severity: one C call overruns the 100 ms timeout (3x allowed here)",
    ),
    A(
        "cpu-sorted-key-host-str",
        "exhaustion",
        S("""
        # sorted(key=<host callable>): the C sort calls the bounded-but-slow renderer 10000
        # times with no tick in between (each call renders ~50 KB)
        x = list(range(9000))
        big = [x] * 10000
        entity["n"] = len(sorted(big, key=str))
    """),
        "limit",
        limit="array_size",
    ),
    A(
        "cpu-max-key-host-json",
        "exhaustion",
        S("""
        # max(key=json.dumps): 10000 bounded-but-slow host calls inside one C loop
        x = list(range(9000))
        big = [x] * 10000
        entity["n"] = len(max(big, key=json.dumps))
    """),
        "limit",
        limit="array_size",
    ),
    A(
        "cpu-min-key-host-re-escape",
        "exhaustion",
        S("""
        # min(key=re.escape) over 10000 references to a 60 KB string
        s = "a.b" * 20000
        entity["n"] = len(min([s] * 10000, key=re.escape))
    """),
        "limit",
        limit="string_size",
    ),
    A(
        "cpu-sorted-key-host-repr",
        "exhaustion",
        S("""
        # list.sort(key=repr) on an aliased list of lists
        x = list(range(9000))
        big = [x] * 10000
        big.sort(key=repr)
        entity["n"] = len(big)
    """),
        "limit",
        limit="array_size",
    ),
    A(
        "cpu-aliased-compare",
        "exhaustion",
        S("""
        # == on two distinct aliased structures: 10**12 element comparisons in C
        # (documented residual risk of the in-band limits; the CLI has a process watchdog)
        a = [[0] * 10000] * 10000
        b = [[0] * 10000] * 10000
        c = [a] * 10000
        d = [b] * 10000
        entity["x"] = c == d
    """),
        "limit",
        limit="array_size",
    ),
    A(
        "cpu-aliased-hash",
        "exhaustion",
        S("""
        # hashing an aliased nested tuple: 10**12 hash steps in C (tuples do not cache hashes)
        t = (0,) * 10000
        t2 = (t,) * 10000
        t3 = (t2,) * 10000
        entity["x"] = len({t3})
    """),
        "limit",
        limit="array_size",
    ),
    A(
        "cpu-limit-long-context-chain",
        "exhaustion",
        _finally_chain("while True:\n" + "    " * 18 + "    pass"),
        "limit",
        limit="operations",
    ),
    A(
        "cpu-sorted-key-host-str-comprehension",
        "exhaustion",
        S("""
        # same as cpu-sorted-key-host-str, aliasing built by a comprehension instead of `*`
        x = list(range(9000))
        big = [x for _ in range(10000)]
        entity["n"] = len(sorted(big, key=str))
    """),
        "limit",
        limit="timeout",
    ),
    A(
        "cpu-max-key-host-json-comprehension",
        "exhaustion",
        S("""
        # max(key=json.dumps) over a comprehension-built aliased list
        x = list(range(9000))
        big = [x for _ in range(10000)]
        entity["n"] = len(max(big, key=json.dumps))
    """),
        "limit",
        limit="timeout",
    ),
    A(
        "cpu-aliased-compare-comprehension",
        "exhaustion",
        S("""
        # == on two distinct aliased structures built by comprehensions (10**12 steps in C)
        a = [[0] * 10000 for _ in range(1)][0]
        b = [[0] * 10000 for _ in range(1)][0]
        c = [a for _ in range(10000)]
        d = [b for _ in range(10000)]
        e = [c for _ in range(10000)]
        f = [d for _ in range(10000)]
        entity["x"] = e == f
    """),
        "limit",
        limit="operations",
    ),
    A(
        "cpu-aliased-hash-comprehension",
        "exhaustion",
        S("""
        # hash of an aliased nested tuple built through tuple(genexp)
        t = (0,) * 10000
        t2 = tuple(t for _ in range(10000))
        t3 = tuple(t2 for _ in range(10000))
        entity["x"] = len({t3})
    """),
        "limit",
        limit="operations",
    ),
    A(
        "mem-straight-line-allocation",
        "exhaustion",
        _straight_line_allocation(),
        "limit",
        limit="memory|timeout",
    ),
    A(
        "cpu-straight-line-host-calls",
        "exhaustion",
        _straight_line_host_calls(),
        "limit",
        limit="timeout",
    ),
    A(
        "cpu-isinstance-doubled-tuple",
        "exhaustion",
        S("""
        # isinstance's spec resolver walks a tuple doubled 40 times (2**40 leaves) in host
        # Python code without ticking
        spec = int
        for _ in range(40):
            spec = (spec, spec)
        entity["x"] = isinstance(1, spec)
    """),
        "limit",
        limit="operations",
    ),
    A(
        "cpu-except-doubled-tuple",
        "exhaustion",
        S("""
        # the `except` guard walks a tuple doubled 40 times
        spec = ValueError
        for _ in range(40):
            spec = (spec, spec)
        try:
            int("x")
        except spec:
            pass
    """),
        "limit_or_error",
        limit="operations",
    ),
    A(
        "cpu-hash-collision-dict-zip",
        "exhaustion",
        S("""
        # colliding hashes through dict(zip()): one quadratic C call
        m = 2 ** 61 - 1
        keys = [i * m for i in range(10000)]
        entity["x"] = len(dict(zip(keys, keys)))
    """),
        "bounded",
        wall_limit=5 * DEADLINE,
        note="low severity: one C call overruns the 100 ms timeout (3x allowed here)",
    ),
    A(
        "cpu-hash-collision-set-display",
        "exhaustion",
        S("""
        # colliding hashes through a starred set display: one quadratic C call
        m = 2 ** 61 - 1
        keys = [i * m for i in range(10000)]
        entity["x"] = len({*keys})
    """),
        "bounded",
        wall_limit=5 * DEADLINE,
        note="low severity: one C call overruns the 100 ms timeout (3x allowed here)",
    ),
    A(
        "cpu-hash-collision-set-union",
        "exhaustion",
        S("""
        # colliding hashes through set.union: one quadratic C call
        m = 2 ** 61 - 1
        keys = [i * m for i in range(10000)]
        entity["x"] = len(set().union(keys))
    """),
        "bounded",
        wall_limit=5 * DEADLINE,
        note="low severity: one C call overruns the 100 ms timeout (3x allowed here)",
    ),
    A(
        "cpu-hash-collision-dict-fromkeys",
        "exhaustion",
        S("""
        # colliding hashes through dict.fromkeys: one quadratic C call
        m = 2 ** 61 - 1
        keys = [i * m for i in range(10000)]
        entity["x"] = len(dict.fromkeys(keys))
    """),
        "bounded",
        wall_limit=5 * DEADLINE,
        note="low severity: one C call overruns the 100 ms timeout (3x allowed here)",
    ),
    A(
        "cpu-hash-collision-set-update",
        "exhaustion",
        S("""
        # colliding hashes through set.update: one quadratic C call
        m = 2 ** 61 - 1
        keys = [i * m for i in range(10000)]
        entity["x"] = len([t for t in [set()] if t.update(keys) is None][0])
    """),
        "bounded",
        wall_limit=5 * DEADLINE,
        note="low severity: one C call overruns the 100 ms timeout (3x allowed here)",
    ),
    A(
        "cpu-hash-collision-set-display-straight-line",
        "exhaustion",
        "# 200 straight-line starred set displays over colliding keys: ~0.4 s of C each, no tick\n"
        "m = 2 ** 61 - 1\nkeys = [i * m for i in range(10000)]\n"
        + "{*keys}\n" * 200
        + 'entity["x"] = 1\n',
        "limit",
        limit="timeout",
    ),
]


def _lines(line: str, count: int) -> str:
    return "".join(line.replace("#", str(index)) + "\n" for index in range(count))


# Red-team round 2: tuples built in C, int bounds, unbounded displays and operators,
# `%` keys, regex output, comparisons of aliased structures, unrepresentable outputs.
ROUND2: list[Attack] = [
    A(
        "r2-deep-tuple-popitem-hash",
        "exhaustion",
        "t = 0\nfor i in range(4500):\n"
        + _lines("    t = {0: t}.popitem()", 30)
        + "d = {}\nd[t] = 1\nentity['r'] = 1\n",
        "limit",
        limit="operations",
        wall_limit=1.0,
        note="F10: hashing a 135 000-deep tuple overflows the C stack (SIGSEGV)",
    ),
    A(
        "r2-deep-tuple-items",
        "exhaustion",
        S("""
        t = 0
        for i in range(20000):
            for p in {0: t}.items():
                t = p
        entity["r"] = len({t})
    """),
        "limit",
        limit="operations",
        wall_limit=1.0,
        note="F10: dict.items() pairs nest without the tuple display check",
    ),
    A(
        "r2-deep-tuple-items-persisted-view",
        "exhaustion",
        S("""
        d = {0: 0}
        v = d.items()
        t = 0
        for i in range(10000):
            d[0] = t
            for p in v:
                t = p
        depth = 0
        while isinstance(t, tuple):
            t = t[1]
            depth += 1
        if depth > 1000:
            entity["pwned"] = depth
    """),
        "bounded",
        wall_limit=1.0,
        note="F10: a view kept across writes must not hand out unchecked pairs",
    ),
    A(
        "r2-deep-tuple-enumerate",
        "exhaustion",
        S("""
        t = 0
        for i in range(12000):
            for p in enumerate([t]):
                t = p
        depth = 0
        while isinstance(t, tuple):
            t = t[1]
            depth += 1
        if depth > 1000:
            entity["pwned"] = depth
    """),
        "bounded",
        wall_limit=1.0,
        note="F10: enumerate() pairs nest without the tuple display check",
    ),
    A(
        "r2-deep-tuple-varargs",
        "exhaustion",
        S("""
        def pack(*a):
            return a
        t = 0
        for i in range(20000):
            t = pack(t)
        entity["r"] = len({t})
    """),
        "limit",
        limit="timeout",
        wall_limit=1.0,
        note="F10: *args tuples nest without the tuple display check",
    ),
    A(
        "r2-doubling-tuple-popitem",
        "exhaustion",
        "t = 0\nfor i in range(20):\n    t = {t: t}.popitem()\n"
        + _lines("t = {t: t}.popitem()", 10)
        + 'entity["r"] = 1\n',
        "limit",
        limit="operations",
        wall_limit=1.0,
        note="F10: (t, t) pairs double the hash work at each step (2**30 without a tick)",
    ),
    A(
        "r2-pow-modulus-huge",
        "exhaustion",
        S("""
        x = int("f" * 4000, 16)
        entity["r"] = pow(x - 5, x, x - 2) % 7
    """),
        "limit",
        limit="int_size",
        wall_limit=1.0,
        note="F01: modular pow of 16 000-bit operands (seconds of C)",
    ),
    A(
        "r2-int-hex-text-beyond-bound",
        "exhaustion",
        'entity["r"] = int("f" * 60000, 16).bit_length()\n',
        "limit",
        limit="int_size",
        wall_limit=1.0,
        note="F01: int(text, 16) is not covered by the 4300-digit cap",
    ),
    A(
        "r2-int-hex-literal-beyond-bound",
        "exhaustion",
        "x = 0x" + "f" * 20000 + '\nentity["r"] = x.bit_length()\n',
        "limit",
        limit="int_size",
        wall_limit=1.0,
        note="F01: integer literals are bounded by the source size only",
    ),
    A(
        "r2-int-growth-by-subtraction",
        "exhaustion",
        S("""
        x = 1
        for i in range(20000):
            x = x - (-x)
        entity["r"] = x.bit_length()
    """),
        "limit",
        limit="int_size",
        wall_limit=1.0,
        note="F01: `-` grew integers one bit per operation",
    ),
    A(
        "r2-decimal-vs-bigint-count",
        "exhaustion",
        S("""
        x = int("f" * 65000, 16)
        l = [Decimal(1)] * 100
        entity["r"] = l.count(x)
    """),
        "limit",
        limit="int_size",
        wall_limit=1.0,
        note="F02: each Decimal == huge-int comparison costs ~80 ms",
    ),
    A(
        "r2-alias-display-count",
        "exhaustion",
        "l = [0]\nm = [0]\n"
        + _lines("l = [l, l, l, l]\nm = [m, m, m, m]", 15)
        + 'entity["r"] = [l].count(m)\n',
        "limit",
        limit="operations",
        wall_limit=1.0,
        note="F03: list.count compares 4**15 aliased paths in C",
    ),
    A(
        "r2-alias-append-sort",
        "exhaustion",
        S("""
        a = [0]
        b = [0]
        for i in range(15):
            a2 = []
            b2 = []
            for j in range(4):
                a2.append(a)
                b2.append(b)
            a = a2
            b = b2
        l = [a, b]
        l.sort()
        entity["r"] = max([a, b]) == a
    """),
        "limit",
        limit="operations",
        wall_limit=1.0,
        note="F03: sort / max compare aliased structures built by append",
    ),
    A(
        "r2-starred-list-display",
        "exhaustion",
        "a = [*range(10000)]\nb = [" + "*a, " * 200 + ']\nentity["r"] = len(b)\n',
        "limit",
        limit="array_size",
        wall_limit=1.0,
        note="F04: [*a, *a, ...] was not size-checked as a whole",
    ),
    A(
        "r2-starred-tuple-set-call",
        "exhaustion",
        "a = [*range(10000)]\n"
        "def f(*x):\n    return len(x)\n"
        'entity["r"] = [len((' + "*a, " * 50 + ")), f(" + "*a, " * 50 + ")]\n",
        "limit",
        limit="array_size",
        wall_limit=1.0,
        note="F04: starred tuple displays and call arguments",
    ),
    A(
        "r2-dict-display-unpack",
        "exhaustion",
        S("""
        d = {**dict.fromkeys(range(10000)), **dict.fromkeys(range(10000, 20000))}
        entity["r"] = len(d)
    """),
        "limit",
        limit="array_size",
        wall_limit=1.0,
        note="F04: {**d1, **d2} was not size-checked",
    ),
    A(
        "r2-set-dict-union-operators",
        "exhaustion",
        S("""
        a = {*range(0, 10000)}
        u = a | {*range(10000, 20000)}
        entity["r"] = len(u)
    """),
        "limit",
        limit="array_size",
        wall_limit=1.0,
        note="F04: | on sets was not size-checked",
    ),
    A(
        "r2-dict-view-union",
        "exhaustion",
        S("""
        d = {"a": 1}
        entity["r"] = len(d.keys() | range(300000))
    """),
        "limit",
        limit="array_size",
        wall_limit=1.0,
        note="F04: | on a dict view consumed any iterable without a bound",
    ),
    A(
        "r2-percent-nested-paren-key",
        "exhaustion",
        'entity["r"] = len("%(a(b)s)1500000000s" % {"a(b)s": "x"})\n',
        "limit",
        limit="string_size",
        wall_limit=1.0,
        note="F13: a key with parentheses hid the width from the pre-check",
    ),
    A(
        "r2-findall-lookahead-quadratic",
        "exhaustion",
        S("""
        s = "\\U0001F600" * 4000
        a = re.findall(r"(?=(.*))", s)
        if len(a) > 1:
            entity["pwned"] = len(a)
    """),
        "limit",
        limit="string_size",
        wall_limit=1.0,
        note="F09: one call returned 8 M characters (32 MB); 60 of them 1.9 GB",
    ),
    A(
        "r2-findall-nested-groups",
        "exhaustion",
        S("""
        s = "\\U0001F600" * 600
        p = "(?=" + "(" * 90 + ".*" + ")" * 90 + ")"
        a = re.findall(p, s)
        if len(a) > 1:
            entity["pwned"] = len(a)
    """),
        "limit",
        limit="string_size",
        wall_limit=1.0,
        note="F09: 90 nested groups copy the rest of the text 90 times per match",
    ),
    A(
        "r2-split-nested-groups",
        "exhaustion",
        S("""
        s = "\\U0001F600" * 100
        p = "(?=" + "(" * 90 + ".*" + ")" * 90 + ")"
        a = re.split(p, s)
        if len(a) > 1:
            entity["pwned"] = len(a)
    """),
        "limit",
        limit="string_size",
        wall_limit=1.0,
        note="F09: split returns the groups of every match too",
    ),
    A(
        "r2-bin-of-huge-int",
        "exhaustion",
        'x = int("f" * 65536, 16)\nentity["r"] = len(f"{x:b}") + len(bin(x))\n',
        "limit",
        limit="int_size",
        wall_limit=1.0,
        note="F15: bin() / format(x, 'b') of a 262 000-bit integer",
    ),
    A(
        "r2-sum-of-tuples",
        "exhaustion",
        S("""
        l = [(0,)] * 10000
        for i in range(4):
            entity["r"] = len(sum(l, ()))
    """),
        "bounded",
        wall_limit=0.5,
        note="F16: sum(tuples, ()) was quadratic (0.9 s per call)",
    ),
    A(
        "r2-surrogate-in-entity",
        "output",
        'entity["x"] = {"k": chr(0xD800)}\n',
        "limit_or_error",
        limit="ValueError",
        wall_limit=1.0,
        note="F08: a lone surrogate is not UTF-8: the entity could not be stored",
    ),
    A(
        "r2-surrogate-in-emit",
        "output",
        'emit("evt" + chr(0xD800), {"k": 1})\n',
        "limit_or_error",
        limit="ValueError",
        wall_limit=1.0,
        note="F08: a lone surrogate in an event type",
    ),
    A(
        "r2-int64-in-emit",
        "output",
        'emit("evt", {"n": 2 ** 70})\n',
        "limit_or_error",
        limit="ValueError",
        wall_limit=1.0,
        note="F12: BSON / Kafka consumers cannot carry integers beyond 64 bits",
    ),
]


EXHAUSTION: list[Attack] = CPU + RECURSION + MEMORY + OUTPUT + ROUND2
