"""`python -m alloy_scripting.api.graphql.contract [DIR]`: write `DIR/schema.graphql` (the
GraphQL contract, checked in under `contracts/`); without DIR, print it."""

from __future__ import annotations

import sys
from pathlib import Path

from alloy_scripting.api.graphql.schema import schema_sdl

FILE_NAME = "schema.graphql"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        sys.stdout.write(schema_sdl())
        return
    target = Path(args[0]) / FILE_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(schema_sdl())


if __name__ == "__main__":
    main()
