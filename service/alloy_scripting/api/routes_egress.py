"""The tenant's egress allow-list: which hosts its scripts' HTTP calls may reach.

``GET /egress`` reads it, ``PUT /egress`` replaces it (``{"allow": [...]}``); the tenant is
the caller's (``X-Tenant-Id`` or the key's). Entries are checked and stored in canonical
form; a bad one is a 422 problem naming it by index. No entries: every call is refused.
"""

from __future__ import annotations

from fastapi import APIRouter

from alloy_scripting.api.deps import CtxDep
from alloy_scripting.api.problems import ProblemError
from alloy_scripting.api.schemas import EgressIn, EgressOut
from alloy_scripting.bridge.http.allowlist import AllowList, AllowListError

router = APIRouter(prefix="/egress", tags=["egress"])


@router.get("", summary="The tenant's egress allow-list")
async def get_egress(ctx: CtxDep) -> EgressOut:
    return EgressOut.of(await ctx.runtime.stores.egress.get(ctx.tenant_id))


@router.put("", summary="Replace the tenant's egress allow-list")
async def put_egress(body: EgressIn, ctx: CtxDep) -> EgressOut:
    """Entries are stored canonical: names lower-case and IDNA-encoded, addresses in
    canonical form whatever their spelling, duplicates dropped."""
    try:
        allow = AllowList.parse(body.allow)
    except AllowListError as exc:
        raise ProblemError(
            "validation",
            str(exc),
            errors=[
                {"loc": ["body", "allow", index], "msg": message, "type": "value_error"}
                for index, message in exc.errors[:50]
            ],
        ) from None
    rules = await ctx.runtime.stores.egress.put(
        ctx.tenant_id, allow.as_strings(), updated_by=ctx.caller.actor
    )
    return EgressOut.of(rules)
