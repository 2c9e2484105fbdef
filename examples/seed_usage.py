"""The seed's usage example, in Python: create a validation script, run a before-hook.

Run it with `.venv/bin/python examples/seed_usage.py`; it needs no services.
"""

from __future__ import annotations

import asyncio

from alloy_scripting import (
    Continue,
    EntityProxy,
    Error,
    Event,
    EventType,
    InMemoryStorage,
    Rejected,
    Script,
    create_default_engine,
    create_orchestrator,
)

SOURCE = """
if entity["amount"] < 100:
    abort("Minimum deal amount is 100")
if entity["amount"] > 100000:
    entity["status"] = "needs_approval"
"""


async def main() -> list[str]:
    engine = create_default_engine()
    storage = InMemoryStorage()
    orchestrator = create_orchestrator(storage, engine=engine)

    # Create the validation script
    script = Script.new("validate_deal", SOURCE, Event("deal", EventType.BEFORE_CREATE))
    script.activate()
    await storage.save(script)

    # Execute the before hook
    printed: list[str] = []
    for amount in (50_000, 50, 500_000):
        entity = EntityProxy("1", "deal", {"amount": amount})
        match await orchestrator.run_before("deal", EventType.BEFORE_CREATE, entity, None):
            case Continue(changes=changes):
                printed.append(f"amount {amount}: continue with changes {changes}")
            case Rejected(reason=reason):
                printed.append(f"amount {amount}: rejected: {reason}")
            case Error(error=error):
                printed.append(f"amount {amount}: error: {error}")
    for line in printed:
        print(line)
    return printed


if __name__ == "__main__":
    asyncio.run(main())
