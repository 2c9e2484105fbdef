"""State isolation between runs on the same engine.

Each case runs `setup` and then `probe` on the *same* engine. The setup must succeed
(it really plants its state); the probe sets ``entity["pwned"]`` (or shows the marker, or
ends with another status) if it can observe anything the setup run left behind. The
recovery cases at the end breach a limit in the setup instead (`setup_status`).
"""

from __future__ import annotations

from .corpus import Attack, IsolationCase, S

A = Attack
I = IsolationCase  # noqa: E741

# Writes on shared objects (modules, helpers, the proxy): the sandbox refuses them at
# validation, so they cannot plant state for a later run. As escapes, they show in one
# run that the write works without the sandbox and is refused with it.
SHARED_WRITES: list[Attack] = [
    A(
        "iso-json-attribute",
        "isolation",
        S("""
        # setup and probe in one run: the validator refuses the write, so no later run
        # could see it either
        json.leak = 1
        # an attribute written on the shared json object
        try:
            v = json.leak
        except Exception:
            v = None
        if v == 1:
            entity["pwned"] = "json.leak persisted"
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "iso-json-dumps-overwrite",
        "isolation",
        S("""
        # setup and probe in one run: the validator refuses the write, so no later run
        # could see it either
        json.dumps = lambda *a, **k: "poisoned"
        # json.dumps replaced by the previous run
        if json.dumps(1) == "poisoned":
            entity["pwned"] = "json.dumps poisoned"
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "iso-math-pi",
        "isolation",
        S("""
        # setup and probe in one run: the validator refuses the write, so no later run
        # could see it either
        math.pi = 3
        math.floor = lambda x: 42
        # math constants / functions overwritten
        if math.pi == 3 or math.floor(1.5) == 42:
            entity["pwned"] = "math poisoned"
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "iso-re-match",
        "isolation",
        S("""
        # setup and probe in one run: the validator refuses the write, so no later run
        # could see it either
        re.match = lambda *a, **k: "poisoned"
        # re.match overwritten
        if re.match("a", "a") == "poisoned":
            entity["pwned"] = "re poisoned"
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "iso-helper-attribute",
        "isolation",
        S("""
        # setup and probe in one run: the validator refuses the write, so no later run
        # could see it either
        log.leak = 1
        abort.leak = 2
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
        "safe",
        blocked="validation",
    ),
    A(
        "iso-proxy-method",
        "isolation",
        S("""
        # setup and probe in one run: the validator refuses the write, so no later run
        # could see it either
        entity.get = lambda *a: "poisoned"
        # EntityProxy methods overwritten (class-level state)
        if entity.get("name") == "poisoned":
            entity["pwned"] = "proxy poisoned"
    """),
        "safe",
        blocked="validation",
    ),
]

ISOLATION: list[IsolationCase] = [
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
        probe_status="error",
        probe_error="undefined name 'leaked_global'",
        note="the engine's known names must not grow with what earlier runs bound",
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
        "abort = lambda r: None\n",
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
        # the operation counter must restart: 10000 iterations (a fifth of the budget, and
        # a fifth of the deadline on a loaded machine) fail if more than 40000 are left over
        t = 0
        for i in range(10000):
            t += 1
        entity["t"] = t
    """),
        setup_status="limit_exceeded",
        setup_limit="operations",
        want={"t": 10000},
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
        setup_status="limit_exceeded",
        setup_limit="call_depth",
        want={"d": 10},
    ),
    I(
        "iso-after-abort",
        'abort("stop")\n',
        'entity["ok"] = 1\n',
        setup_status="aborted",
        want={"ok": 1},
    ),
    I(
        "iso-after-memory-bomb",
        'x = "a" * 10 ** 9\n',
        'entity["ok"] = len("a" * 1000)\n',
        setup_status="limit_exceeded",
        setup_limit="string_size",
        want={"ok": 1000},
    ),
]
