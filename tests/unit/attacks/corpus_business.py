"""Ordinary business scripts that must work (over-restriction is a bug too)."""

from __future__ import annotations

from .corpus import Attack, S

A = Attack

ORDER = {
    "id": "o-1",
    "amount": 250,
    "email": "bob@example.com",
    "status": "new",
    "tags": ["vip"],
    "lines": [
        {"sku": "A", "qty": 2, "price": 10.5},
        {"sku": "B", "qty": 1, "price": 99.0},
        {"sku": "C", "qty": 5, "price": 1.25},
    ],
}

BUSINESS: list[Attack] = [
    A(
        "ok-seed-needs-approval",
        "business",
        S("""
        # the seed's example script
        if entity["amount"] < 100:
            abort("Minimum deal amount is 100")
        if entity["amount"] > 100000:
            entity["status"] = "needs_approval"
    """),
        "ok",
        entity={"id": "d-1", "amount": 200000, "status": "new"},
        want={"status": "needs_approval"},
    ),
    A(
        "ok-seed-abort",
        "business",
        S("""
        # the seed's example script, aborting
        if entity["amount"] < 100:
            abort("Minimum deal amount is 100")
    """),
        "ok",
        entity={"id": "d-2", "amount": 50},
        want_status="aborted",
    ),
    A(
        "ok-loop-totals",
        "business",
        S("""
        # loop over a small list of dicts
        total = 0
        count = 0
        for line in entity["lines"]:
            total += line["qty"] * line["price"]
            count += 1
        entity["total"] = round(total, 2)
        entity["count"] = count
    """),
        "ok",
        entity=ORDER,
        want={"total": 126.25, "count": 3},
    ),
    A(
        "ok-fstring-format-specs",
        "business",
        S("""
        # f-strings with format specs on numbers
        amount = 1234567.891
        entity["a"] = f"{amount:,.2f}"
        entity["b"] = f"{0.256:.1%}"
        entity["c"] = f"{42:05d}"
        entity["d"] = f"{'x':>5}|{'y':<3}|"
        entity["e"] = f"{255:#x} {3.14159:.3f} {7!r}"
    """),
        "ok",
        want={
            "a": "1,234,567.89",
            "b": "25.6%",
            "c": "00042",
            "d": "    x|y  |",
            "e": "0xff 3.142 7",
        },
    ),
    A(
        "ok-comprehensions",
        "business",
        S("""
        # list / dict / set comprehensions and generator expressions
        lines = entity["lines"]
        entity["skus"] = [l["sku"] for l in lines if l["qty"] > 1]
        entity["by_sku"] = {l["sku"]: l["qty"] for l in lines}
        entity["n_unique"] = len({l["sku"] for l in lines})
        entity["qty"] = sum(l["qty"] for l in lines)
    """),
        "ok",
        entity=ORDER,
        want={"skus": ["A", "C"], "by_sku": {"A": 2, "B": 1, "C": 5}, "n_unique": 3, "qty": 8},
    ),
    A(
        "ok-helper-functions",
        "business",
        S("""
        # helper functions, default args, small recursion
        def fact(n):
            return 1 if n <= 1 else n * fact(n - 1)
        def discount(amount, rate=0.1):
            return amount * (1 - rate)
        entity["fact"] = fact(10)
        entity["disc"] = discount(200)
        entity["disc2"] = discount(200, rate=0.5)
    """),
        "ok",
        want={"fact": 3628800, "disc": 180.0, "disc2": 100.0},
    ),
    A(
        "ok-try-except-valueerror",
        "business",
        S("""
        # try/except ValueError
        try:
            n = int("abc")
        except ValueError:
            n = -1
        try:
            x = {"a": 1}["b"]
        except KeyError as e:
            x = "missing"
        entity["n"] = n
        entity["x"] = x
    """),
        "ok",
        want={"n": -1, "x": "missing"},
    ),
    A(
        "ok-sorted-min-max-sum",
        "business",
        S("""
        # sorted with key, min/max/sum, reversed order
        lines = entity["lines"]
        entity["order"] = [l["sku"] for l in sorted(lines, key=lambda l: l["price"], reverse=True)]
        entity["cheapest"] = min(lines, key=lambda l: l["price"])["sku"]
        entity["max_qty"] = max(l["qty"] for l in lines)
        entity["sum"] = sum([1, 2, 3])
        entity["sorted"] = sorted([3, 1, 2])
    """),
        "ok",
        entity=ORDER,
        want={
            "order": ["B", "A", "C"],
            "cheapest": "C",
            "max_qty": 5,
            "sum": 6,
            "sorted": [1, 2, 3],
        },
    ),
    A(
        "ok-decimal",
        "business",
        S("""
        # Decimal money arithmetic
        price = Decimal("19.99")
        total = (price * 3).quantize(Decimal("0.01"))
        entity["total"] = str(total)
        entity["gt"] = total > Decimal("50")
    """),
        "ok",
        want={"total": "59.97", "gt": True},
    ),
    A(
        "ok-datetime",
        "business",
        S("""
        # datetime arithmetic
        d = date(2024, 1, 31) + timedelta(days=1)
        entity["d"] = d.isoformat()
        t = datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc) + timedelta(hours=36)
        entity["t"] = t.isoformat()
        entity["weekday"] = d.weekday()
        entity["recent"] = (ctx.now - timedelta(days=1)) < ctx.now
    """),
        "ok",
        want={"d": "2024-02-01", "t": "2024-01-03T00:00:00+00:00", "weekday": 3, "recent": True},
    ),
    A(
        "ok-json-roundtrip",
        "business",
        S("""
        # json round trip
        s = json.dumps({"a": [1, 2], "b": "x"}, sort_keys=True)
        entity["s"] = s
        entity["back"] = json.loads(s)["a"]
    """),
        "ok",
        want={"s": '{"a": [1, 2], "b": "x"}', "back": [1, 2]},
    ),
    A(
        "ok-regex-groups",
        "business",
        S("""
        # re.match with groups, re.sub, re.findall
        m = re.match(r"(\\w+)@(\\w+)\\.com", entity["email"])
        entity["user"] = m.group(1)
        entity["domain"] = m.group(2)
        entity["digits"] = re.findall(r"\\d", "a1b22")
        entity["clean"] = re.sub(r"\\s+", " ", "a   b \\t c")
    """),
        "ok",
        entity=ORDER,
        want={"user": "bob", "domain": "example", "digits": ["1", "2", "2"], "clean": "a b c"},
    ),
    A(
        "ok-string-methods",
        "business",
        S("""
        # everyday str methods and % formatting
        name = "  Acme Corp  "
        entity["n"] = name.strip().upper()
        entity["parts"] = "a,b,c".split(",")
        entity["joined"] = "-".join(["x", "y"])
        entity["rep"] = "aXbX".replace("X", "_")
        entity["pct"] = "%s has %d items (%.1f)" % ("cart", 3, 2.5)
        entity["starts"] = "INV-001".startswith("INV")
    """),
        "ok",
        want={
            "n": "ACME CORP",
            "parts": ["a", "b", "c"],
            "joined": "x-y",
            "rep": "a_b_",
            "pct": "cart has 3 items (2.5)",
            "starts": True,
        },
    ),
    A(
        "ok-entity-api",
        "business",
        S("""
        # EntityProxy API: get with default, in, keys/items/values, del, nested append
        entity["has_tags"] = "tags" in entity
        entity["missing"] = entity.get("nope", "dflt")
        entity["n_keys"] = len(list(entity.keys()))
        entity["n_items"] = len([k for k, v in entity.items()])
        entity["tags"].append("checked")
        del entity["email"]
    """),
        "ok",
        entity=ORDER,
        want={
            "has_tags": True,
            "missing": "dflt",
            "n_keys": 8,
            "n_items": 9,
            "tags": ["vip", "checked"],
        },
    ),
    A(
        "ok-control-flow",
        "business",
        S("""
        # tuple unpacking, enumerate, zip, while/break, isinstance, abs, round
        a, b = 1, 2
        pairs = []
        for i, (x, y) in enumerate(zip(["p", "q"], [10, 20])):
            pairs.append(x + str(i) + ":" + str(y))
        n = 0
        while True:
            n += 1
            if n >= 5:
                break
        entity["r"] = [a + b, pairs, n, isinstance(n, int), abs(-3), round(2.675, 1)]
    """),
        "ok",
        want={"r": [3, ["p0:10", "q1:20"], 5, True, 3, 2.7]},
    ),
    A(
        "ok-emit-log-manual",
        "business",
        S("""
        # emit and logging in a manual run
        log("starting")
        warn("careful")
        emit("order.checked", {"id": entity["id"], "amount": entity["amount"]})
        entity["done"] = True
    """),
        "ok",
        entity=ORDER,
        want={"done": True},
    ),
    A(
        "ok-validators-before",
        "business",
        S("""
        # validation helpers in the before phase
        ok = [
            validate_required(entity["email"]),
            validate_length(entity["status"], 1, 20),
            validate_range(entity["amount"], 0, 1000),
            validate_one_of(entity["status"], ["new", "done"]),
            validate_pattern(entity["id"], r"^o-\\d+$"),
            validate_email(entity["email"]),
        ]
        entity["ok"] = ok
    """),
        "ok",
        phase="before",
        entity=ORDER,
        want={"ok": [True, True, True, True, True, True]},
    ),
    A(
        "ok-math-uuid",
        "business",
        S("""
        # math and uuid4
        entity["sqrt"] = math.sqrt(16)
        entity["ceil"] = math.ceil(2.1)
        entity["uuid_len"] = len(str(uuid4()))
    """),
        "ok",
        want={"sqrt": 4.0, "ceil": 3, "uuid_len": 36},
    ),
    A(
        "ok-after-phase-before-image",
        "business",
        S("""
        # after-update hook comparing with entity_before
        if entity_before["amount"] != entity["amount"]:
            entity["changed_by"] = entity["amount"] - entity_before["amount"]
    """),
        "ok",
        phase="after",
        event="after_update",
        entity={"id": "d-3", "amount": 150},
        entity_before={"id": "d-3", "amount": 100},
        want={"changed_by": 50},
    ),
    A(
        "ok-str-format-plain",
        "business",
        S("""
        # str.format with plain positional / named fields (nice to have)
        entity["s"] = "{} has {n} items".format("cart", n=3)
    """),
        "ok",
        want={"s": "cart has 3 items"},
        note="optional: plain RestrictedPython refuses str.format",
    ),
]
