"""The context of one GraphQL request: the same `Ctx` (runtime, caller) as a REST request."""

from __future__ import annotations

from typing import TypeAlias

import strawberry
from strawberry.fastapi import BaseContext

from alloy_scripting.api.deps import Ctx


class GraphQLContext(BaseContext):
    def __init__(self, ctx: Ctx) -> None:
        super().__init__()
        self.ctx = ctx


Info: TypeAlias = strawberry.Info[GraphQLContext, None]


def ctx_of(info: Info) -> Ctx:
    return info.context.ctx
