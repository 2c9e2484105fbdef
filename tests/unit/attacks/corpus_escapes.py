"""Escape attacks: RestrictedPython advisories and classic Python jail escapes.

Every script tries to reach something a business script must never hold (a frame, a
code object, a real module, `os`/`sys`/`builtins`, an internal engine object, a write on
read-only state) and, on success, leaves evidence: ``entity["pwned"] = ...``, a file in
``params["tmpdir"]`` or the env secret ``ALLOY_ATTACK_SECRET`` in the result.
A compile-time refusal (status ``error``) is a perfectly safe outcome.
"""

from __future__ import annotations

from .corpus import Attack, S

A = Attack


def _finally_chain(inner: str, funcs: int = 5, depth: int = 17) -> str:
    """Nested try/finally blocks, each raising a fresh ValueError while an abort / limit
    propagates: the exception context chain grows to funcs * depth links (CPython allows at
    most 20 statically nested blocks per function, so the chain is spread over calls)."""
    ind = "    "
    lines = ["# abort buried under a >64-link __context__ chain, then caught as ValueError"]
    for k in range(funcs):
        lines.append(f"def g{k}():")
        for i in range(depth):
            lines.append(ind * (i + 1) + "try:")
        lines.append(ind * (depth + 1) + (inner if k == 0 else f"g{k - 1}()"))
        for i in reversed(range(depth)):
            lines.append(ind * (i + 1) + "finally:")
            lines.append(ind * (i + 2) + f'int("x{k}_{i}")')
    lines += [
        "try:",
        f"    g{funcs - 1}()",
        "except ValueError as e:",
        "    pass",
        'entity["pwned"] = "swallowed via a long exception context chain"',
    ]
    return "\n".join(lines) + "\n"


BEFORE = {
    "id": "e-1",
    "amount": 100,
    "name": "Old",
    "status": "new",
    "tags": ["a"],
    "nested": {"k": [1]},
}

ADVISORIES: list[Attack] = [
    # --- CVE-2023-37271 (GHSA-wqc8-x2pr-7jqh): generator / coroutine frame access ---
    A(
        "adv-gen-gi_frame-globals",
        "advisory",
        S("""
        # generator frame -> f_globals (CVE-2023-37271)
        def g():
            yield 1
        it = g()
        entity["pwned"] = str(it.gi_frame.f_globals)[:300]
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "adv-genexp-gi_frame-f_back",
        "advisory",
        S("""
        # generator expression frame -> its builtins (f_back of a suspended frame is None)
        it = (x for x in [1, 2])
        entity["pwned"] = str(it.gi_frame.f_builtins)[:300]
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "adv-gen-gi_code",
        "advisory",
        S("""
        # generator code object
        def g():
            yield 1
        entity["pwned"] = str(g().gi_code.co_code)
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "adv-gen-gi_yieldfrom",
        "advisory",
        S("""
        # gi_yieldfrom exposes the inner generator / iterator
        def inner():
            yield 1
        def outer():
            yield from inner()
        o = outer()
        for v in o:
            entity["pwned"] = str(o.gi_yieldfrom)
            break
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "adv-coroutine-cr_frame",
        "advisory",
        S("""
        # coroutine frame (async def)
        async def c():
            return 1
        entity["pwned"] = str(c().cr_frame.f_globals)[:300]
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "adv-asyncgen-ag_frame",
        "advisory",
        S("""
        # async generator frame (added to INSPECT_ATTRIBUTES in RestrictedPython 8.5)
        async def a():
            yield 1
        entity["pwned"] = str(a().ag_frame)
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "adv-traceback-tb_frame",
        "advisory",
        S("""
        # exception traceback -> frame -> globals
        try:
            1 / 0
        except Exception as e:
            entity["pwned"] = str(e.__traceback__.tb_frame.f_globals)[:300]
    """),
        "safe",
        blocked="validation",
    ),
    # --- CVE-2023-41039 (GHSA-xjw2-6jm9-rf67): str.format attribute traversal ---
    A(
        "adv-format-class-subclasses",
        "advisory",
        S("""
        # str.format walks attributes in C, bypassing _getattr_ (CVE-2023-41039)
        entity["pwned"] = "{0.__class__.__base__.__subclasses__}".format(1)
    """),
        "safe",
        blocked="ValueError: attribute access in format fields is not allowed in scripts",
    ),
    A(
        "adv-format-unbound-str-format",
        "advisory",
        S("""
        # unbound str.format on the type, not an instance
        entity["pwned"] = str.format("{0.__class__.__mro__}", 1)
    """),
        "safe",
        blocked="ValueError: attribute access in format fields is not allowed in scripts",
    ),
    A(
        "adv-format_map",
        "advisory",
        S("""
        # format_map with a mapping
        entity["pwned"] = "{a.__class__.__mro__}".format_map({"a": 1})
    """),
        "safe",
        blocked="ValueError: attribute access in format fields is not allowed in scripts",
    ),
    A(
        "adv-format-helper-globals",
        "advisory",
        S("""
        # format reaching a helper's __globals__ (host module namespace)
        entity["pwned"] = "{0.__globals__}".format(abort)[:300]
    """),
        "safe",
        blocked="ValueError: attribute access in format fields is not allowed in scripts",
    ),
    A(
        "adv-format-generator-frame",
        "advisory",
        S("""
        # format traversal to a generator frame (combines both 2023 advisories)
        def g():
            yield 1
        entity["pwned"] = "{0.gi_frame.f_globals}".format(g())[:300]
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "adv-format-bound-method-alias",
        "advisory",
        S("""
        # keep the bound format method in a variable and call it later
        f = "{0.__class__.__mro__}".format
        entity["pwned"] = f(1)
    """),
        "safe",
        blocked="ValueError: attribute access in format fields is not allowed in scripts",
    ),
    A(
        "adv-format-via-map",
        "advisory",
        S("""
        # call str.format through map() so no attribute access is written on an instance
        entity["pwned"] = list(map(str.format, ["{0.__class__.__mro__}"], [1]))[0]
    """),
        "safe",
        blocked="ValueError: attribute access in format fields is not allowed in scripts",
    ),
    A(
        "adv-format-traceback",
        "advisory",
        S("""
        # format traversal through an exception's traceback
        try:
            1 / 0
        except Exception as e:
            entity["pwned"] = "{0.__traceback__.tb_frame.f_globals}".format(e)[:300]
    """),
        "safe",
        blocked="ValueError: attribute access in format fields is not allowed in scripts",
    ),
    A(
        "adv-format-in-helper-log",
        "advisory",
        S("""
        # engine-side formatting: does log()/warn() format its arguments with str.format?
        log("{0.__class__.__mro__}", 1)
        warn("{0.__globals__}", abort)
        error("%s", abort)
    """),
        "safe",
        evidence="leak",
        blocked="success",
        note="leak markers in logs are the evidence",
    ),
    # --- CVE-2024-47532 (GHSA-5rfv-66g4-jr8h): AttributeError.obj / string module ---
    A(
        "adv-attributeerror-obj",
        "advisory",
        S("""
        # AttributeError.obj may hand out the real object behind a wrapper (CVE-2024-47532)
        leaks = []
        for t in [entity, ctx, params, json, math, re, abort, log]:
            try:
                t.zz_no_such_attribute
            except Exception as e:
                try:
                    o = e.obj
                except Exception:
                    o = None
                if o is not None:
                    leaks.append(str(o)[:200])
        entity["leak"] = leaks
    """),
        "safe",
        blocked="success",
        evidence="leak",
        note="the object behind e.obj, rendered: a host repr is the evidence",
    ),
    A(
        "adv-attributeerror-obj-format",
        "advisory",
        S("""
        # AttributeError.obj combined with format traversal
        try:
            json.zz_no_such_attribute
        except Exception as e:
            entity["pwned"] = "{0.obj.__dict__}".format(e)[:300]
    """),
        "safe",
        blocked="ValueError: attribute access in format fields is not allowed in scripts",
    ),
    # --- CVE-2024-47532 / CVE-2026-76825 (GHSA-hp3v-5vw7-fx9w): string.Formatter ---
    A(
        "adv-string-formatter",
        "advisory",
        S("""
        # string.Formatter.get_field traverses attributes without guards (CVE-2026-76825)
        import string
        entity["pwned"] = str(string.Formatter().get_field("0.__class__.__mro__", [1], {}))
    """),
        "safe",
        blocked="validation",
    ),
    # --- CVE-2025-22153 (GHSA-gmj9-h825-chq2 / PYSEC-2026-1874): try/except* ---
    A(
        "adv-try-except-star",
        "advisory",
        S("""
        # try/except* type confusion in CPython (CVE-2025-22153)
        try:
            raise ValueError("x")
        except* ValueError as eg:
            entity["pwned"] = str(eg.exceptions)
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "adv-exceptiongroup-builtin",
        "advisory",
        S("""
        # ExceptionGroup was removed from safe builtins together with except*
        eg = ExceptionGroup("x", [ValueError(1)])
        entity["pwned"] = str(eg.split(ValueError))
    """),
        "safe",
        blocked="validation",
    ),
    # --- CVE-2026-55830 (GHSA-ffg3-p8fm-mjx2): guard hooks shadowed by positional-only args ---
    A(
        "adv-posonly-shadow-write",
        "advisory",
        S("""
        # shadow _write_ with a positional-only parameter, then poison a shared module
        def f(_write_=lambda o: o, /):
            json.dumps = lambda *a, **k: "poisoned"
        f()
        if json.dumps(1) == "poisoned":
            entity["pwned"] = "write guard bypassed"
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "adv-posonly-shadow-getitem-lambda",
        "advisory",
        S("""
        # shadow _getitem_ in a lambda's positional-only parameter
        g = lambda _getitem_=lambda o, k: "pwned-getitem", /: params["nested"]
        entity["pwned"] = g()
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "adv-posonly-shadow-inplacevar",
        "advisory",
        S("""
        # shadow _inplacevar_ (augmented assignment guard)
        def f(_inplacevar_=lambda op, x, y: "pwned-inplace", /):
            x = 1
            x += 1
            return x
        entity["pwned"] = f()
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "adv-posonly-shadow-getattr",
        "advisory",
        S("""
        # shadow _getattr_ so that attribute reads stop being checked
        def f(_getattr_=lambda o, n: "pwned-getattr", /):
            return entity.get("name")
        entity["pwned"] = f()
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "adv-kwonly-shadow-getiter",
        "advisory",
        S("""
        # keyword-only / *args / **kwargs variants of the same shadowing
        def f(*_getiter_, **_write_):
            return 1
        def h(*, _getiter_=None):
            return 2
        entity["pwned"] = f() + h()
    """),
        "safe",
        blocked="validation",
    ),
]

CLASSIC: list[Attack] = [
    A(
        "cls-subclasses-tuple",
        "classic",
        S("""
        # ().__class__.__bases__[0].__subclasses__()
        entity["pwned"] = str(().__class__.__bases__[0].__subclasses__())[:300]
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-mro-method-object",
        "classic",
        S("""
        # type.mro() has no underscore: reaches `object` without any dunder
        entity["pwned"] = str(int.mro())
    """),
        "safe",
        blocked="AttributeError: 'function' object has no attribute 'mro' available to",
        note="reaching `object` is low severity on its own",
    ),
    A(
        "cls-exception-mro",
        "classic",
        S("""
        # exception classes: ValueError.mro() -> BaseException, object
        entity["pwned"] = str(ValueError.mro())
    """),
        "safe",
        blocked="AttributeError: 'type' object has no attribute 'mro' available to scripts",
    ),
    A(
        "cls-exception-subclasses",
        "classic",
        S("""
        # ValueError.__subclasses__() and Exception.__subclasses__()
        entity["pwned"] = str(Exception.__subclasses__())[:300]
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-helper-globals",
        "classic",
        S("""
        # helper function globals -> host module
        entity["pwned"] = str(abort.__globals__)[:300]
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-uuid4-globals-os",
        "classic",
        S("""
        # uuid4.__globals__["os"]
        entity["pwned"] = str(uuid4.__globals__["os"])
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-json-loads-globals",
        "classic",
        S("""
        # json.loads.__globals__
        entity["pwned"] = str(json.loads.__globals__)[:300]
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-builtin-method-self",
        "classic",
        S("""
        # builtin method __self__ -> module / class
        entity["pwned"] = str(math.floor.__self__)
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-closure-code-func-self",
        "classic",
        S("""
        # __closure__, __code__, __func__, __self__ on helpers
        entity["pwned"] = str([log.__closure__, emit.__code__, entity.get.__self__])
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-proxy-dict-private",
        "classic",
        S("""
        # EntityProxy internals: __dict__ / _data
        entity["pwned"] = str(entity.__dict__) + str(entity._data)
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-reduce-ex",
        "classic",
        S("""
        # __reduce_ex__ hands out constructor callables
        entity["pwned"] = str(entity.__reduce_ex__(2))
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-getattribute",
        "classic",
        S("""
        # __getattribute__ called explicitly
        entity["pwned"] = str(entity.__getattribute__("_data"))
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-class-getitem-init-subclass",
        "classic",
        S("""
        # __class_getitem__ / __init_subclass__
        entity["pwned"] = str(list.__class_getitem__(int)) + str(dict.__init_subclass__)
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-generic-alias-mro",
        "classic",
        S("""
        # list[int] is a GenericAlias that forwards plain attribute reads to list
        entity["pwned"] = str(list[int].mro())
    """),
        "safe",
        blocked="TypeError: 'method' object is not subscriptable",
        note="the sandbox's `list` is a function, not a class: no GenericAlias can be built",
    ),
    A(
        "cls-type-three-args",
        "classic",
        S("""
        # type() three-argument form builds classes
        T = type("X", (), {"y": 1})
        entity["pwned"] = str(T)
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-metaclass",
        "classic",
        S("""
        # metaclass trick
        class M(type):
            pass
        class K(metaclass=M):
            pass
        entity["pwned"] = str(K)
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-class-definition",
        "classic",
        S("""
        # a plain class definition, then climb its MRO to object
        class K:
            def f(self):
                return 1
        entity["pwned"] = str(K.mro())
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-vars",
        "classic",
        S("""
        # vars()
        entity["pwned"] = str(vars(entity))
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-dir",
        "classic",
        S("""
        # dir()
        entity["pwned"] = str(dir(entity))
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-globals-builtins",
        "classic",
        S("""
        # globals()["__builtins__"]
        entity["pwned"] = str(globals()["__builtins__"])[:300]
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-locals",
        "classic",
        S("""
        # locals()
        entity["pwned"] = str(locals())[:300]
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-getattr-builtin",
        "classic",
        S("""
        # getattr() with a private name
        entity["pwned"] = str(getattr(entity, "_data", None))
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-setattr-ctx",
        "classic",
        S("""
        # setattr() on read-only ctx
        setattr(ctx, "phase", "hacked")
        if ctx.phase == "hacked":
            entity["pwned"] = "ctx written via setattr"
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-eval",
        "classic",
        S("""
        # eval
        entity["pwned"] = str(eval("__import__('os')"))
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-exec",
        "classic",
        S("""
        # exec
        exec("import os")
        entity["pwned"] = "exec ran"
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-compile",
        "classic",
        S("""
        # compile
        entity["pwned"] = str(compile("1", "x", "eval"))
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-dunder-import",
        "classic",
        S("""
        # __import__
        entity["pwned"] = str(__import__("os").getcwd())
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-import-os",
        "classic",
        S("""
        # import statement
        import os
        entity["pwned"] = os.environ.get("ALLOY_ATTACK_SECRET", "no secret")
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-from-import",
        "classic",
        S("""
        # from-import
        from os import system
        entity["pwned"] = str(system)
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-open-write-file",
        "classic",
        S("""
        # open() a file for writing in the tmp dir given via params
        f = open(params["tmpdir"] + "/pwned.txt", "w")
        f.write("pwned")
        f.close()
        entity["pwned"] = "file written"
    """),
        "safe",
        evidence="file",
        blocked="validation",
    ),
    A(
        "cls-help-breakpoint-input",
        "classic",
        S("""
        # interactive builtins (held, not called: they would wait on the worker's stdin)
        entity["pwned"] = str([help, breakpoint, input])
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-site-builtins",
        "classic",
        S("""
        # site-injected builtins (copyright/credits/license) reveal a real builtins namespace
        entity["pwned"] = str(copyright) + str(license)
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-json-module-codecs-sys",
        "classic",
        S("""
        # real json module: json.codecs.sys.modules["os"] without a single underscore
        os_ = json.codecs.sys.modules["os"]
        entity["pwned"] = os_.environ.get("ALLOY_ATTACK_SECRET", "no secret")
    """),
        "safe",
        blocked="AttributeError: 'JsonNamespace' object has no attribute 'codecs' available",
    ),
    A(
        "cls-json-decoder-re-enum-sys",
        "classic",
        S("""
        # json.decoder.re.enum.sys
        entity["pwned"] = str(json.decoder.re.enum.sys.modules["os"])
    """),
        "safe",
        blocked="AttributeError: 'JsonNamespace' object has no attribute 'decoder' available",
    ),
    A(
        "cls-re-module-enum-sys",
        "classic",
        S("""
        # stdlib re module: re.enum.sys / re.functools / re.copyreg
        entity["pwned"] = str(re.enum.sys.modules["os"].getcwd())
    """),
        "safe",
        blocked="AttributeError: 'ReNamespace' object has no attribute 'enum' available to",
    ),
    A(
        "cls-module-reprs",
        "classic",
        S("""
        # repr of the toolbox: a real module repr is an information leak
        entity["leak"] = [str(json), str(math), str(re)]
    """),
        "safe",
        evidence="leak",
        blocked="success",
    ),
    A(
        "cls-helper-reprs",
        "classic",
        S("""
        # repr of helpers / proxies can leak engine internals and addresses
        entity["leak"] = [str(abort), str(log), str(emit), str(entity), str(ctx), str(uuid4), str(sha256)]
    """),
        "safe",
        evidence="leak",
        blocked="success",
    ),
    A(
        "cls-ctx-attr-write",
        "classic",
        S("""
        # writing attributes of read-only ctx
        ctx.phase = "hacked"
        ctx.tenant_id = "other-tenant"
        if ctx.phase == "hacked" or ctx.tenant_id == "other-tenant":
            entity["pwned"] = "ctx attribute written"
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-ctx-item-write",
        "classic",
        S("""
        # writing items of read-only ctx
        ctx["phase"] = "hacked"
        if ctx["phase"] == "hacked":
            entity["pwned"] = "ctx item written"
    """),
        "safe",
        blocked="TypeError: 'ScriptContext' object does not support item assignment",
    ),
    A(
        "cls-entity-before-write",
        "classic",
        S("""
        # entity_before is read-only
        entity_before["amount"] = 0
        del entity_before["name"]
        entity["pwned"] = entity_before["amount"]
    """),
        "safe",
        blocked="TypeError: entity_before is read-only",
        phase="after",
        event="after_update",
        entity_before=BEFORE,
    ),
    A(
        "cls-entity-before-nested-mutation",
        "classic",
        S("""
        # nested mutation of entity_before must not reach the caller's data
        entity_before["tags"].append("pwned")
        entity_before["nested"]["k"].append(99)
    """),
        "safe",
        evidence="mutation",
        blocked="success",
        phase="after",
        event="after_update",
        entity_before=BEFORE,
        note="harness checks the caller's entity_before dict is not mutated",
    ),
    A(
        "cls-entity-nested-mutation-original",
        "classic",
        S("""
        # nested mutations are changes but must never mutate the caller's original dict
        entity["tags"].append("c")
        entity["nested"]["k"].append(3)
        del entity["name"]
    """),
        "safe",
        evidence="mutation",
        blocked="success",
    ),
    A(
        "cls-params-mutation",
        "classic",
        S("""
        # params belong to the caller: mutating them must not leak out
        params["tmpdir"] = "/"
        params["injected"] = True
    """),
        "safe",
        evidence="mutation",
        blocked="success",
        note="harness checks the caller's params dict is not mutated",
    ),
    A(
        "cls-fullwidth-eval",
        "classic",
        S("""
        # NFKC-normalised identifiers: fullwidth eval
        entity["pwned"] = str(ｅｖａｌ("1+1"))
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-fullwidth-dunder-import",
        "classic",
        S("""
        # fullwidth low line (U+FF3F) NFKC-normalises to "_": _＿import＿＿ == __import__
        entity["pwned"] = str(_＿import＿＿("os"))
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-fullwidth-dunder-attr",
        "classic",
        S("""
        # fullwidth dunder attribute
        entity["pwned"] = str((1)._＿class＿＿._＿mro＿＿)
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-dunder-builtins-name",
        "classic",
        S("""
        # magic module names
        entity["pwned"] = str(__builtins__) + str(__name__) + str(__loader__) + str(__spec__)
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-rebind-guards",
        "classic",
        S("""
        # reassigning the guard names
        _getattr_ = lambda o, n: o
        __builtins__ = {"__import__": 1}
        entity["pwned"] = "guards rebound"
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-walrus-guard-name",
        "classic",
        S("""
        # walrus binding of a guard name inside a comprehension
        xs = [(_getattr_ := 1) for x in [1]]
        entity["pwned"] = xs
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-map-getattr",
        "classic",
        S("""
        # map(getattr, ...)
        entity["pwned"] = str(list(map(getattr, [entity], ["_data"])))
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-nonlocal",
        "classic",
        S("""
        # nonlocal rebinding
        def outer():
            x = 1
            def inner():
                nonlocal x
                x = 2
            inner()
            return x
        entity["pwned"] = outer()
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-match-class-pattern",
        "classic",
        S("""
        # match class patterns read attributes in C: case str(__class__=c)
        match "x":
            case str(__class__=c):
                entity["pwned"] = str(c.mro())
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-match-traceback",
        "classic",
        S("""
        # match keyword patterns on an exception: __traceback__ without _getattr_
        try:
            1 / 0
        except Exception as e:
            match e:
                case Exception(__traceback__=tb):
                    entity["pwned"] = str(tb)
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-catch-abort-bare",
        "classic",
        S("""
        # abort() must not be catchable with a bare except
        try:
            abort("stop")
        except:
            pass
        entity["pwned"] = "abort swallowed (bare except)"
    """),
        "safe",
        blocked="aborted",
    ),
    A(
        "cls-catch-abort-exception",
        "classic",
        S("""
        # abort() must not be catchable with except Exception
        try:
            abort("stop")
        except Exception as e:
            entity["pwned"] = "abort swallowed: " + str(e)
    """),
        "safe",
        blocked="aborted",
    ),
    A(
        "cls-catch-abort-baseexception",
        "classic",
        S("""
        # abort() must not be catchable with except BaseException
        try:
            abort("stop")
        except BaseException as e:
            entity["pwned"] = "abort swallowed: " + str(e)
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-abort-in-finally-override",
        "classic",
        S("""
        # return from finally would swallow the abort signal
        def f():
            try:
                abort("stop")
            finally:
                return 1
        f()
        entity["pwned"] = "abort swallowed by finally-return"
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-abort-in-generator-close",
        "classic",
        S("""
        # abort raised inside a generator, swallowed by a loop break + bare except
        def g():
            try:
                yield 1
                abort("stop")
            except:
                yield 2
        out = list(g())
        entity["pwned"] = "abort swallowed in generator"
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-raise-systemexit",
        "classic",
        S("""
        # BaseException subclasses that an `except Exception` in the engine would miss
        raise SystemExit(3)
    """),
        "safe",
        evidence="escaped",
        blocked="validation",
    ),
    A(
        "cls-raise-keyboardinterrupt",
        "classic",
        S("""
        # KeyboardInterrupt from the script must not stop the worker
        raise KeyboardInterrupt()
    """),
        "safe",
        evidence="escaped",
        blocked="validation",
    ),
    A(
        "cls-raise-generatorexit",
        "classic",
        S("""
        # GeneratorExit / exit()
        exit(3)
        raise GeneratorExit()
    """),
        "safe",
        evidence="escaped",
        blocked="validation",
    ),
    A(
        "cls-exception-args-internal",
        "classic",
        S("""
        # exceptions raised by helpers must not carry internal objects in args
        out = []
        for thunk in [lambda: emit("e", lambda: 1), lambda: entity[[1]], lambda: json.loads("{"),
                      lambda: {}[abort], lambda: {}[json],
                      lambda: json.dumps(entity.get), lambda: re.compile("("), lambda: ctx.nope]:
            try:
                thunk()
            except Exception as e:
                out.append(str(e.args)[:300])
                out.append(str(e)[:300])
        entity["leak"] = out
    """),
        "safe",
        evidence="leak",
        blocked="success",
    ),
    A(
        "cls-rebind-entity",
        "classic",
        S("""
        # rebinding the global `entity` must not change what the engine reports
        entity = {"pwned": "rebound entity"}
    """),
        "safe",
        blocked="success",
    ),
    A(
        "cls-del-helpers",
        "classic",
        S("""
        # deleting globals the engine might read back after the run
        entity["x"] = 1
        del abort
        del log
        del ctx
        del entity
    """),
        "safe",
        evidence="escaped",
        blocked="success",
    ),
    A(
        "cls-http-ssrf",
        "classic",
        S("""
        # http helpers do no network I/O in-process (SSRF to metadata); in the worker tier
        # the service refuses the address (tests/integration/http_bridge/test_ssrf.py)
        entity["pwned"] = str(http_get("http://169.254.169.254/latest/meta-data/"))
    """),
        "safe",
        blocked="HelperNotConfiguredError: inline execution has no HTTP",
        # a pool without an HTTP bridge (the attack tests' pool) answers from the parent,
        # with the same error type
        pool_blocked="HelperNotConfiguredError: HTTP helpers are not configured",
    ),
    A(
        "cls-emit-in-before-phase",
        "classic",
        S("""
        # emit outside its phases
        emit("evt", {"a": 1})
        entity["pwned"] = "emit allowed in before"
    """),
        "safe",
        blocked="validation",
        phase="before",
    ),
    A(
        "cls-validate-in-after-phase",
        "classic",
        S("""
        # validation helper in the after phase (allowed only in before/manual/scheduled/api)
        validate_required("x")
        entity["pwned"] = "validate_* allowed in after"
    """),
        "safe",
        blocked="validation",
        phase="after",
        event="after_update",
    ),
    A(
        "cls-print-stdout",
        "classic",
        S("""
        # print() must not write to the worker's stdout (would corrupt CLI JSON)
        print("NOT-JSON-" + "x" * 10)
        entity["x"] = 1
    """),
        "safe",
        evidence="stdout",
        blocked="success",
    ),
    A(
        "cls-id-address",
        "classic",
        S("""
        # id() leaks heap addresses
        entity["pwned"] = hex(id(entity))
    """),
        "safe",
        blocked="validation",
        note="low severity; only flagged via markers if a repr shows up",
    ),
    A(
        "cls-function-into-changes",
        "classic",
        S("""
        # host objects must never come out as changes
        entity["f"] = lambda: 1
        entity["g"] = (x for x in [1])
        entity["m"] = json
        entity["h"] = abort
    """),
        "safe",
        evidence="non_json",
        blocked="TypeError: entity['f']: a value of type 'function' is not JSON data",
    ),
    A(
        "cls-proxy-into-changes",
        "classic",
        S("""
        # self-reference and ctx into changes
        entity["self"] = entity
        entity["c"] = ctx
        cyc = []
        cyc.append(cyc)
        entity["cyc"] = cyc
    """),
        "safe",
        evidence="non_json",
        blocked="ValueError: entity['self'] is nested too deeply",
    ),
    A(
        "cls-emit-non-json",
        "classic",
        S("""
        # emit payloads that are not JSON
        d = {}
        d["d"] = d
        emit("e1", lambda: 1)
        emit("e2", (x for x in [1]))
        emit("e3", entity)
        emit("e4", d)
    """),
        "safe",
        evidence="non_json",
        blocked="TypeError: emit() payload must be a dict",
    ),
    A(
        "cls-abort-non-str",
        "classic",
        S("""
        # abort with non-string reasons
        abort(lambda: 0)
    """),
        "safe",
        evidence="leak",
        blocked="aborted",
    ),
    A(
        "cls-keys-view-mapping",
        "classic",
        S("""
        # dict views expose .mapping: a live (read-only) view of the proxy's internal dict
        got = []
        for v in [entity.keys(), entity.items(), entity.values(), entity_before.keys()]:
            try:
                m = v.mapping
            except Exception:
                m = None
            if m is not None:
                got.append(str(m)[:200])
                try:
                    m["tags"].append("pwned")
                except Exception:
                    pass
        if got:
            entity["pwned"] = got
    """),
        "safe",
        blocked="success",
        phase="after",
        event="after_update",
        entity_before=BEFORE,
    ),
    A(
        "cls-non-json-values",
        "classic",
        S("""
        # values the result serialiser may choke on: tuple keys, sets, bytes, NaN, big ints
        entity[(1, 2)] = "tuple key"
        entity["k"] = {(1, 2): 3}
        entity["s"] = {1, 2}
        entity["b"] = b"bytes"
        entity["nan"] = float("nan")
        entity["inf"] = float("inf")
        entity["big"] = 10 ** 4400
        emit("evt", {"big": 10 ** 4400, "s": {1}})
    """),
        "safe",
        evidence="non_json",
        blocked="validation",
    ),
    A(
        "cls-setattr-dunder-on-class",
        "classic",
        S("""
        # install a dunder on a script class via setattr (no `def __str__` needed)
        class K:
            pass
        def s(self):
            return "pwned-str"
        setattr(K, "__str__", s)
        entity["pwned"] = str(K())
    """),
        "safe",
        blocked="validation",
    ),
    A(
        "cls-nan-into-result",
        "classic",
        S("""
        # NaN / Infinity are not JSON (RFC 8259): the result must stay strict JSON
        entity["nan"] = float("nan")
        entity["inf"] = float("inf")
        emit("evt", {"x": float("-inf")})
    """),
        "safe",
        evidence="non_json",
        blocked="ValueError: emit() payload: NaN and Infinity are not JSON numbers",
    ),
    A(
        "cls-abort-long-context-chain",
        "classic",
        _finally_chain('abort("stop")'),
        "safe",
        blocked="aborted",
    ),
    A(
        "cls-abort-stopiteration-in-finally",
        "classic",
        S("""
        # StopIteration raised in a finally: replaces the propagating abort, and map()'s
        # consumer takes it for the end of the iteration
        def cb(x):
            try:
                abort("stop")
            finally:
                next(enumerate([]))
            return x
        out = list(map(cb, [1]))
        entity["pwned"] = "abort swallowed via StopIteration: " + str(out)
    """),
        "safe",
        blocked="aborted",
    ),
    A(
        "cls-abort-stopiteration-for-loop",
        "classic",
        S("""
        # same, consumed by a plain for loop over filter()
        def cb(x):
            try:
                abort("stop")
            finally:
                next(zip())
            return True
        for v in filter(cb, [1, 2]):
            pass
        entity["pwned"] = "abort swallowed via StopIteration in filter"
    """),
        "safe",
        blocked="aborted",
    ),
    A(
        "cls-entity-before-nested-readonly",
        "classic",
        S("""
        # entity_before is read-only: not even through nested values (get / copy / values)
        entity_before.get("tags").append("p1")
        entity_before.copy()["tags"].append("p2")
        for v in entity_before.values():
            if isinstance(v, list):
                v.append("p3")
        if len(entity_before["tags"]) > 1:
            entity["pwned"] = "entity_before mutated: " + str(entity_before["tags"])
    """),
        "safe",
        blocked="success",
        phase="after",
        event="after_update",
        entity_before=BEFORE,
    ),
]

ESCAPES: list[Attack] = ADVISORIES + CLASSIC

# Cases taken out because they produce no evidence even without a sandbox (a blocked run
# of a dead attack proves nothing); id -> why.
REMOVED: dict[str, str] = {
    "cls-proxy-public-internals": (
        "probed `entity.original` / `entity.data`, which no implementation has: no evidence even without a sandbox; the private route to the original data is covered by cls-proxy-dict-private, cls-getattribute, cls-getattr-builtin, cls-map-getattr"
    ),
    "cls-ctx-internals": (
        "probed `ctx.engine` / `ctx.bridge` / `ctx.config`, which no implementation has: no evidence even without a sandbox"
    ),
    "cls-datetime-module-sys": (
        "the toolbox's `datetime` is the class, not the module: `datetime.sys` fails even without a sandbox; module routes to `sys` are cls-json-module-codecs-sys, cls-json-decoder-re-enum-sys, cls-re-module-enum-sys"
    ),
    "cls-lambda-default-guard": (
        "captures `_getattr_`, a name that exists only inside a RestrictedPython namespace: a NameError without the sandbox; guard-name binding is covered by cls-rebind-guards, cls-walrus-guard-name and the adv-posonly-* cases"
    ),
    "cls-raise-fake-limit": (
        "raising MemoryError('fake') is an ordinary error without the sandbox: impersonating a limit needs an engine that maps host exceptions to limits, so there is no evidence to show"
    ),
    "cls-raise-non-exception": (
        "`raise entity` / `except abort` are TypeErrors in plain Python as well: no evidence either way"
    ),
    "cls-abort-entity-reason": (
        "abort(entity) renders a plain dict without the sandbox too (no host repr, no evidence); cls-abort-non-str carries the same route with a value whose repr leaks"
    ),
}
