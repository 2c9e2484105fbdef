"""``/state``: the caller's tenant's state documents, for authors and operators.

Read a collection page by page (by key), read one document, delete one. Tenancy and auth
are the script routes' (``X-Tenant-Id``, ``Authorization: Bearer``): another tenant's
documents are simply not found. Writes are the scripts' business (``store.*``).
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from alloy_scripting.api.deps import CtxDep
from alloy_scripting.api.problems import ProblemError
from alloy_scripting.api.routes_scripts import Limit, Offset
from alloy_scripting.model.state import (
    COLLECTION_PATTERN,
    MAX_KEY_LENGTH,
    InvalidStateRequest,
    StateItem,
)

router = APIRouter(prefix="/state", tags=["state"])

T = TypeVar("T")
Collection = Annotated[
    str, Path(pattern=COLLECTION_PATTERN, description="1-64 characters of a-z, 0-9 and _.")
]
Key = Annotated[str, Path(min_length=1, max_length=MAX_KEY_LENGTH, description="The key.")]


class StateItemOut(BaseModel):
    collection: str
    key: str
    doc: dict[str, Any]
    expires_at: datetime | None = Field(description="Null: never expires.")
    updated_at: datetime

    @classmethod
    def of(cls, item: StateItem) -> StateItemOut:
        return cls(
            collection=item.collection,
            key=item.key,
            doc=item.doc,
            expires_at=item.expires_at,
            updated_at=item.updated_at,
        )


class StateList(BaseModel):
    items: list[StateItemOut]
    total: int = Field(ge=0, description="Live documents in the collection.")
    offset: int = Field(ge=0)
    limit: int = Field(ge=0)


async def _checked(call: Awaitable[T]) -> T:
    try:
        return await call
    except InvalidStateRequest as exc:
        raise ProblemError("validation", str(exc)) from None


def _not_found(collection: str, key: str) -> ProblemError:
    return ProblemError(
        "not-found", f"no state document {key[:MAX_KEY_LENGTH]!r} in {collection!r}"
    )


@router.get("/{collection}", summary="List a state collection")
async def list_state(
    collection: Collection, ctx: CtxDep, offset: Offset = 0, limit: Limit = 50
) -> StateList:
    """Live documents of the caller's tenant, sorted by key, with their total."""
    page = await _checked(
        ctx.runtime.state.list_documents(ctx.tenant_id, collection, offset=offset, limit=limit)
    )
    return StateList(
        items=[StateItemOut.of(i) for i in page.items],
        total=page.total,
        offset=offset,
        limit=limit,
    )


@router.get("/{collection}/{key:path}", summary="Read a state document")
async def get_state(collection: Collection, key: Key, ctx: CtxDep) -> StateItemOut:
    item = await _checked(ctx.runtime.state.get(ctx.tenant_id, collection, key))
    if item is None:
        raise _not_found(collection, key)
    return StateItemOut.of(item)


@router.delete(
    "/{collection}/{key:path}",
    status_code=204,
    response_class=Response,
    summary="Delete a state document",
)
async def delete_state(collection: Collection, key: Key, ctx: CtxDep) -> Response:
    if not await _checked(ctx.runtime.state.delete(ctx.tenant_id, collection, key)):
        raise _not_found(collection, key)
    return Response(status_code=204)
