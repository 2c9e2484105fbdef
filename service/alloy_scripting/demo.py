"""`alloy-scripting demo`: the seed's scenario against a running service (`make run`)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from alloy_scripting.client.kafka import HookClient
from alloy_scripting.model.outcomes import Continue, Error, Rejected

SCRIPT_NAME = "validate_deal"
SOURCE = """\
if entity["amount"] < 100:
    abort("Minimum deal amount is 100")
if entity["amount"] > 100000:
    entity["status"] = "needs_approval"
"""


def _headers(api_key: str | None, tenant: str | None) -> dict[str, str]:
    headers = {}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    if tenant:
        headers["X-Tenant-Id"] = tenant
    return headers


async def ensure_script(url: str, api_key: str | None, tenant: str | None) -> dict[str, Any]:
    """Create (or reuse) the seed's script through the REST API, active."""
    async with httpx.AsyncClient(
        base_url=url, headers=_headers(api_key, tenant), timeout=10
    ) as http:
        body = {
            "name": SCRIPT_NAME,
            "source": SOURCE,
            "trigger": {"type": "event", "entity_type": "deal", "event": "before_create"},
            "description": "The seed's example: minimum amount, approval above 100000.",
            "status": "active",
        }
        response = await http.post("/scripts", json=body)
        if response.status_code == 409:  # already there from an earlier demo: reuse it
            response = await http.get(f"/scripts/name/{SCRIPT_NAME}")
            response.raise_for_status()
            script = response.json()
            if script["status"] != "active":
                response = await http.post(f"/scripts/{script['id']}/activate")
                response.raise_for_status()
                script = response.json()
            return dict(script)
        response.raise_for_status()
        script = response.json()
        if script.get("status") != "active":
            response = await http.post(f"/scripts/{script['id']}/activate")
            response.raise_for_status()
            script = response.json()
        return dict(script)


def describe(outcome: Continue | Rejected | Error) -> str:
    if isinstance(outcome, Continue):
        return f"continue: {json.dumps(outcome.changes)}"
    if isinstance(outcome, Rejected):
        return f"rejected: {outcome.reason}"
    return f"error: {outcome.error}"


async def run_demo(
    *,
    url: str,
    bootstrap: str,
    topic_prefix: str = "",
    api_key: str | None = None,
    tenant: str | None = None,
) -> list[str]:
    script = await ensure_script(url, api_key, tenant)
    # A tenant-bound API key puts the script in its tenant: the events must name it too.
    tenant = script.get("tenant_id") or tenant
    lines = []
    async with HookClient(bootstrap, topic_prefix=topic_prefix, timeout=30) as hooks:
        for entity_id, amount in (("deal-1", 50), ("deal-2", 500000)):
            outcome = await hooks.before(
                "deal", "before_create", entity_id, {"amount": amount}, tenant_id=tenant
            )
            lines.append(f"deal amount {amount}: {describe(outcome)}")
    return lines


def main(**kwargs: Any) -> list[str]:
    return asyncio.run(run_demo(**kwargs))
