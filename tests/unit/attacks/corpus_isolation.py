"""State isolation between runs on the same engine.

Each case runs `setup` (any outcome) and then `probe` on the *same* engine.  The probe
sets ``entity["pwned"]`` if it can observe anything the setup run left behind.
"""

from __future__ import annotations

from .corpus import IsolationCase, S

I = IsolationCase  # noqa: E741

ISOLATION: list[IsolationCase] = [
    I(
        "iso-json-attribute",
        "json.leak = 1\n",
        S("""
        # an attribute written on the shared json object
        try:
            v = json.leak
        except Exception:
            v = None
        if v == 1:
            entity["pwned"] = "json.leak persisted"
    """),
    ),
    I(
        "iso-json-dumps-overwrite",
        'json.dumps = lambda *a, **k: "poisoned"\n',
        S("""
        # json.dumps replaced by the previous run
        if json.dumps(1) == "poisoned":
            entity["pwned"] = "json.dumps poisoned"
    """),
    ),
    I(
        "iso-math-pi",
        "math.pi = 3\nmath.floor = lambda x: 42\n",
        S("""
        # math constants / functions overwritten
        if math.pi == 3 or math.floor(1.5) == 42:
            entity["pwned"] = "math poisoned"
    """),
    ),
    I(
        "iso-re-match",
        're.match = lambda *a, **k: "poisoned"\n',
        S("""
        # re.match overwritten
        if re.match("a", "a") == "poisoned":
            entity["pwned"] = "re poisoned"
    """),
    ),
    I(
        "iso-helper-attribute",
        "log.leak = 1\nabort.leak = 2\n",
        S("""
        # attributes on helper functions
        got = []
        try:
            got.append(log.leak)
        except Exception:
            pass
        try:
            got.append(abort.leak)
        except Exception:
            pass
        if 1 in got or 2 in got:
            entity["pwned"] = got
    """),
    ),
    I(
        "iso-proxy-method",
        'entity.get = lambda *a: "poisoned"\n',
        S("""
        # EntityProxy methods overwritten (class-level state)
        if entity.get("name") == "poisoned":
            entity["pwned"] = "proxy poisoned"
    """),
    ),
    I(
        "iso-global-variable",
        "leaked_global = 42\n",
        S("""
        # a global from the previous run
        try:
            v = leaked_global
        except Exception:
            v = None
        if v == 42:
            entity["pwned"] = "global persisted"
    """),
        note="a validation error (undefined name) is a safe outcome",
    ),
    I(
        "iso-builtin-shadow",
        "len = lambda x: 42\nsorted = None\n",
        S("""
        # builtins shadowed by the previous run
        if len([1]) == 42 or sorted is None:
            entity["pwned"] = "builtins poisoned"
    """),
    ),
    I(
        "iso-del-abort",
        "del abort\ndel log\n",
        'log("still here")\nabort("stop")\n',
        probe_status="aborted",
    ),
    I(
        "iso-global-rebind-abort",
        S("""
        def f():
            global abort
            abort = lambda r: None
        f()
    """),
        'abort("stop")\n',
        probe_status="aborted",
    ),
    I(
        "iso-default-params",
        'params["leak"] = 1\n',
        S("""
        # engine-default params dict shared between runs
        if "leak" in params:
            entity["pwned"] = "default params shared"
    """),
        use_defaults=True,
    ),
    I(
        "iso-default-entity",
        'entity["leak"] = 1\n',
        S("""
        # engine-default entity shared between runs
        if "leak" in entity:
            entity["pwned"] = "default entity shared"
    """),
        use_defaults=True,
    ),
    I(
        "iso-logs-emits",
        S("""
        log("RUN1MARK")
        warn("RUN1MARK")
        emit("evt", {"m": "RUN1MARK"})
        entity["m"] = "RUN1MARK"
    """),
        'entity["x"] = 1\n',
        marker="RUN1MARK",
    ),
    I(
        "iso-ops-counter-reset",
        "while True:\n    pass\n",
        S("""
        # the operation counter must restart: 40000 iterations are within the budget
        t = 0
        for i in range(40000):
            t += 1
        entity["t"] = t
    """),
        probe_status="success",
    ),
    I(
        "iso-depth-counter-reset",
        "def f():\n    f()\nf()\n",
        S("""
        # the call depth must restart after a depth breach
        def g(n):
            if n == 0:
                return 0
            return g(n - 1) + 1
        entity["d"] = g(10)
    """),
        probe_status="success",
    ),
    I("iso-after-abort", 'abort("stop")\n', 'entity["ok"] = 1\n', probe_status="success"),
    I(
        "iso-after-memory-bomb",
        'x = "a" * 10 ** 9\n',
        'entity["ok"] = len("a" * 1000)\n',
        probe_status="success",
    ),
]
