"""``/executions``: the tenant's execution log across scripts, filtered and paginated."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from alloy_scripting.api import operations, replay
from alloy_scripting.api.deps import CtxDep
from alloy_scripting.api.replay_schemas import ReplayIn, ReplayOut
from alloy_scripting.api.routes_scripts import Limit, Offset
from alloy_scripting.api.schemas import ENTITY_TYPE_FILTER_PATTERN
from alloy_scripting.model.enums import ExecutionPhase, ExecutionStatus
from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.model.page import ExecutionPage, ExecutionQuery
from alloy_scripting.model.script import MAX_ENTITY_TYPE_LENGTH

router = APIRouter(prefix="/executions", tags=["runs"])


@router.get("", summary="Query the execution log")
async def find_executions(
    ctx: CtxDep,
    offset: Offset = 0,
    limit: Limit = 50,
    script_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    status: ExecutionStatus | None = None,
    phase: ExecutionPhase | None = None,
    entity_type: Annotated[
        str | None,
        Query(min_length=1, max_length=MAX_ENTITY_TYPE_LENGTH, pattern=ENTITY_TYPE_FILTER_PATTERN),
    ] = None,
    entity_id: Annotated[str | None, Query(min_length=1, max_length=256)] = None,
    since: Annotated[AwareDatetime | None, Query(description="Started at or after.")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Started before.")] = None,
) -> ExecutionPage:
    """The caller's tenant's records (deleted scripts' included), newest first, with the
    total number of matches. Every filter combination is an index range read."""
    query = ExecutionQuery(
        script_id=script_id,
        status=status,
        phase=phase,
        entity_type=entity_type,
        entity_id=entity_id,
        since=since,
        until=until,
    )
    return await operations.find_executions(ctx, query, offset, limit)


@router.get("/{execution_id}", summary="Read one execution record")
async def get_execution(execution_id: str, ctx: CtxDep) -> ExecutionRecord:
    """Another tenant's record is a 404, as for scripts."""
    return await operations.get_execution(ctx, execution_id)


@router.post("/{execution_id}/replay", summary="Replay a recorded run as a debug run")
async def replay_execution(execution_id: str, body: ReplayIn, ctx: CtxDep) -> ReplayOut:
    """The record's input run again with no side effects (nothing emitted, no HTTP call,
    no state write, nothing logged) with the script's current version, a stored `version`
    or an unsaved `source`; returns the new result and its diff against the recorded run.
    409 `not-replayable` when the record keeps no input (too large, or older than inputs);
    404 for another tenant's record or an unknown version; 422 for an invalid source."""
    return await replay.replay_execution(ctx, execution_id, body)
